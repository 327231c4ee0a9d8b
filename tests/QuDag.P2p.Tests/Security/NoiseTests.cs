using System.Buffers.Binary;
using System.Security.Cryptography;
using CsCheck;
using NSec.Cryptography;
using QuDag.P2p.Identity;
using QuDag.P2p.Security;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Security;

/// <summary>What only Noise has: early muxer negotiation, the payload, and the transport's framing.</summary>
public sealed class NoiseTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly NodeIdentity _alice = NodeIdentity.Create();
    private readonly NodeIdentity _bob = NodeIdentity.Create();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    private async Task<(SecuredChannel Dialer, SecuredChannel Listener)> HandshakeAsync(NoiseSecurityOptions dialerOptions, NoiseSecurityOptions listenerOptions)
    {
        using var dialer = new NoiseSecurity(_alice, dialerOptions);
        using var listener = new NoiseSecurity(_bob, listenerOptions);
        var (left, right) = Duplex.CreatePair();
        var inbound = listener.SecureInboundAsync(right, CancellationToken.None);
        var outbound = dialer.SecureOutboundAsync(left, _bob.PeerId, CancellationToken.None);
        return (await outbound.WaitAsync(Bound), await inbound.WaitAsync(Bound));
    }

    public static TheoryData<string[], bool, string[], bool, string?> EarlyMuxerCases => new()
    {
        { ["/yamux/1.0.0"], true, ["/yamux/1.0.0"], true, "/yamux/1.0.0" },
        { ["/yamux/1.0.0"], false, ["/yamux/1.0.0"], true, null },
        { ["/yamux/1.0.0"], true, ["/yamux/1.0.0"], false, null },
        // The spec's example: the initiator's preference wins.
        { ["/yamux/1.0.0", "/mplex/6.7.0"], true, ["/mplex/6.7.0", "/yamux/1.0.0"], true, "/yamux/1.0.0" },
        { ["/mplex/6.7.0", "/yamux/1.0.0"], true, ["/yamux/1.0.0", "/mplex/6.7.0"], true, "/mplex/6.7.0" },
    };

    [Theory]
    [MemberData(nameof(EarlyMuxerCases))]
    public async Task Early_muxer_is_the_initiators_first_common_choice_or_null_when_either_side_offers_none(
        string[] dialerMuxers, bool dialerOffers, string[] listenerMuxers, bool listenerOffers, string? expected)
    {
        var (dialer, listener) = await HandshakeAsync(
            new NoiseSecurityOptions { StreamMuxers = dialerMuxers, NegotiateEarlyMuxer = dialerOffers },
            new NoiseSecurityOptions { StreamMuxers = listenerMuxers, NegotiateEarlyMuxer = listenerOffers });
        await using (dialer.Stream)
        await using (listener.Stream)
        {
            Assert.Equal(expected, dialer.EarlyMuxer);
            Assert.Equal(expected, listener.EarlyMuxer);
        }
    }

    [Fact]
    public async Task Early_muxer_lists_without_a_common_muxer_fail_the_handshake()
    {
        using var dialer = new NoiseSecurity(_alice, new NoiseSecurityOptions { StreamMuxers = ["/mplex/6.7.0"] });
        using var listener = new NoiseSecurity(_bob, new NoiseSecurityOptions { StreamMuxers = ["/yamux/1.0.0"] });
        var (left, right) = Duplex.CreatePair();
        var inbound = listener.SecureInboundAsync(right, CancellationToken.None);
        var outbound = dialer.SecureOutboundAsync(left, null, CancellationToken.None);
        await Assert.ThrowsAsync<P2pProtocolException>(() => outbound.WaitAsync(Bound));
        await Assert.ThrowsAnyAsync<P2pException>(() => inbound.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_responder_whose_identity_did_not_sign_its_static_key_is_refused()
    {
        using var dialer = new NoiseSecurity(_alice);
        var (left, right) = Duplex.CreatePair();
        var outbound = dialer.SecureOutboundAsync(left, null, CancellationToken.None);

        // A hand-driven responder that signs some other X25519 key with Bob's identity.
        using var hostile = new NoiseHandshakeState(false, Key.Create(KeyAgreementAlgorithm.X25519), ownsStatic: true, null, default);
        var prefix = new byte[2];
        await right.ReadExactlyAsync(prefix);
        var first = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await right.ReadExactlyAsync(first);
        hostile.ReadMessage(first);
        var payload = new NoiseHandshakePayload(_bob.PublicKey.ToProtobuf(), _bob.Sign(NoiseHandshakePayload.SignedData(RandomNumberGenerator.GetBytes(32))), null).Encode();
        var second = new byte[2 + hostile.GetWriteLength(payload.Length)];
        BinaryPrimitives.WriteUInt16BigEndian(second, (ushort)(second.Length - 2));
        hostile.WriteMessage(payload, second.AsSpan(2));
        await right.WriteAsync(second);

        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => outbound.WaitAsync(Bound));
        Assert.Contains("did not sign", error.Message);
        right.Dispose();
    }

    [Fact]
    public void Payload_round_trips_and_skips_unknown_fields()
    {
        var payload = new NoiseHandshakePayload([8, 1, 18, 1, 7], [1, 2, 3], ["/yamux/1.0.0", "/mplex/6.7.0"]);
        byte[] encoded = [.. payload.Encode(), 0x2A, 0x01, 0x00]; // an unknown field 5
        var decoded = NoiseHandshakePayload.Decode(encoded);
        Assert.Equal(payload.IdentityKey, decoded.IdentityKey);
        Assert.Equal(payload.IdentitySignature, decoded.IdentitySignature);
        Assert.Equal(payload.StreamMuxers, decoded.StreamMuxers);
        Assert.Null(NoiseHandshakePayload.Decode(new NoiseHandshakePayload([1], [2], null).Encode()).StreamMuxers);
    }

    [Fact]
    public void Payload_decoder_rejects_arbitrary_bytes_only_with_the_typed_exception()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            try { NoiseHandshakePayload.Decode(bytes); }
            catch (P2pProtocolException) { }
        }, iter: 20_000);
        // Mutations of a valid payload reach deeper than random bytes.
        byte[] valid = new NoiseHandshakePayload(_alice.PublicKey.ToProtobuf(), new byte[64], ["/yamux/1.0.0"]).Encode();
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Array[1, 4].Sample(edits =>
        {
            var copy = (byte[])valid.Clone();
            foreach (var (index, value) in edits) copy[index] = value;
            SecurityFuzzEntry.NoisePayload(copy);
        }, iter: 20_000);
    }

    // ---- the transport stream ----

    private static (NoiseStream Writer, NoiseStream Reader, MemoryStream Wire, TrackingStream Tracked) StreamPair(byte[] wireBytes)
    {
        var key = new byte[32];
        var wire = new MemoryStream();
        var tracked = new TrackingStream(wire);
        var writer = new NoiseStream(tracked, new NoiseCipherState(key), new NoiseCipherState(key));
        var reader = new NoiseStream(new MemoryStream(wireBytes), new NoiseCipherState(key), new NoiseCipherState(key));
        return (writer, reader, wire, tracked);
    }

    [Fact]
    public async Task A_large_write_is_cut_into_full_frames_sealed_into_few_underlying_writes()
    {
        byte[] data = RandomNumberGenerator.GetBytes(3 * NoiseStream.MaxBatchPlaintext + 12345);
        var (writer, _, wire, tracked) = StreamPair([]);
        await writer.WriteAsync(data);
        Assert.Equal(4, tracked.Writes);

        byte[] sent = wire.ToArray();
        int offset = 0, frames = 0;
        while (offset < sent.Length)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(sent.AsSpan(offset));
            Assert.InRange(length, NoiseCipherState.TagSize + 1, NoiseStream.MaxFrameLength);
            offset += 2 + length;
            frames++;
        }
        Assert.Equal(sent.Length, offset);
        Assert.Equal((data.Length + NoiseStream.MaxFramePlaintext - 1) / NoiseStream.MaxFramePlaintext, frames);

        var (_, reader, _, _) = StreamPair(sent);
        var received = new byte[data.Length];
        await reader.ReadExactlyAsync(received);
        Assert.Equal(data, received);
        Assert.Equal(0, await reader.ReadAsync(new byte[1]));
    }

    [Fact]
    public async Task Reads_of_any_size_reassemble_the_plaintext_and_empty_frames_are_skipped()
    {
        var (writer, _, wire, _) = StreamPair([]);
        await writer.WriteAsync("hello "u8.ToArray());
        await writer.WriteAsync(ReadOnlyMemory<byte>.Empty);
        writer.Write("noise"u8);
        // An empty frame (just a tag) in the middle is legal and carries nothing.
        var key = new byte[32];
        using var third = new NoiseCipherState(key, 2);
        var empty = new byte[2 + NoiseCipherState.TagSize];
        BinaryPrimitives.WriteUInt16BigEndian(empty, NoiseCipherState.TagSize);
        third.Encrypt(default, default, empty.AsSpan(2));
        using var fourth = new NoiseCipherState(key, 3);
        var last = new byte[2 + 1 + NoiseCipherState.TagSize];
        BinaryPrimitives.WriteUInt16BigEndian(last, 1 + NoiseCipherState.TagSize);
        fourth.Encrypt(default, "!"u8, last.AsSpan(2));
        byte[] bytes = [.. wire.ToArray(), .. empty, .. last];

        var (_, reader, _, _) = StreamPair(bytes);
        var text = new List<byte>();
        var one = new byte[1];
        while (reader.Read(one) == 1) text.Add(one[0]);
        Assert.Equal("hello noise!"u8.ToArray(), text.ToArray());
    }

    [Theory]
    [InlineData("short")]
    [InlineData("truncated")]
    [InlineData("forged")]
    public async Task A_broken_frame_is_a_protocol_error_that_closes_the_stream(string kind)
    {
        var (writer, _, wire, _) = StreamPair([]);
        await writer.WriteAsync(new byte[100]);
        byte[] bytes = wire.ToArray();
        switch (kind)
        {
            case "short": BinaryPrimitives.WriteUInt16BigEndian(bytes, 15); break;
            case "truncated": bytes = bytes[..^1]; break;
            default: bytes[50] ^= 1; break;
        }
        var (_, reader, _, _) = StreamPair(bytes);
        await Assert.ThrowsAsync<P2pProtocolException>(async () => await reader.ReadExactlyAsync(new byte[100]));
        Assert.False(reader.CanRead);
    }

    [Fact]
    public async Task A_second_concurrent_write_is_refused_clearly()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var key = new byte[32];
        await using var stream = new NoiseStream(new BlockingWriteStream(gate.Task), new NoiseCipherState(key), new NoiseCipherState(key));
        var first = stream.WriteAsync(new byte[10]).AsTask();
        Assert.False(first.IsCompleted);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await stream.WriteAsync(new byte[10]));
        gate.SetResult();
        await first.WaitAsync(Bound);
        await stream.WriteAsync(new byte[10]).AsTask().WaitAsync(Bound);
    }

    [Fact]
    public async Task Reading_and_writing_run_concurrently_on_one_channel()
    {
        using var dialerTransport = new NoiseSecurity(_alice);
        using var listenerTransport = new NoiseSecurity(_bob);
        var (left, right) = Duplex.CreatePair();
        var inbound = listenerTransport.SecureInboundAsync(right, CancellationToken.None);
        var dialer = await dialerTransport.SecureOutboundAsync(left, null, CancellationToken.None).WaitAsync(Bound);
        var listener = await inbound.WaitAsync(Bound);
        await using (dialer.Stream)
        await using (listener.Stream)
        {
            // A read is pending on each side while both write.
            var readAtDialer = dialer.Stream.ReadAsync(new byte[5]).AsTask();
            var readAtListener = listener.Stream.ReadAsync(new byte[5]).AsTask();
            await dialer.Stream.WriteAsync("hello"u8.ToArray());
            await listener.Stream.WriteAsync("world"u8.ToArray());
            Assert.Equal(5, await readAtDialer.WaitAsync(Bound));
            Assert.Equal(5, await readAtListener.WaitAsync(Bound));
        }
    }

    [Fact]
    public async Task A_zero_byte_read_waits_for_plaintext_without_consuming_it()
    {
        using var dialerTransport = new NoiseSecurity(_alice);
        using var listenerTransport = new NoiseSecurity(_bob);
        var (left, right) = Duplex.CreatePair();
        var inbound = listenerTransport.SecureInboundAsync(right, CancellationToken.None);
        var dialer = await dialerTransport.SecureOutboundAsync(left, null, CancellationToken.None).WaitAsync(Bound);
        var listener = await inbound.WaitAsync(Bound);
        await using (dialer.Stream)
        await using (listener.Stream)
        {
            var wait = listener.Stream.ReadAsync(Memory<byte>.Empty).AsTask();
            Assert.False(wait.IsCompleted);
            await dialer.Stream.WriteAsync("data"u8.ToArray());
            Assert.Equal(0, await wait.WaitAsync(Bound));
            Assert.Equal("data"u8.ToArray(), await ReadExactly(listener.Stream, 4));
            await dialer.Stream.DisposeAsync();
            Assert.Equal(0, await listener.Stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Bound));
            Assert.Equal(0, await listener.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Bound));
        }
    }

    [Fact]
    public async Task An_idle_zero_byte_read_wakes_when_a_frame_begins_and_the_read_after_it_waits_for_the_rest()
    {
        var key = new byte[32];
        var sealedFrame = new MemoryStream();
        await using (var sealer = new NoiseStream(sealedFrame, new NoiseCipherState(key), new NoiseCipherState(key)))
            await sealer.WriteAsync("hello"u8.ToArray());
        byte[] frame = sealedFrame.ToArray();

        var (left, right) = Duplex.CreatePair();
        await using var stream = new NoiseStream(left, new NoiseCipherState(key), new NoiseCipherState(key));
        var wait = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(wait.IsCompleted);
        await right.WriteAsync(frame.AsMemory(0, 3));
        Assert.Equal(0, await wait.WaitAsync(Bound));

        var buffer = new byte[16];
        var read = stream.ReadAsync(buffer).AsTask();
        Assert.False(read.IsCompleted); // 3 bytes of a 23-byte frame: nothing to hand out yet
        await right.WriteAsync(frame.AsMemory(3));
        Assert.Equal(5, await read.WaitAsync(Bound));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);

        // Idle again, then the end of the stream: the wait ends and the read after it says so.
        var atEnd = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        right.Dispose();
        Assert.Equal(0, await atEnd.WaitAsync(Bound));
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Bound));
        await stream.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => _ = await stream.ReadAsync(Memory<byte>.Empty));
    }

    [Fact]
    public async Task A_second_concurrent_read_is_refused_and_reads_after_dispose_say_so()
    {
        var (left, right) = Duplex.CreatePair();
        var key = new byte[32];
        var stream = new NoiseStream(left, new NoiseCipherState(key), new NoiseCipherState(key));
        var pending = stream.ReadAsync(new byte[10]).AsTask();
        Assert.False(pending.IsCompleted);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => _ = await stream.ReadAsync(new byte[10]));
        right.Dispose();
        Assert.Equal(0, await pending.WaitAsync(Bound));
        await stream.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => _ = await stream.ReadAsync(new byte[10]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => _ = await stream.ReadAsync(new byte[10]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.WriteAsync(new byte[10]));
    }

    private static async Task<byte[]> ReadExactly(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Bound);
        return buffer;
    }

    private sealed class BlockingWriteStream(Task gate) : MemoryStream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            await base.WriteAsync(buffer, cancellationToken);
        }
    }
}
