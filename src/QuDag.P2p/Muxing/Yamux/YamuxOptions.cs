namespace QuDag.P2p.Muxing.Yamux;

/// <summary>The limits and tunables of a yamux session. Defaults follow go-yamux and rust-libp2p.</summary>
public sealed record YamuxOptions
{
    /// <summary>The window every yamux stream starts with, fixed by the spec.</summary>
    public const int SpecInitialWindow = 256 * 1024;

    public static YamuxOptions Default { get; } = new();

    /// <summary>Open streams per session (both directions); an inbound SYN beyond it is answered with RST.
    /// 1,024: an application's 1,000 streams (js-libp2p's own limit) plus the protocol streams beside them (ping, identify).</summary>
    public int MaxStreams { get; init; } = 1024;

    /// <summary>Outbound streams the remote has not acknowledged yet; OpenStreamAsync waits for one beyond it.</summary>
    public int MaxPendingOutboundStreams { get; init; } = 256;

    /// <summary>
    /// Inbound streams not yet accepted by the application; a SYN beyond it is answered with RST. As large as
    /// <see cref="MaxStreams"/>: js-libp2p opens streams without waiting for ACKs, so a burst of 1,000 SYNs can
    /// land in one read before the accept loop runs; memory stays bounded by MaxStreams x the window.
    /// </summary>
    public int AcceptBacklog { get; init; } = 1024;

    /// <summary>The receive window per stream (at least the spec's 256 KiB; more is announced with the SYN/ACK).
    /// It also bounds what one stream may buffer for a slow reader.</summary>
    public int InitialWindow { get; init; } = SpecInitialWindow;

    /// <summary>The largest Data frame we write, so streams interleave fairly on the connection.</summary>
    public int MaxFrameSize { get; init; } = 16 * 1024;

    /// <summary>Bytes of frames queued for the connection before writers wait: the write backpressure bound.</summary>
    public int MaxOutboundBufferBytes { get; init; } = 256 * 1024;

    /// <summary>How long <see cref="YamuxSession.PingAsync"/> waits for the remote's answer.</summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long closing waits for the final GoAway to reach the connection before cutting it.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a stream we have let go (disposed, our FIN sent) waits for the remote's FIN or RST before we
    /// reset it and free its slot; a remote that never finishes would otherwise hold it for the session's
    /// life. go-yamux's StreamCloseTimeout, 5 minutes. <see cref="Timeout.InfiniteTimeSpan"/> waits forever.
    /// </summary>
    public TimeSpan StreamCloseTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock for timeouts and ping round trips.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        if (MaxStreams < 1) throw new ArgumentOutOfRangeException(nameof(MaxStreams), MaxStreams, "At least one stream.");
        if (MaxPendingOutboundStreams < 1) throw new ArgumentOutOfRangeException(nameof(MaxPendingOutboundStreams), MaxPendingOutboundStreams, "At least one.");
        if (AcceptBacklog < 1) throw new ArgumentOutOfRangeException(nameof(AcceptBacklog), AcceptBacklog, "At least one.");
        if (InitialWindow < SpecInitialWindow || InitialWindow > 16 * 1024 * 1024)
            throw new ArgumentOutOfRangeException(nameof(InitialWindow), InitialWindow, "Between 256 KiB (the spec's) and 16 MiB.");
        if (MaxFrameSize < 1024 || MaxFrameSize > SpecInitialWindow)
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, "Between 1 KiB and 256 KiB.");
        if (MaxOutboundBufferBytes < MaxFrameSize + YamuxHeader.Size)
            throw new ArgumentOutOfRangeException(nameof(MaxOutboundBufferBytes), MaxOutboundBufferBytes, "At least one full frame.");
        if (PingTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PingTimeout));
        if (CloseTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(CloseTimeout));
        if (StreamCloseTimeout <= TimeSpan.Zero && StreamCloseTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(StreamCloseTimeout), StreamCloseTimeout, "Positive, or infinite.");
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
