namespace QuDag.P2p.Muxing.Yamux;

/// <summary>The fuzzer's ways into the yamux decoders: anything but a protocol error is a finding.</summary>
internal static class YamuxFuzzEntry
{
    public static void Headers(ReadOnlySpan<byte> data)
    {
        Span<byte> again = stackalloc byte[YamuxHeader.Size];
        while (data.Length >= YamuxHeader.Size)
        {
            try
            {
                YamuxHeader header = YamuxHeader.Read(data);
                header.Write(again);
                // Flags are kept verbatim, so a decoded header must re-encode to the same bytes.
                if (!again.SequenceEqual(data[..YamuxHeader.Size]))
                    throw new InvalidOperationException("A yamux header did not round-trip.");
            }
            catch (P2pProtocolException)
            {
            }
            data = data[YamuxHeader.Size..];
        }
        if (!data.IsEmpty)
        {
            try { YamuxHeader.Read(data); }
            catch (P2pProtocolException) { }
        }
    }

    /// <summary>
    /// The remote's bytes (after the first, which seeds where they are cut) to a whole session that reads them through a
    /// connection lending its buffer, as Noise does, in pieces cut anywhere: headers and payloads split between pieces.
    /// The session must end by itself at the end of the bytes, cleanly or with a protocol error; a session that fails
    /// with anything else, or does not end, is a finding.
    /// </summary>
    public static void FramesLent(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return;
        var connection = new PiecewiseLender(data[1..].ToArray(), data[0]);
        var session = new YamuxSession(connection, isInitiator: (data[0] & 1) == 0);
        try
        {
            if (!session.Completion.Wait(TimeSpan.FromSeconds(10)))
                throw new TimeoutException("The yamux session did not end at the end of its bytes.");
        }
        catch (AggregateException e) when (e.InnerException is P2pException or IOException)
        {
            // A protocol error, or the session's own reset of its streams: the typed refusal.
        }
        finally
        {
            session.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>A connection that lends <c>bytes</c> in pieces of pseudo-random sizes and swallows what is written.</summary>
    private sealed class PiecewiseLender(byte[] bytes, int seed) : Stream, IBufferedReadStream
    {
        private readonly Random _sizes = new(seed);
        private int _at;        // start of the current piece
        private int _pieceEnd;  // end of the current piece

        public bool HasBuffered => _pieceEnd > _at;

        public ValueTask<int> WaitAsync(CancellationToken cancellationToken) => new(0);

        public ValueTask<ReadOnlyMemory<byte>> ReadBufferedAsync(CancellationToken cancellationToken)
        {
            if (_pieceEnd == _at && _at < bytes.Length)
                _pieceEnd = Math.Min(bytes.Length, _at + (_sizes.Next(8) == 0 ? _sizes.Next(1, 70_000) : _sizes.Next(1, 40)));
            return new(bytes.AsMemory(_at, _pieceEnd - _at));
        }

        public void Consume(int count)
        {
            if ((uint)count > (uint)(_pieceEnd - _at))
                throw new InvalidOperationException($"Consume({count}) is more than the {_pieceEnd - _at} bytes lent.");
            _at += count;
        }

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read through the loan.");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => default;
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
