using System.Net;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad.Routing;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>What a lookup found: the peers that answered, nearest the target first (at most k), and how it went.</summary>
public sealed record KadLookupResult(IReadOnlyList<KadPeer> Closest, int Queried, int Failed, bool StoppedEarly);

/// <summary>
/// One iterative Kademlia lookup (the spec's peer routing) over <see cref="KadOptions.DisjointPaths"/> disjoint paths
/// (S/Kademlia 4.4): the seeds are dealt to the paths in turn, nearest first (with fewer seeds than paths, the peers
/// the first answers name start the paths left empty); each path keeps its candidates sorted by
/// distance to the target, asks its closest not yet asked, alpha at a time, and ends when its k closest that did not fail
/// have all answered. A peer belongs to the path that first heard of it: the peers an answer names go to the path that
/// asked, and never to another path that already holds them, so no peer is asked by two paths and one path's poisoned
/// answers cannot steer another. The lookup ends when every path has ended (or a caller's condition holds, which ends
/// them all); its result is the k nearest that answered over all paths. With one path it is the spec's basic lookup.
/// Bounded: a response contributes at most its k peers nearest the target, and each path keeps at most 8k candidates,
/// dropping the farthest not yet asked; so a peer that answers with 10,000 made-up peers changes nothing but which ones
/// are asked. Addresses a peer tells us of are kept only if they reach no narrower than the peer's own (a public peer
/// cannot point us at loopback or private addresses). Runs on one logical thread: the requests run concurrently, their
/// results are folded in one at a time.
/// </summary>
internal sealed class KadLookup
{
    private readonly KadDht _dht;
    private readonly KadKey _target;
    private readonly KadMessage _request;
    private readonly Func<KadPeer, KadMessage, bool>? _stopWhen;
    private readonly KadLookupPath[] _paths;
    private readonly HashSet<PeerId> _held = []; // every peer some path holds: what makes the paths disjoint

    public KadLookup(KadDht dht, KadKey target, KadMessage request, Func<KadPeer, KadMessage, bool>? stopWhen)
    {
        _dht = dht;
        _target = target;
        _request = request;
        _stopWhen = stopWhen;
        _paths = new KadLookupPath[dht.Options.DisjointPaths];
        for (int i = 0; i < _paths.Length; i++)
            _paths[i] = new KadLookupPath(target, dht.Options.K * 8);
    }

    public async Task<KadLookupResult> RunAsync(IEnumerable<KadPeer> seeds, CancellationToken cancellationToken)
    {
        // Ours (the table, the operator's bootstrap list): every address stands. Dealt in turn, so each path starts from
        // some of the nearest; with fewer seeds than paths, the first answers start the rest (Receivers).
        int dealt = 0;
        foreach (var seed in seeds)
        {
            if (Offer(_paths[dealt % _paths.Length], seed))
                dealt++;
        }
        int k = _dht.Options.K;
        using var lookup = new CancellationTokenSource(_dht.Options.QueryTimeout, _dht.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lookup.Token);
        var inflight = new Dictionary<Task<Answer>, (KadLookupPath Path, KadLookupPath.Candidate Candidate)>();
        int queried = 0, failed = 0;
        bool stopped = false;
        try
        {
            while (true)
            {
                foreach (var path in _paths)
                {
                    while (path.InFlight < _dht.Options.Alpha && path.NextToAsk(k) is { } next)
                    {
                        path.Asked(next);
                        queried++;
                        inflight[AskAsync(next.Peer, linked.Token)] = (path, next);
                    }
                }
                if (inflight.Count == 0)
                    break;
                var done = await Task.WhenAny(inflight.Keys).ConfigureAwait(false);
                var (asking, candidate) = inflight[done];
                inflight.Remove(done);
                var answer = await done.ConfigureAwait(false);
                asking.Completed(candidate, answered: answer.Response is not null);
                if (answer.Response is not { } response)
                {
                    if (answer.Penalize)
                    {
                        failed++;
                        _dht.OnRequestFailed(candidate.Peer.Id);
                    }
                    continue;
                }
                _dht.OnResponded(candidate.Peer, answer.SeenAt);
                var scope = answer.SeenAt is { } ip ? IpGroup.ScopeOf(ip) : IpGroup.Scope.Loopback;
                var told = WithReachableAddresses(response, scope);
                var receivers = Receivers(asking);
                int turn = 0;
                foreach (var peer in told.CloserPeers.OrderBy(p => KadKey.ForPeer(p.Id).DistanceTo(_target)).Take(k))
                {
                    if (Offer(receivers[turn % receivers.Count], peer))
                        turn++;
                }
                if (_stopWhen?.Invoke(candidate.Peer, told) == true)
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
        var closest = _paths.SelectMany(p => p.Answered).OrderBy(c => c.Distance).Take(k).Select(c => c.Peer).ToArray();
        return new KadLookupResult(closest, queried, failed, stopped);
    }

    /// <summary>
    /// Who gets the peers an answer to <paramref name="asking"/> names: that path, and while some paths have had no peer
    /// yet (fewer seeds than paths: a node that knows one bootstrap peer), those too, in turn. Every peer then still came
    /// through the few seeds, so nothing disjoint is lost, and the paths run instead of staying empty.
    /// </summary>
    private List<KadLookupPath> Receivers(KadLookupPath asking)
    {
        var receivers = new List<KadLookupPath>(1) { asking };
        foreach (var path in _paths)
        {
            if (!path.Started)
                receivers.Add(path);
        }
        return receivers;
    }

    /// <summary>Gives <paramref name="peer"/> to <paramref name="path"/> unless it is us or a path holds it already.</summary>
    private bool Offer(KadLookupPath path, KadPeer peer)
    {
        if (peer.Id == _dht.LocalPeer || !_held.Add(peer.Id))
            return false;
        var addresses = peer.Addresses.Take(RoutingTable.MaxAddresses).ToArray();
        if (path.Add(new KadPeer(peer.Id, addresses)) is { } dropped)
            _held.Remove(dropped); // never asked: another path may take it later
        return true;
    }

    /// <summary>
    /// The answer as far as it can be believed: the closer peers and providers a peer seen at <paramref name="informer"/>
    /// scope names keep only the IP addresses that reach at least as far (a public peer cannot point us at loopback or
    /// private addresses). What the caller's stop condition sees too: a peer found is found at an address we may use.
    /// </summary>
    private static KadMessage WithReachableAddresses(KadMessage response, IpGroup.Scope informer)
    {
        if (informer == IpGroup.Scope.Loopback)
            return response; // every address reaches at least as far as loopback
        return response with
        {
            CloserPeers = response.CloserPeers.Select(p => Reachable(p, informer)).ToArray(),
            ProviderPeers = response.ProviderPeers.Select(p => Reachable(p, informer)).ToArray(),
        };
    }

    private static KadPeer Reachable(KadPeer peer, IpGroup.Scope informer) =>
        peer.Addresses.All(a => Reaches(a, informer)) ? peer : new KadPeer(peer.Id, peer.Addresses.Where(a => Reaches(a, informer)), peer.Connection);

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
}
