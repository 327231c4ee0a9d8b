using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Tests.Support;
using QuDag.P2p.Transport.Tcp;
using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.P2p.Tests.Multistream;

using Encoding = System.Text.Encoding;

public class MultistreamTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    // The spec's framing: "/multistream/1.0.0\n" is 19 = 0x13 bytes long.
    private static readonly byte[] Header = [0x13, .. "/multistream/1.0.0\n"u8];
    private static readonly byte[] Na = [0x03, .. "na\n"u8];

    private static byte[] Message(string text) => [(byte)(Encoding.UTF8.GetByteCount(text) + 1), .. Encoding.UTF8.GetBytes(text + "\n")];

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Bound);
        return buffer;
    }

    private static async Task AssertNothingMoreAsync(Stream stream)
    {
        // The peer closed: end of stream must be next, proving no extra bytes were written.
        Assert.Equal(0, await stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Bound));
    }

    [Fact]
    public async Task The_dialer_sends_header_and_first_proposal_in_one_write_then_moves_on_after_na()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var select = MultistreamSelect.SelectAsync(dialer, ["/noise", "/tls/1.0.0"], CancellationToken.None);

        // The first write carries both messages: this is what the listener sees before it answers anything.
        Assert.Equal((byte[])[.. Header, 0x07, .. "/noise\n"u8], await ReadExactlyAsync(listener, Header.Length + 8));

        await listener.WriteAsync((byte[])[.. Header, .. Na]);
        Assert.Equal([0x0b, .. "/tls/1.0.0\n"u8], await ReadExactlyAsync(listener, 12));
        await listener.WriteAsync(Message("/tls/1.0.0"));

        Assert.Equal("/tls/1.0.0", await select.WaitAsync(Bound));
        dialer.Dispose();
        await AssertNothingMoreAsync(listener);
    }

    [Fact]
    public async Task The_listener_answers_its_header_then_na_then_the_accepted_protocol()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/yamux/1.0.0"], CancellationToken.None);

        await dialer.WriteAsync((byte[])[.. Header, .. Message("/mplex/6.7.0"), .. Message("/yamux/1.0.0")]);

        Assert.Equal("/yamux/1.0.0", await handle.WaitAsync(Bound));
        Assert.Equal((byte[])[.. Header, .. Na, 0x0d, .. "/yamux/1.0.0\n"u8], await ReadExactlyAsync(dialer, Header.Length + Na.Length + 14));
        listener.Dispose();
        await AssertNothingMoreAsync(dialer);
    }

    [Fact]
    public async Task Both_roles_agree_and_leave_the_following_bytes_on_the_stream()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, p => p == "/ipfs/ping/1.0.0", CancellationToken.None);
        var select = MultistreamSelect.SelectAsync(dialer, ["/unknown/1", "/ipfs/ping/1.0.0"], CancellationToken.None);

        Assert.Equal("/ipfs/ping/1.0.0", await select.WaitAsync(Bound));
        await dialer.WriteAsync("after"u8.ToArray());
        Assert.Equal("/ipfs/ping/1.0.0", await handle.WaitAsync(Bound));
        Assert.Equal("after"u8.ToArray(), await ReadExactlyAsync(listener, 5));
    }

    [Fact]
    public async Task Both_roles_agree_over_loopback_tcp()
    {
        await using var server = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var accept = server.AcceptAsync(CancellationToken.None).AsTask();
        using var client = await TcpTransport.Default.DialAsync(server.LocalEndPoint, Bound, CancellationToken.None);
        using var accepted = await accept.WaitAsync(Bound);
        await using var dialerStream = new NetworkStream(client, ownsSocket: false);
        await using var listenerStream = new NetworkStream(accepted, ownsSocket: false);

        var handle = MultistreamSelect.HandleAsync(listenerStream, ["/noise"], CancellationToken.None);
        Assert.Equal("/noise", await MultistreamSelect.SelectAsync(dialerStream, ["/tls/1.0.0", "/noise"], CancellationToken.None).WaitAsync(Bound));
        Assert.Equal("/noise", await handle.WaitAsync(Bound));

        // Noise's first frame follows at once; the listener must not have swallowed any of it.
        await dialerStream.WriteAsync(new byte[] { 0, 32 });
        Assert.Equal(new byte[] { 0, 32 }, await ReadExactlyAsync(listenerStream, 2));
    }

    [Fact]
    public async Task None_accepted_is_ProtocolNotSupported_for_the_dialer_and_a_protocol_error_for_the_listener_when_it_leaves()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/yamux/1.0.0"], CancellationToken.None);

        var ex = await Assert.ThrowsAsync<ProtocolNotSupportedException>(
            () => MultistreamSelect.SelectAsync(dialer, ["/a", "/b"], CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(["/a", "/b"], ex.Protocols);

        dialer.Dispose();
        await Assert.ThrowsAsync<P2pProtocolException>(() => handle.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_listener_answers_ls_na_and_keeps_negotiating()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/noise"], CancellationToken.None);
        await dialer.WriteAsync((byte[])[.. Header, .. Message("ls"), .. Message("/noise")]);
        Assert.Equal("/noise", await handle.WaitAsync(Bound));
        Assert.Equal((byte[])[.. Header, .. Na, .. Message("/noise")], await ReadExactlyAsync(dialer, Header.Length + Na.Length + 8));
    }

    [Fact]
    public async Task A_listener_refuses_a_dialer_that_proposes_more_than_the_round_cap()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/noise"], CancellationToken.None);
        var proposals = new List<byte>(Header);
        for (int i = 0; i <= MultistreamSelect.MaxRounds; i++)
            proposals.AddRange(Message($"/p/{i}"));
        await dialer.WriteAsync(proposals.ToArray());

        var ex = await Assert.ThrowsAsync<P2pProtocolException>(() => handle.WaitAsync(Bound));
        Assert.Contains("more than 32", ex.Message);
        // Exactly MaxRounds answers went out before it gave up.
        Assert.Equal((byte[])[.. Header, .. Enumerable.Repeat(Na, MultistreamSelect.MaxRounds).SelectMany(x => x)],
            await ReadExactlyAsync(dialer, Header.Length + Na.Length * MultistreamSelect.MaxRounds));
    }

    [Fact]
    public async Task A_proposal_of_exactly_1024_bytes_is_answered_and_one_byte_more_is_refused()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/noise"], CancellationToken.None);
        string longest = "/" + new string('x', 1022);               // 1023 bytes + "\n" = 1024
        await dialer.WriteAsync((byte[])[.. Header, 0x80, 0x08, .. Encoding.ASCII.GetBytes(longest + "\n")]);
        Assert.Equal((byte[])[.. Header, .. Na], await ReadExactlyAsync(dialer, Header.Length + Na.Length));

        await dialer.WriteAsync((byte[])[0x81, 0x08]);                 // 1025: refused before its body arrives
        var ex = await Assert.ThrowsAsync<P2pProtocolException>(() => handle.WaitAsync(Bound));
        Assert.Contains("1025", ex.Message);
    }

    public static TheoryData<string, byte[]> MalformedDialerBytes => new()
    {
        { "wrong header", [0x13, .. "/multistream/2.0.0\n"u8] },
        { "empty message", [.. Header, 0x00] },
        { "newline only", [.. Header, 0x01, (byte)'\n'] },
        { "no trailing newline", [.. Header, 0x06, .. "/noise"u8] },
        { "newline inside", [.. Header, 0x04, (byte)'a', (byte)'\n', (byte)'b', (byte)'\n'] },
        { "invalid utf-8", [.. Header, 0x03, 0xC3, 0x28, (byte)'\n'] },
        { "non-minimal varint", [.. Header, 0x87, 0x00] },
        { "varint too long", [.. Header, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01] },
        { "end before header", [] },
        { "end inside varint", [0x80] },
        { "end inside header", [0x13, .. "/multi"u8] },
        { "end before proposal", [.. Header] },
    };

    [Theory]
    [MemberData(nameof(MalformedDialerBytes))]
    public async Task A_listener_fails_typed_and_promptly_on_malformed_or_truncated_input(string why, byte[] input)
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/noise"], CancellationToken.None);
        await dialer.WriteAsync(input);
        dialer.Dispose();
        var ex = await Assert.ThrowsAsync<P2pProtocolException>(() => handle.WaitAsync(Bound));
        Assert.False(string.IsNullOrEmpty(ex.Message), why);
    }

    [Fact]
    public async Task A_dialer_rejects_an_answer_that_is_neither_its_proposal_nor_na()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var select = MultistreamSelect.SelectAsync(dialer, ["/noise"], CancellationToken.None);
        await listener.WriteAsync((byte[])[.. Header, .. Message("/tls/1.0.0")]);
        var ex = await Assert.ThrowsAsync<P2pProtocolException>(() => select.WaitAsync(Bound));
        Assert.Contains("/tls/1.0.0", ex.Message);
    }

    [Fact]
    public async Task A_dialer_rejects_a_wrong_header_and_a_listener_that_leaves()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var select = MultistreamSelect.SelectAsync(dialer, ["/noise"], CancellationToken.None);
        await listener.WriteAsync(Message("/multistream/0.9"));
        await Assert.ThrowsAsync<P2pProtocolException>(() => select.WaitAsync(Bound));

        (dialer, listener) = Duplex.CreatePair();
        select = MultistreamSelect.SelectAsync(dialer, ["/noise"], CancellationToken.None);
        await listener.WriteAsync(Header);
        listener.Dispose();
        await Assert.ThrowsAsync<P2pProtocolException>(() => select.WaitAsync(Bound));
    }

    [Fact]
    public async Task Both_roles_stop_when_cancelled_while_the_remote_is_silent()
    {
        using var cts = new CancellationTokenSource();
        var (silentDialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/noise"], cts.Token);
        Assert.Equal(Header, await ReadExactlyAsync(silentDialer, Header.Length));      // now it waits for ours

        var (dialer, silentListener) = Duplex.CreatePair();
        var select = MultistreamSelect.SelectAsync(dialer, ["/noise"], cts.Token);
        Assert.Equal(Header.Length + 8, (await ReadExactlyAsync(silentListener, Header.Length + 8)).Length); // now it waits for an answer

        Assert.False(handle.IsCompleted || select.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => handle.WaitAsync(Bound));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => select.WaitAsync(Bound));
    }

    [Fact]
    public async Task Bad_arguments_are_refused_before_anything_is_written()
    {
        var (dialer, _) = Duplex.CreatePair();
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, [], CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, ["/a\nb"], CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, ["/" + new string('x', 1023)], CancellationToken.None));
    }

    [Fact]
    public async Task A_lazy_dialer_sends_its_data_before_the_answer_and_confirms_on_its_first_read()
    {
        var (dialer, listener) = Duplex.CreatePair();
        await MultistreamSelect.SelectLazyAsync(dialer, "/ipfs/ping/1.0.0", CancellationToken.None).WaitAsync(Bound);
        await dialer.WriteAsync("data"u8.ToArray());    // before any answer: the round trip saved

        Assert.Equal("/ipfs/ping/1.0.0", await MultistreamSelect.HandleAsync(listener, ["/ipfs/ping/1.0.0"], CancellationToken.None).WaitAsync(Bound));
        Assert.Equal("data"u8.ToArray(), await ReadExactlyAsync(listener, 4));
        await listener.WriteAsync("echo"u8.ToArray());

        await MultistreamSelect.ConfirmLazyAsync(dialer, "/ipfs/ping/1.0.0", CancellationToken.None).WaitAsync(Bound);
        Assert.Equal("echo"u8.ToArray(), await ReadExactlyAsync(dialer, 4));
    }

    [Fact]
    public async Task A_lazy_dialer_sees_a_refusal_as_ProtocolNotSupported_on_confirmation()
    {
        var (dialer, listener) = Duplex.CreatePair();
        await MultistreamSelect.SelectLazyAsync(dialer, "/ipfs/ping/1.0.0", CancellationToken.None);
        Assert.Equal((byte[])[.. Header, .. Message("/ipfs/ping/1.0.0")], await ReadExactlyAsync(listener, Header.Length + 18));
        await listener.WriteAsync((byte[])[.. Header, .. Na]);
        var ex = await Assert.ThrowsAsync<ProtocolNotSupportedException>(
            () => MultistreamSelect.ConfirmLazyAsync(dialer, "/ipfs/ping/1.0.0", CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(["/ipfs/ping/1.0.0"], ex.Protocols);
    }

    [Fact]
    public async Task A_listener_copes_with_input_that_arrives_one_byte_at_a_time()
    {
        var (dialer, listener) = Duplex.CreatePair();
        var handle = MultistreamSelect.HandleAsync(listener, ["/noise"], CancellationToken.None);
        foreach (byte b in (byte[])[.. Header, .. Message("/tls/1.0.0"), .. Message("/noise"), 0x42])
        {
            await dialer.WriteAsync(new[] { b });
            await dialer.FlushAsync();
        }
        Assert.Equal("/noise", await handle.WaitAsync(Bound));
        Assert.Equal([0x42], await ReadExactlyAsync(listener, 1));
    }
}
