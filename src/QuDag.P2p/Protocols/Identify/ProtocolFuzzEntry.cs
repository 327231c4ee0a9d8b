using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.P2p.Protocols.Identify;

/// <summary>
/// Entry points for the fuzzer (SharpFuzz/libFuzzer) and the property tests: arbitrary bytes may raise
/// only this stack's typed exceptions. Anything else escaping is a bug the fuzzer should report.
/// </summary>
internal static class ProtocolFuzzEntry
{
    private static readonly string[] Proposals = ["/noise", "/tls/1.0.0"];

    /// <summary>Feeds <paramref name="data"/> as the remote's bytes to a multistream listener and to a dialer.</summary>
    public static void MultistreamMessages(ReadOnlySpan<byte> data)
    {
        byte[] input = data.ToArray();
        // Both sides run synchronously: the replay stream never waits.
        try { MultistreamSelect.HandleAsync(new ReplayStream(input), static p => p == "/noise", CancellationToken.None).GetAwaiter().GetResult(); }
        catch (P2pException) { }
        try { MultistreamSelect.SelectAsync(new ReplayStream(input), Proposals, CancellationToken.None).GetAwaiter().GetResult(); }
        catch (P2pException) { }
    }

    /// <summary>Parses <paramref name="data"/> as the whole content of an identify stream.</summary>
    public static void IdentifyMessage(ReadOnlySpan<byte> data)
    {
        try
        {
            var message = IdentifyProtocol.ParseMessages(data);
            // What was parsed must encode and parse back to the same content.
            var again = Identify.IdentifyMessage.Parse(message.ToProtobuf());
            if (again.Protocols.Count != message.Protocols.Count || again.ListenAddrs.Count != message.ListenAddrs.Count
                || again.AgentVersion != message.AgentVersion || again.ProtocolVersion != message.ProtocolVersion)
                throw new InvalidOperationException("An identify message does not survive a round trip.");
        }
        catch (P2pException) { }
    }

    /// <summary>Reads from a fixed byte array and discards writes; every call completes synchronously.</summary>
    private sealed class ReplayStream(byte[] input) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, input.Length - _position);
            input.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(Read(buffer.Span));

        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
