using System.Net;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad.Routing;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>What a lookup found: the peers that answered, nearest the target first (at most k), and how it went.</summary>
public sealed record KadLookupResult(IReadOnlyList<KadPeer> Closest, int Queried, int Failed, bool StoppedEarly);

/// <summary>
/// One iterative Kademlia lookup (the spec's peer routing): keep the candidates sorted by distance to the target, ask the
/// closest not yet asked, alpha at a time, and stop when the k closest that did not fail have all answered (or a caller's
/// condition holds). Bounded: a response contributes at most its k peers nearest the target, and the candidate list
/// keeps at most 8k, dropping the farthest not yet asked; so a peer that answers with 10,000 made-up peers changes
/// nothing but which ones are asked. Addresses a peer tells us of are kept only if they reach no narrower than the
/// peer's own (a public peer cannot point us at loopback or private addresses). Runs on one logical thread: the
/// requests run concurrently, their results are folded in one at a time.
/// </summary>
internal sealed class KadLookup
{
    private readonly KadDht _dht;
    private readonly KadKey _target;
    private readonly KadMessage _request;
    private readonly Func<KadPeer, KadMessage, bool>? _stopWhen;
    private readonly List<Candidate> _candidates = []; // sorted by distance, nearest first
    private readonly HashSet<PeerId> _known = [];
    private readonly int _maxCandidates;

    public KadLookup(KadDht dht, KadKey target, KadMessage request, Func<KadPeer, KadMessage, bool>? stopWhen)
    {
        _dht = dht;
        _target = target;
        _request = request;
        _stopWhen = stopWhen;
        _maxCandidates = dht.Options.K * 8;
    }

    public async Task<KadLookupResult> RunAsync(IEnumerable<KadPeer> seeds, CancellationToken cancellationToken)
    {
        foreach (var seed in seeds)
            Offer(seed, IpGroup.Scope.Loopback);
        int k = _dht.Options.K;
        using var lookup = new CancellationTokenSource(_dht.Options.QueryTimeout, _dht.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lookup.Token);
        var inflight = new Dictionary<Task<Answer>, Candidate>();
        int queried = 0, failed = 0;
        bool stopped = false;
        try
        {
            while (true)
            {
                while (inflight.Count < _dht.Options.Alpha && NextToAsk(k) is { } next)
                {
                    next.State = State.Asked;
                    queried++;
                    inflight[AskAsync(next.Peer, linked.Token)] = next;
                }
                if (inflight.Count == 0)
                    break;
                var done = await Task.WhenAny(inflight.Keys).ConfigureAwait(false);
                var candidate = inflight[done];
                inflight.Remove(done);
                var answer = await done.ConfigureAwait(false);
                if (answer.Response is not { } response)
                {
                    candidate.State = State.Failed;
                    if (answer.Penalize)
                    {
                        failed++;
                        _dht.OnRequestFailed(candidate.Peer.Id);
                    }
                    continue;
                }
                candidate.State = State.Answered;
                _dht.OnResponded(candidate.Peer, answer.SeenAt);
                var scope = answer.SeenAt is { } ip ? IpGroup.ScopeOf(ip) : IpGroup.Scope.Loopback;
                foreach (var peer in response.CloserPeers.OrderBy(p => KadKey.ForPeer(p.Id).DistanceTo(_target)).Take(k))
                    Offer(peer, scope);
                if (_stopWhen?.Invoke(candidate.Peer, response) == true)
                {
                    stopped = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (lookup.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The query's deadline: what answered so far is the result.
        }
        finally
        {
            linked.Cancel(); // the requests still in flight end; their results are not needed
            foreach (var task in inflight.Keys)
                _ = task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var closest = _candidates.Where(c => c.State == State.Answered).Take(k).Select(c => c.Peer).ToArray();
        return new KadLookupResult(closest, queried, failed, stopped);
    }

    /// <summary>The nearest candidate not asked yet, if it is among the k nearest that have not failed; else none (done).</summary>
    private Candidate? NextToAsk(int k)
    {
        int considered = 0;
        foreach (var candidate in _candidates)
        {
            if (candidate.State == State.Failed)
                continue;
            if (candidate.State == State.New)
                return candidate;
            if (++considered >= k)
                return null;
        }
        return null;
    }

    private void Offer(KadPeer peer, IpGroup.Scope informer)
    {
        if (peer.Id == _dht.LocalPeer)
            return;
        if (!_known.Add(peer.Id))
            return;
        var addresses = peer.Addresses.Where(a => Reaches(a, informer)).Take(RoutingTable.MaxAddresses).ToArray();
        var candidate = new Candidate(new KadPeer(peer.Id, addresses), KadKey.ForPeer(peer.Id).DistanceTo(_target));
        int index = _candidates.BinarySearch(candidate, CandidateOrder.Instance);
        _candidates.Insert(index < 0 ? ~index : index, candidate);
        if (_candidates.Count > _maxCandidates)
        {
            int last = _candidates.FindLastIndex(c => c.State == State.New);
            if (last >= 0)
            {
                _known.Remove(_candidates[last].Peer.Id);
                _candidates.RemoveAt(last);
            }
        }
    }

    /// <summary>An IP address told by a peer seen at <paramref name="informer"/> scope is kept if it reaches at least as far.</summary>
    private static bool Reaches(Multiaddr address, IpGroup.Scope informer) =>
        address.Components[0].Address is not { } ip || IpGroup.ScopeOf(ip) >= informer;

    private async Task<Answer> AskAsync(KadPeer peer, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_dht.Options.RequestTimeout, _dht.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await _dht.Network.ExchangeAsync(peer.Id, peer.Addresses, _dht.Options.ProtocolId, async (stream, connection, ct) =>
            {
                var response = await KadProtocol.RequestAsync(stream, _request, _dht.Options.RequestTimeout, _dht.Options.MaxMessageSize, _dht.Time, ct)
                    .ConfigureAwait(false);
                return new Answer(response, (connection.RemoteEndPoint as IPEndPoint)?.Address, Penalize: false);
            }, linked.Token).ConfigureAwait(false);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return new Answer(null, null, Penalize: false); // the lookup ended: not the peer's fault
        }
        catch (Exception)
        {
            _dht.CountFailedRequest();
            return new Answer(null, null, Penalize: true);
        }
    }

    private readonly record struct Answer(KadMessage? Response, IPAddress? SeenAt, bool Penalize);

    private enum State { New, Asked, Answered, Failed }

    private sealed class Candidate(KadPeer peer, KadDistance distance)
    {
        public KadPeer Peer { get; } = peer;
        public KadDistance Distance { get; } = distance;
        public State State { get; set; }
    }

    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();
        public int Compare(Candidate? x, Candidate? y) => x!.Distance.CompareTo(y!.Distance);
    }
}
