namespace QuDag.Network;

/// <summary>Settings of a <see cref="ConnectionManager"/>.</summary>
public sealed class ConnectionManagerOptions
{
    /// <summary>The seed's pool timeout: 5 minutes.</summary>
    public static readonly TimeSpan DefaultPoolTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Open sockets allowed at once: active and idle pooled, inbound and outbound. Default 100.</summary>
    public int MaxConnections { get; set; } = 100;

    /// <summary>How long a disconnected live connection waits in the idle pool (sliding). Zero disables the pool.</summary>
    public TimeSpan PoolTimeout { get; set; } = DefaultPoolTimeout;

    /// <summary>Bound on TCP connect + TLS + HELLO, both directions. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame payload accepted or sent. Default 1 MiB.</summary>
    public int MaxFrameSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Inbound DATA messages buffered for <see cref="ConnectionManager.ReceiveAsync"/>. When full, connections
    /// stop reading, so TCP pushes back on the senders: nothing is dropped. Default 4096.
    /// </summary>
    public int ReceiveQueueCapacity { get; set; } = 4096;

    /// <summary>The node's identity; a new ephemeral one when null. The manager does not dispose one it was given.</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>The clock for pool expiry, timeouts and metric windows. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (MaxConnections < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "MaxConnections must be at least 1.");
        if (PoolTimeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(PoolTimeout), PoolTimeout, "PoolTimeout cannot be negative.");
        if (HandshakeTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "HandshakeTimeout must be positive.");
        if (MaxFrameSize < Frame.MinimumMaxFrameSize)
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, $"MaxFrameSize must be at least {Frame.MinimumMaxFrameSize} bytes.");
        if (ReceiveQueueCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(ReceiveQueueCapacity), ReceiveQueueCapacity, "ReceiveQueueCapacity must be at least 1.");
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
