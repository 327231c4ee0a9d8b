namespace QuDag.P2p.Protocols.Ping;

/// <summary>
/// libp2p ping (<c>/ipfs/ping/1.0.0</c>): the dialer writes 32 random bytes, the listener echoes them, on
/// one stream for as many rounds as the dialer likes; the round trip is the latency.
/// </summary>
public static class PingProtocol
{
    /// <summary>The multistream-select protocol id.</summary>
    public const string Id = "/ipfs/ping/1.0.0";

    /// <summary>The size of every ping and its echo.</summary>
    public const int PayloadSize = 32;

    /// <summary>
    /// The listener's side: echoes each 32-byte payload until the dialer closes its side. A partial payload
    /// followed by the end of the stream just ends it (there is nothing to answer). How long an idle dialer
    /// may hold the stream is the caller's decision, through <paramref name="cancellationToken"/>.
    /// </summary>
    public static async Task HandleAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] payload = new byte[PayloadSize];
        while (true)
        {
            // Read in this loop, not with ReadAtLeastAsync: that is a state machine of its own per ping.
            int read = 0;
            while (read < PayloadSize && await stream.ReadAsync(payload.AsMemory(read), cancellationToken).ConfigureAwait(false) is > 0 and var n)
                read += n;
            if (read < PayloadSize)
                return;
            await stream.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
