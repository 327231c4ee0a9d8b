using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Protocols.Identify;
using QuDag.P2p.Tests.Support;
using QuDag.P2p.Transport.Tcp;

namespace QuDag.P2p.Tests.Protocols;

public class IdentifyTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static readonly byte[] Key = [0x08, 0x01, 0x12, 0x20, .. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly byte[] Tcp4001 = Convert.FromHexString("047F000001060FA1");    // /ip4/127.0.0.1/tcp/4001
    private static readonly byte[] Observed = Convert.FromHexString("040A00000206D6D8");   // /ip4/10.0.0.2/tcp/55000

    private static readonly IdentifyMessage Sample = new()
    {
        PublicKey = Key,
        ListenAddrs = [Tcp4001],
        Protocols = ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"],
        ObservedAddr = Observed,
        ProtocolVersion = "/qudag/1.0.0",
        AgentVersion = "rust-libp2p/0.53.2",
        SignedPeerRecord = [0xAA, 0xBB, 0xCC],
    };

    // Built by hand from the spec's field numbers: tag = field << 3 | 2, then the length, then the bytes.
    private static readonly byte[] SampleBytes = Convert.FromHexString(
        "0A24" + "08011220" + "0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20" +   // 1 publicKey
        "1208" + "047F000001060FA1" +                                                             // 2 listenAddrs
        "1A0E" + Convert.ToHexString("/ipfs/id/1.0.0"u8) +                                        // 3 protocols
        "1A10" + Convert.ToHexString("/ipfs/ping/1.0.0"u8) +
        "2208" + "040A00000206D6D8" +                                                             // 4 observedAddr
        "2A0C" + Convert.ToHexString("/qudag/1.0.0"u8) +                                          // 5 protocolVersion
        "3212" + Convert.ToHexString("rust-libp2p/0.53.2"u8) +                                    // 6 agentVersion
        "4203" + "AABBCC");                                                                       // 8 signedPeerRecord

    private static void AssertSameContent(IdentifyMessage expected, IdentifyMessage actual)
    {
        Assert.Equal(expected.PublicKey, actual.PublicKey);
        Assert.Equal(expected.ListenAddrs, actual.ListenAddrs);
        Assert.Equal(expected.Protocols, actual.Protocols);
        Assert.Equal(expected.ObservedAddr, actual.ObservedAddr);
        Assert.Equal(expected.ProtocolVersion, actual.ProtocolVersion);
        Assert.Equal(expected.AgentVersion, actual.AgentVersion);
        Assert.Equal(expected.SignedPeerRecord, actual.SignedPeerRecord);
    }

    private static byte[] Framed(params byte[][] protobufs)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        foreach (var protobuf in protobufs)
        {
            QuDag.P2p.Encoding.Varint.Write(output, (ulong)protobuf.Length);
            System.Buffers.BuffersExtensions.Write(output, protobuf);
        }
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void Encodes_the_known_answer_bytes_and_parses_them_back()
    {
        Assert.Equal(Convert.ToHexString(SampleBytes), Convert.ToHexString(Sample.ToProtobuf()));
        AssertSameContent(Sample, IdentifyMessage.Parse(SampleBytes));
    }

    [Fact]
    public async Task Round_trips_over_a_stream_as_one_length_prefixed_message()
    {
        var (responder, requester) = Duplex.CreatePair();
        await IdentifyProtocol.WriteAsync(responder, Sample, CancellationToken.None).WaitAsync(Bound);
        responder.Dispose();   // over a plain stream the caller ends it
        AssertSameContent(Sample, await IdentifyProtocol.ReadAsync(requester, CancellationToken.None).WaitAsync(Bound));
    }

    [Fact]
    public async Task The_wire_bytes_are_the_uvarint_length_then_the_protobuf()
    {
        var (responder, requester) = Duplex.CreatePair();
        await IdentifyProtocol.WriteAsync(responder, Sample, CancellationToken.None);
        responder.Dispose();
        using var all = new MemoryStream();
        await requester.CopyToAsync(all).WaitAsync(Bound);
        Assert.Equal(Framed(SampleBytes), all.ToArray());
        Assert.Equal(SampleBytes.Length, all.ToArray()[0]);   // 0x7C: the sample fits a one-byte prefix
    }

    [Fact]
    public async Task On_a_muxed_stream_the_responder_closes_its_write_side()
    {
        var (responder, requester) = Duplex.CreatePair();
        var muxed = new HalfClosingStream(responder);
        await IdentifyProtocol.WriteAsync(muxed, Sample, CancellationToken.None).WaitAsync(Bound);
        Assert.True(muxed.WriteClosed);
        AssertSameContent(Sample, await IdentifyProtocol.ReadAsync(requester, CancellationToken.None).WaitAsync(Bound));
    }

    [Fact]
    public async Task Round_trips_over_loopback_tcp_with_the_responder_shutting_down_its_send_side()
    {
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var accept = listener.AcceptAsync(CancellationToken.None).AsTask();
        using var requester = await TcpTransport.Default.DialAsync(listener.LocalEndPoint, Bound, CancellationToken.None);
        using var responder = await accept.WaitAsync(Bound);
        await using var responderStream = new NetworkStream(responder, ownsSocket: false);
        await IdentifyProtocol.WriteAsync(responderStream, Sample, CancellationToken.None).WaitAsync(Bound);
        responder.Shutdown(SocketShutdown.Send);   // a plain TCP stream's half-close

        await using var requesterStream = new NetworkStream(requester, ownsSocket: false);
        AssertSameContent(Sample, await IdentifyProtocol.ReadAsync(requesterStream, CancellationToken.None).WaitAsync(Bound));
    }

    [Fact]
    public async Task A_small_message_is_read_without_growing_the_first_buffer()
    {
        // Every connection reads one identify message of a few hundred bytes: the 4 KiB first buffer holds it. Asking
        // the buffer for 16 KiB per read grew it (about 20 KiB zeroed) every time, a third of a dialer's allocations.
        // A MemoryStream completes each read at once, so the whole read runs (and allocates) on this thread.
        var content = Framed(SampleBytes);
        await IdentifyProtocol.ReadAsync(new MemoryStream(content), CancellationToken.None); // warm: the JIT allocates too
        long before = GC.GetAllocatedBytesForCurrentThread();
        var read = await IdentifyProtocol.ReadAsync(new MemoryStream(content), CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        AssertSameContent(Sample, read);
        Assert.True(allocated < 8 * 1024, $"reading a {content.Length}-byte identify stream allocated {allocated} bytes");
    }

    [Fact]
    public async Task Messages_split_as_go_does_are_merged()
    {
        var first = Sample with { SignedPeerRecord = null, Protocols = ["/ipfs/id/1.0.0"], AgentVersion = "go-libp2p/0.1" };
        var second = new IdentifyMessage { SignedPeerRecord = [1, 2, 3], Protocols = ["/ipfs/ping/1.0.0"], AgentVersion = "go-libp2p/0.2" };
        var (responder, requester) = Duplex.CreatePair();
        await responder.WriteAsync(Framed(first.ToProtobuf(), second.ToProtobuf()));
        responder.Dispose();

        var merged = await IdentifyProtocol.ReadAsync(requester, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"], merged.Protocols);   // repeated fields append
        Assert.Equal("go-libp2p/0.2", merged.AgentVersion);                      // a singular field set again replaces
        Assert.Equal([1, 2, 3], merged.SignedPeerRecord);
        Assert.Equal(Key, merged.PublicKey);                                      // and one not set again stays
    }

    [Fact]
    public async Task A_stream_over_the_size_cap_is_refused_and_one_at_the_cap_is_read()
    {
        byte[] content = Framed(SampleBytes);
        var (w1, r1) = Duplex.CreatePair();
        await w1.WriteAsync(content);
        w1.Dispose();
        AssertSameContent(Sample, await IdentifyProtocol.ReadAsync(r1, content.Length, CancellationToken.None).WaitAsync(Bound));

        var (w2, r2) = Duplex.CreatePair();
        await w2.WriteAsync(content);
        w2.Dispose();
        await Assert.ThrowsAsync<P2pProtocolException>(() => IdentifyProtocol.ReadAsync(r2, content.Length - 1, CancellationToken.None).WaitAsync(Bound));
    }

    [Fact]
    public async Task A_peer_that_streams_without_end_is_cut_off_at_the_default_cap()
    {
        var (flooder, requester) = Duplex.CreatePair();
        var read = IdentifyProtocol.ReadAsync(requester, CancellationToken.None);
        var flood = Task.Run(async () =>
        {
            // A huge length prefix, then bytes that never end: the reader must stop at 64 KiB, not wait or grow.
            try
            {
                await flooder.WriteAsync((byte[])[0xFF, 0xFF, 0xFF, 0x7F]);
                for (int i = 0; i < 100; i++) await flooder.WriteAsync(new byte[4096]);
            }
            catch (Exception) { /* the reader went away */ }
        });
        var ex = await Assert.ThrowsAsync<P2pProtocolException>(() => read.WaitAsync(Bound));
        Assert.Contains("65536", ex.Message);
        requester.Dispose();
        await flood.WaitAsync(Bound);
    }

    public static TheoryData<string, byte[]> Garbage => new()
    {
        { "empty stream", [] },
        { "length past the end", [0x05, 0x0A, 0x02] },
        { "truncated varint prefix", [0x80] },
        { "field past the end", Framed([0x0A, 0x24, 0x08]) },
        { "protocols as a varint", Framed([0x18, 0x01]) },
        { "wire type 3 (group)", Framed([0x0B]) },
        { "field number 0", Framed([0x02, 0x00]) },
        { "invalid utf-8 agent", Framed([0x32, 0x02, 0xC3, 0x28]) },
        { "agent over the cap", Framed([0x32, 0x81, 0x08, .. new byte[1025]]) },
        { "protocol id over the cap", Framed([0x1A, 0x80, 0x08, .. new byte[1024]]) },
        { "truncated fixed32", Framed([0x4D, 0x01]) },
    };

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task Garbage_is_a_protocol_error(string why, byte[] content)
    {
        var (w, r) = Duplex.CreatePair();
        await w.WriteAsync(content);
        w.Dispose();
        var ex = await Assert.ThrowsAsync<P2pProtocolException>(() => IdentifyProtocol.ReadAsync(r, CancellationToken.None).WaitAsync(Bound));
        Assert.False(string.IsNullOrEmpty(ex.Message), why);
    }

    [Fact]
    public void Unknown_fields_of_every_wire_type_are_skipped()
    {
        byte[] withUnknown = [.. SampleBytes, 0x38, 0x96, 0x01, 0x4D, 1, 2, 3, 4, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5A, 0x02, 0xFF, 0xFF];
        AssertSameContent(Sample, IdentifyMessage.Parse(withUnknown));
        var empty = IdentifyMessage.Parse([]);
        Assert.Null(empty.PublicKey);
        Assert.Empty(empty.Protocols);
    }

    [Fact]
    public void MatchesPeer_compares_the_key_with_an_inline_or_a_hashed_peer_id()
    {
        using var identity = NodeIdentity.Create();
        using var other = NodeIdentity.Create();
        var message = new IdentifyMessage { PublicKey = identity.PublicKey.ToProtobuf() };
        Assert.True(message.MatchesPeer(identity.PeerId));
        Assert.False(message.MatchesPeer(other.PeerId));
        Assert.Equal(identity.PublicKey, message.GetPublicKey());

        // A key too long to inline (RSA, say) is named by its SHA-256 multihash; the key need not be parsed.
        byte[] longKey = [0x08, 0x00, 0x12, 0x40, .. new byte[64]];
        var hashed = PeerId.FromBytes([0x12, 0x20, .. SHA256.HashData(longKey)]);
        Assert.True(new IdentifyMessage { PublicKey = longKey }.MatchesPeer(hashed));
        Assert.False(message.MatchesPeer(hashed));

        Assert.False(new IdentifyMessage().MatchesPeer(identity.PeerId));
        Assert.False(message.MatchesPeer(default));
        Assert.Throws<P2pProtocolException>(() => new IdentifyMessage().GetPublicKey());
    }

    /// <summary>A muxed stream over one end of a duplex whose write side closes by ending the duplex end.</summary>
    private sealed class HalfClosingStream(Stream inner) : MuxedStream
    {
        public bool WriteClosed { get; private set; }
        public override long Id => 1;
        public override bool CanRead => true;
        public override bool CanWrite => !WriteClosed;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Reset() => inner.Dispose();

        public override ValueTask CloseWriteAsync(CancellationToken cancellationToken = default)
        {
            WriteClosed = true;
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
