using System.Net;

namespace QuDag.P2p.Resources;

/// <summary>
/// Counts inbound connections per subnet in two stages (pending: until the peer is proven; open: until closed) and
/// meters their rate with a token bucket per subnet. One lock: an accept takes it once. Entries go when their counts
/// return to zero, and buckets once they are full again, so the tables hold only subnets that are connected or
/// connected lately.
/// </summary>
internal sealed class InboundSubnetLimiter(Func<int> pendingLimit, Func<InboundSubnetLimits> limits, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, Counts> _counts = [];
    private readonly Dictionary<UInt128, Bucket> _buckets = [];
    private int _sweepCountdown = SweepEvery;
    private const int SweepEvery = 1024;

    private struct Counts
    {
        public int Pending;
        public int Open;
    }

    private struct Bucket
    {
        public double Tokens;
        public long At;
    }

    /// <summary>The key an inbound connection from <paramref name="address"/> holds; pass it back to the other calls.</summary>
    public UInt128 KeyOf(IPAddress address)
    {
        var l = limits();
        return SubnetKey.Of(address, l.IPv4PrefixLength, l.IPv6PrefixLength);
    }

    /// <summary>
    /// Takes a pending and an open slot of the subnet and one token of its rate; refuses (taking nothing) when one
    /// is spent. <paramref name="exempt"/> (loopback by default, or an allowlisted address) skips the open count and
    /// the rate, never the pending count.
    /// </summary>
    public ResourceLimitExceededException? TryOpen(IPAddress address, UInt128 key, bool exempt)
    {
        var l = limits();
        int maxPending = pendingLimit();
        lock (_lock)
        {
            _counts.TryGetValue(key, out var c);
            if (c.Pending >= maxPending)
                return Refused(address, l, "pending inbound connections", c.Pending, maxPending);
            if (!exempt && c.Open >= l.MaxConnectionsPerSubnet)
                return Refused(address, l, "inbound connections", c.Open, l.MaxConnectionsPerSubnet);
            if (!exempt && l.ConnectionsPerSecond > 0 && !TakeToken(key, l))
                return Refused(address, l, $"new inbound connections in a burst (refilled at {l.ConnectionsPerSecond:0.###}/s)", l.Burst, l.Burst);
            c.Pending++;
            c.Open++;
            _counts[key] = c;
            return null;
        }
    }

    /// <summary>The connection's peer is proven: it leaves the pending count (it stays open).</summary>
    public void Established(UInt128 key) => Change(key, pending: -1, open: 0);

    /// <summary>The connection ended; <paramref name="pending"/> when it never got past its handshake.</summary>
    public void Closed(UInt128 key, bool pending) => Change(key, pending: pending ? -1 : 0, open: -1);

    /// <summary>Subnets with a connection pending or open (for tests).</summary>
    internal int Count
    {
        get { lock (_lock) return _counts.Count; }
    }

    private void Change(UInt128 key, int pending, int open)
    {
        lock (_lock)
        {
            if (!_counts.TryGetValue(key, out var c))
            {
                System.Diagnostics.Debug.Fail("a subnet slot released that was never taken");
                return;
            }
            c.Pending += pending;
            c.Open += open;
            System.Diagnostics.Debug.Assert(c.Pending >= 0 && c.Open >= 0, "a subnet count below zero");
            if (c.Open <= 0)
                _counts.Remove(key);
            else
                _counts[key] = c;
        }
    }

    // Under _lock. A bucket starts full; it refills at the rate up to the burst.
    private bool TakeToken(UInt128 key, InboundSubnetLimits l)
    {
        long now = time.GetTimestamp();
        if (!_buckets.TryGetValue(key, out var b))
            b = new Bucket { Tokens = l.Burst, At = now };
        else
            b.Tokens = Math.Min(l.Burst, b.Tokens + time.GetElapsedTime(b.At, now).TotalSeconds * l.ConnectionsPerSecond);
        b.At = now;
        bool allowed = b.Tokens >= 1;
        if (allowed)
            b.Tokens -= 1;
        _buckets[key] = b;
        if (--_sweepCountdown <= 0)
            Sweep(l, now);
        return allowed;
    }

    // Drops buckets that have refilled: they hold what a fresh one would.
    private void Sweep(InboundSubnetLimits l, long now)
    {
        _sweepCountdown = SweepEvery;
        foreach (var (key, b) in _buckets)
        {
            if (b.Tokens + time.GetElapsedTime(b.At, now).TotalSeconds * l.ConnectionsPerSecond >= l.Burst)
                _buckets.Remove(key);
        }
    }

    private static ResourceLimitExceededException Refused(IPAddress address, InboundSubnetLimits l, string what, long inUse, long limit) =>
        new(ResourceScopeKind.Subnet, SubnetKey.Text(address, l.IPv4PrefixLength, l.IPv6PrefixLength), what, inUse, limit);
}
