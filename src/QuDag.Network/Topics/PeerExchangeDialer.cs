using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using QuDag.P2p.Protocols.Gossipsub;

namespace QuDag.Network;

/// <summary>
/// Dials the peers gossipsub's peer exchange offers, through the manager's connect (so its limits, gater and breaker
/// apply): at each offer's first TCP address from its verified signed peer record, else at the address the book
/// already knows; never a peer that is connected or being dialed here; at most <c>maxInFlight</c> dials at once (more
/// offers wait for the next PRUNE). A PRUNE offers at most 16. The dials end when this is disposed.
/// </summary>
internal sealed class PeerExchangeDialer(int maxInFlight, Func<PeerId, bool> connectedOrConnecting, Func<PeerId, EndPoint?> knownEndPoint,
    Func<PeerId, EndPoint, CancellationToken, Task> connect) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<PeerId, Task> _inFlight = new();
    private readonly CancellationTokenSource _stop = new();
    private long _dialed, _failed;

    /// <summary>Dials started since the manager began.</summary>
    public long Dialed => Interlocked.Read(ref _dialed);

    /// <summary>Dials that failed (refused, timed out, limit reached).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public void OnExchange(GossipPeerExchange exchange)
    {
        foreach (var offer in exchange.Peers)
        {
            if (_stop.IsCancellationRequested || _inFlight.Count >= maxInFlight)
                return;
            if (connectedOrConnecting(offer.PeerId) || _inFlight.ContainsKey(offer.PeerId))
                continue;
            EndPoint? endPoint = null;
            foreach (var address in offer.Addresses)
            {
                if (address.TryGetEndPoint(out endPoint))
                    break;
            }
            endPoint ??= knownEndPoint(offer.PeerId);
            if (endPoint is null)
                continue;
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_inFlight.TryAdd(offer.PeerId, started.Task))
                continue;
            Interlocked.Increment(ref _dialed);
            _ = DialAsync(offer.PeerId, endPoint, started);
        }
    }

    private async Task DialAsync(PeerId peer, EndPoint endPoint, TaskCompletionSource done)
    {
        try
        {
            await connect(peer, endPoint, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Interlocked.Increment(ref _failed);
            Trace.TraceInformation("QuDag.Network: a peer offered by gossip peer exchange, {0} at {1}, was not reached: {2}", peer, endPoint, ex.Message);
        }
        finally
        {
            _inFlight.TryRemove(peer, out _);
            done.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_inFlight.Values).ConfigureAwait(false);
        _stop.Dispose();
    }
}
