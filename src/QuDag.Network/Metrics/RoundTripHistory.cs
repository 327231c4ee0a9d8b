namespace QuDag.Network;

/// <summary>One ping round trip to a peer, as kept in its history.</summary>
/// <param name="At">When the answer arrived (the manager's clock).</param>
/// <param name="RoundTrip">The measured PING/PONG round trip.</param>
public readonly record struct RoundTripSample(DateTimeOffset At, TimeSpan RoundTrip);

/// <summary>
/// A peer's last <see cref="Capacity"/> ping round trips, oldest overwritten first. Made at the peer's first ping,
/// so a peer never pinged costs nothing; a full one holds 1 KiB of samples. Pings are rare next to messages
/// (keepalive, Test-QuDagPeer), so a plain lock per peer costs nothing measurable.
/// </summary>
internal sealed class RoundTripHistory
{
    public const int Capacity = 64;
    private readonly RoundTripSample[] _samples = new RoundTripSample[Capacity];
    private long _written;

    public void Add(RoundTripSample sample)
    {
        lock (_samples)
            _samples[_written++ % Capacity] = sample;
    }

    /// <summary>The kept samples, oldest first.</summary>
    public RoundTripSample[] Snapshot()
    {
        lock (_samples)
        {
            var count = (int)Math.Min(_written, Capacity);
            var result = new RoundTripSample[count];
            var start = _written - count;
            for (var i = 0; i < count; i++)
                result[i] = _samples[(start + i) % Capacity];
            return result;
        }
    }
}
