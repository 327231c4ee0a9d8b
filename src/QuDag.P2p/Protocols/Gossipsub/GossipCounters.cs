namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The router-wide counts of what hostile or broken peers sent and what was done about it. Incremented under the
/// router's lock except <see cref="InvalidRpc"/> (counted by a reader as its stream fails), so all are Interlocked.
/// </summary>
internal sealed class GossipCounters
{
    private long _invalidRpcs, _graylistedRpcs, _ihaveIgnored, _iwantSent, _iwantIgnored, _brokenPromises, _subscriptionsIgnored, _peerRecordsRefused, _peerExchangeIgnored, _heartbeats;

    public void InvalidRpc() => Interlocked.Increment(ref _invalidRpcs);

    public void GraylistedRpc() => Interlocked.Increment(ref _graylistedRpcs);

    public void IHaveIgnored(int count = 1) => Interlocked.Add(ref _ihaveIgnored, count);

    public void IWantSent(int count) => Interlocked.Add(ref _iwantSent, count);

    public void IWantIgnored(int count = 1) => Interlocked.Add(ref _iwantIgnored, count);

    public void BrokenPromises(int count) => Interlocked.Add(ref _brokenPromises, count);

    public void SubscriptionIgnored() => Interlocked.Increment(ref _subscriptionsIgnored);

    public void PeerRecordRefused() => Interlocked.Increment(ref _peerRecordsRefused);

    public void PeerExchangeIgnored() => Interlocked.Increment(ref _peerExchangeIgnored);

    /// <summary>Counts a heartbeat and returns its number (1 for the first).</summary>
    public long Heartbeat() => Interlocked.Increment(ref _heartbeats);

    /// <summary>The counts, with the figures only the router knows filled in by the caller.</summary>
    public GossipRouterStatistics Snapshot() => new()
    {
        InvalidRpcs = Interlocked.Read(ref _invalidRpcs),
        GraylistedRpcs = Interlocked.Read(ref _graylistedRpcs),
        IHaveIgnored = Interlocked.Read(ref _ihaveIgnored),
        IWantSent = Interlocked.Read(ref _iwantSent),
        IWantIgnored = Interlocked.Read(ref _iwantIgnored),
        BrokenPromises = Interlocked.Read(ref _brokenPromises),
        SubscriptionsIgnored = Interlocked.Read(ref _subscriptionsIgnored),
        PeerRecordsRefused = Interlocked.Read(ref _peerRecordsRefused),
        PeerExchangeIgnored = Interlocked.Read(ref _peerExchangeIgnored),
        Heartbeats = Interlocked.Read(ref _heartbeats),
    };
}
