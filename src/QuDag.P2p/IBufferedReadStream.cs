namespace QuDag.P2p;

/// <summary>
/// A stream that lends the bytes it holds instead of copying them out: a muxer reads a secured channel through it, so the
/// channel's plaintext (decrypted in place, where the ciphertext arrived) is parsed where it lies and copied once, into
/// the reader that wants it. One reader at a time; the bytes lent stay valid until <see cref="Consume"/> takes them.
/// </summary>
internal interface IBufferedReadStream
{
    /// <summary>True when bytes are held (lent or ready to lend): <see cref="ReadBufferedAsync"/> would not wait.</summary>
    bool HasBuffered { get; }

    /// <summary>
    /// Returns the bytes held, waiting for some when none are; empty at the end of the stream. The same bytes (and
    /// perhaps more) come back until <see cref="Consume"/> takes them.
    /// </summary>
    ValueTask<ReadOnlyMemory<byte>> ReadBufferedAsync(CancellationToken cancellationToken);

    /// <summary>Takes the first <paramref name="count"/> of the bytes <see cref="ReadBufferedAsync"/> returned last.</summary>
    void Consume(int count);

    /// <summary>
    /// Waits, holding no buffer, until bytes are there or the stream has ended (then <see cref="ReadBufferedAsync"/>
    /// tells which); completes at once when bytes are held. What an idle connection waits in.
    /// </summary>
    ValueTask<int> WaitAsync(CancellationToken cancellationToken);
}
