using System.Net;
using System.Net.Sockets;
using CsCheck;
using QuDag.P2p.Encoding;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Tests.Identity;

public class MultiaddrTests
{
    private const string Qm = "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC";

    // rust-multiaddr's tests/lib.rs vectors (text <-> hex), those within what we speak; dns* by the spec's rule.
    [Theory]
    [InlineData("/ip4/1.2.3.4", "0401020304")]
    [InlineData("/ip4/0.0.0.0", "0400000000")]
    [InlineData("/ip6/::1", "2900000000000000000000000000000001")]
    [InlineData("/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21", "29260100094f819700803eca6566e80c21")]
    [InlineData("/tcp/0", "060000")]
    [InlineData("/tcp/1234", "0604d2")]
    [InlineData("/tcp/65535", "06ffff")]
    [InlineData("/p2p/" + Qm, "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b")]
    [InlineData("/p2p/" + Qm + "/tcp/1234", "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b0604d2")]
    [InlineData("/ip4/127.0.0.1/tcp/1234", "047f0000010604d2")]
    [InlineData("/ip4/127.0.0.1/p2p/" + Qm, "047f000001a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b")]
    [InlineData("/ip4/127.0.0.1/p2p/" + Qm + "/tcp/1234", "047f000001a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b0604d2")]
    [InlineData("/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb")]
    [InlineData("/dns6/example.com/tcp/443", "370b6578616d706c652e636f6d0601bb")]
    [InlineData("/dns/example.com/tcp/443", "350b6578616d706c652e636f6d0601bb")]
    public void Text_and_bytes_match_the_known_vectors(string text, string hex)
    {
        var fromText = Multiaddr.Parse(text);
        Assert.Equal(hex, Convert.ToHexStringLower(fromText.ToBytes()));
        Assert.Equal(text, fromText.ToString());
        var fromBytes = Multiaddr.FromBytes(Convert.FromHexString(hex));
        Assert.Equal(text, fromBytes.ToString());
        Assert.Equal(fromText, fromBytes);
        Assert.Equal(fromText.GetHashCode(), fromBytes.GetHashCode());
    }

    [Fact]
    public void The_old_name_ipfs_is_read_and_written_as_p2p()
    {
        var address = Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001/ipfs/" + Qm);
        Assert.Equal("/ip4/1.2.3.4/tcp/4001/p2p/" + Qm, address.ToString());
        Assert.Equal(PeerId.Parse(Qm), address.PeerId);
    }

    [Theory]
    [InlineData("/udp/1234", "/udp")]
    [InlineData("/ip4/1.2.3.4/udp/4001/quic-v1", "/udp")]
    [InlineData("/ip4/1.2.3.4/tcp/4001/ws", "/ws")]
    [InlineData("/ip4/1.2.3.4/tcp/443/wss", "/wss")]
    [InlineData("/ip4/1.2.3.4/tcp/4001/p2p/" + Qm + "/p2p-circuit", "/p2p-circuit")]
    [InlineData("/ip4/1.2.3.4/tcp/443/tls/http", "/tls")]
    [InlineData("/quic-v1", "/quic-v1")]
    [InlineData("/webtransport", "/webtransport")]
    [InlineData("/noise", "/noise")]
    public void Other_transports_are_not_supported_and_named(string text, string named)
    {
        var ex = Assert.Throws<TransportNotSupportedException>(() => Multiaddr.Parse(text));
        Assert.Contains($"transport {named} is not supported; QuDag.PS speaks /tcp only", ex.Message);
        Assert.False(Multiaddr.TryParse(text, out _, out string? error));
        Assert.Contains(named, error);
    }

    [Theory]
    [InlineData("/dnsaddr/bootstrap.libp2p.io", "/dnsaddr")]
    [InlineData("/ip6/fe80::1/ip6zone/eth0/tcp/1", "/ip6zone")]
    [InlineData("/unix/tmp", "/unix")]
    public void Other_address_kinds_are_not_supported_and_named(string text, string named)
    {
        var ex = Assert.Throws<TransportNotSupportedException>(() => Multiaddr.Parse(text));
        Assert.Contains($"address {named} is not supported", ex.Message);
    }

    [Theory]
    [InlineData("910204d2", "/udp")]                // rust-multiaddr: /udp/1234
    [InlineData("0604d2e003", "/http")]             // /tcp/1234/http
    [InlineData("047f0000010604d2dd03", "/ws")]     // /ip4/127.0.0.1/tcp/1234/ws
    [InlineData("a202", "/p2p-circuit")]
    public void Other_transports_in_bytes_are_not_supported_and_named(string hex, string named)
    {
        var ex = Assert.Throws<TransportNotSupportedException>(() => Multiaddr.FromBytes(Convert.FromHexString(hex)));
        Assert.Contains($"{named} is not supported", ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("ip4/1.2.3.4")]
    [InlineData("/ip4")]
    [InlineData("/ip4/::1")]
    [InlineData("/ip4/fdpsofodsajfdoisa")]
    [InlineData("/ip4/1")]                    // IPAddress.Parse reads this as 0.0.0.1
    [InlineData("/ip4/01.2.3.4")]
    [InlineData("/ip4/256.1.1.1")]
    [InlineData("/ip6")]
    [InlineData("/ip6/1.2.3.4")]
    [InlineData("/ip6/fe80::1%eth0")]
    [InlineData("/ip6/[::1]")]
    [InlineData("/tcp")]
    [InlineData("/tcp/65536")]
    [InlineData("/tcp/-1")]
    [InlineData("/tcp/+80")]
    [InlineData("/tcp/jfodsajfidosajfoidsa")]
    [InlineData("/ip4/127.0.0.1/tcp")]
    [InlineData("/ip4/127.0.0.1/p2p")]
    [InlineData("/ip4/127.0.0.1/p2p/tcp")]
    [InlineData("/ip4/127.0.0.1//tcp/1")]
    [InlineData("/dns4//tcp/1")]
    [InlineData("/foo/bar")]
    [InlineData("/p2p/QmInvalid")]
    public void Malformed_or_unknown_text_is_a_format_error(string text)
    {
        Assert.Throws<FormatException>(() => Multiaddr.Parse(text));
        Assert.False(Multiaddr.TryParse(text, out _, out string? error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Theory]
    [InlineData("")]
    [InlineData("04010203")]              // ip4 cut short
    [InlineData("0604")]                  // tcp cut short
    [InlineData("360b6578616d706c65")]    // dns4 length past the end
    [InlineData("3600")]                  // empty host
    [InlineData("36022f61")]              // host with '/'
    [InlineData("3602c328")]              // host that is not UTF-8
    [InlineData("a50303010203")]          // p2p value not a multihash of a key
    [InlineData("ff7f")]                  // unknown code 16383
    [InlineData("80")]                    // truncated code varint
    public void Malformed_or_unknown_bytes_are_a_protocol_error(string hex)
        => Assert.Throws<P2pProtocolException>(() => Multiaddr.FromBytes(Convert.FromHexString(hex)));

    [Fact]
    public void Oversized_input_is_refused_before_it_is_read()
    {
        Assert.Throws<P2pProtocolException>(() => Multiaddr.FromBytes(new byte[Multiaddr.MaxBytes + 1]));
        Assert.Throws<FormatException>(() => Multiaddr.Parse("/dns/" + new string('a', Multiaddr.MaxTextLength)));
    }

    [Fact]
    public void A_trailing_slash_is_tolerated()
        => Assert.Equal(Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"), Multiaddr.Parse("/ip4/1.2.3.4/tcp/1/"));

    [Fact]
    public void End_points_convert_both_ways()
    {
        var v4 = Multiaddr.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 4001));
        Assert.Equal("/ip4/127.0.0.1/tcp/4001", v4.ToString());
        Assert.True(v4.TryGetEndPoint(out var endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4001), endPoint);

        var v6 = Multiaddr.FromEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, 5));
        Assert.Equal("/ip6/::1/tcp/5", v6.ToString());

        // A dual-mode socket reports IPv4 peers as v4-mapped v6; go-multiaddr writes them as ip4.
        var mapped = Multiaddr.FromEndPoint(new IPEndPoint(IPAddress.Parse("::ffff:10.0.0.1"), 7));
        Assert.Equal("/ip4/10.0.0.1/tcp/7", mapped.ToString());

        foreach (var (family, name) in new[] { (AddressFamily.Unspecified, "dns"), (AddressFamily.InterNetwork, "dns4"), (AddressFamily.InterNetworkV6, "dns6") })
        {
            var dns = Multiaddr.FromEndPoint(new DnsEndPoint("node.example", 4001, family));
            Assert.Equal($"/{name}/node.example/tcp/4001", dns.ToString());
            Assert.True(dns.TryGetEndPoint(out var dnsEndPoint));
            var back = Assert.IsType<DnsEndPoint>(dnsEndPoint);
            Assert.Equal(("node.example", 4001, family), (back.Host, back.Port, back.AddressFamily));
        }
        Assert.Equal("/ip4/1.2.3.4/tcp/1", Multiaddr.FromEndPoint(new DnsEndPoint("1.2.3.4", 1)).ToString());
    }

    [Theory]
    [InlineData("/ip4/1.2.3.4")]
    [InlineData("/tcp/1")]
    [InlineData("/ip4/1.2.3.4/ip4/1.2.3.4")]
    [InlineData("/ip4/1.2.3.4/tcp/1/tcp/2")]
    [InlineData("/p2p/" + Qm)]
    [InlineData("/ip4/1.2.3.4/p2p/" + Qm + "/tcp/1")]
    public void Only_host_then_tcp_then_an_optional_peer_id_is_dialable(string text)
        => Assert.False(Multiaddr.Parse(text).TryGetEndPoint(out _));

    [Fact]
    public void The_peer_id_is_added_replaced_and_removed()
    {
        using var a = NodeIdentity.Create();
        using var b = NodeIdentity.Create();
        var bare = Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001");
        Assert.Null(bare.PeerId);
        var withA = bare.WithPeerId(a.PeerId);
        Assert.Equal($"/ip4/127.0.0.1/tcp/4001/p2p/{a.PeerId}", withA.ToString());
        Assert.Equal(a.PeerId, withA.PeerId);
        Assert.True(withA.TryGetEndPoint(out var endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4001), endPoint);
        Assert.Same(withA, withA.WithPeerId(a.PeerId));
        Assert.Equal(b.PeerId, withA.WithPeerId(b.PeerId).PeerId);
        Assert.Equal(bare, withA.WithoutPeerId());
        Assert.Same(bare, bare.WithoutPeerId());
        Assert.Equal(3, withA.Components.Length);
        Assert.Equal(4001, withA.Components[1].Port);
        Assert.Equal(IPAddress.Loopback, withA.Components[0].Address);
    }

    [Fact]
    public void Equality_is_by_value()
    {
        var a = Multiaddr.Parse("/ip6/0:0:0:0:0:0:0:1/tcp/1");
        var b = Multiaddr.Parse("/ip6/::1/tcp/1");
        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Multiaddr.Parse("/ip6/::1/tcp/2"));
        Assert.Single(new HashSet<Multiaddr> { a, b });
    }

    // ---- properties ----

    private static readonly Gen<MultiaddrComponent> GenHost = Gen.OneOf(
        Gen.Byte.Array[4].Select(b => MultiaddrComponent.Ip(new IPAddress(b))),
        Gen.Byte.Array[16].Select(b => MultiaddrComponent.Ip(new IPAddress(b))),
        Gen.Select(Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-.é"], 1, 40], Gen.Int[0, 2])
            .Select((name, family) => MultiaddrComponent.Dns(name, family switch { 0 => AddressFamily.Unspecified, 1 => AddressFamily.InterNetwork, _ => AddressFamily.InterNetworkV6 })));

    private static readonly Gen<Multiaddr> GenAddress =
        Gen.Select(GenHost, Gen.Int[0, 65535], Gen.Byte.Array[32], Gen.Bool).Select((host, port, seed, withPeer) =>
        {
            using var identity = NodeIdentity.FromEd25519Seed(seed);
            return withPeer
                ? Multiaddr.Create(host, MultiaddrComponent.Tcp(port), MultiaddrComponent.P2p(identity.PeerId))
                : Multiaddr.Create(host, MultiaddrComponent.Tcp(port));
        });

    [Fact]
    public void Generated_addresses_round_trip_through_text_and_bytes()
        => GenAddress.Sample(address =>
            Multiaddr.Parse(address.ToString()).Equals(address)
            && Multiaddr.FromBytes(address.ToBytes()).Equals(address)
            && Multiaddr.FromBytes(address.ToBytes()).ToString() == address.ToString()
            && address.TryGetEndPoint(out _));

    [Fact]
    public void Arbitrary_bytes_only_ever_raise_typed_errors()
        => Gen.Byte.Array[0, 64].Sample(bytes => DecoderEntryPoints.MultiaddrBytes(bytes));

    [Fact]
    public void Mutated_valid_bytes_only_ever_raise_typed_errors()
        => Gen.Select(GenAddress, Gen.Int[0, 1 << 16], Gen.Byte).Sample((address, at, value) =>
        {
            byte[] bytes = address.ToBytes();
            bytes[at % bytes.Length] = value;
            DecoderEntryPoints.MultiaddrBytes(bytes);
            DecoderEntryPoints.MultiaddrBytes(bytes.AsSpan(0, at % bytes.Length));
        });

    [Fact]
    public void Arbitrary_text_only_ever_raises_typed_errors()
        => Gen.String[Gen.Char["/ip46tcpdnsp2fu:.0123456789abQmz%[]"], 0, 40].Sample(text =>
            DecoderEntryPoints.MultiaddrText(System.Text.Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void Mutated_valid_text_only_ever_raises_typed_errors()
        => Gen.Select(GenAddress, Gen.Int[0, 1 << 16], Gen.Char["/.:0a9z%é"]).Sample((address, at, c) =>
        {
            char[] text = address.ToString().ToCharArray();
            text[at % text.Length] = c;
            DecoderEntryPoints.MultiaddrText(System.Text.Encoding.UTF8.GetBytes(text));
        });

    [Fact]
    public void A_binary_address_whose_text_would_exceed_the_text_limit_is_refused()
    {
        // Found by the multiaddr-bytes fuzz target: 200 /ip4 components are 1,000 bytes (under MaxBytes) but 2,400
        // characters as text (over 2,048), so the address was read yet could not be parsed back from its own text.
        var bytes = new List<byte>();
        for (int i = 0; i < 200; i++)
            bytes.AddRange([0x04, 0x04, 0x04, 0x04, 0x04]); // /ip4/4.4.4.4
        Assert.InRange(bytes.Count, 1, Multiaddr.MaxBytes);

        var ex = Assert.Throws<P2p.P2pProtocolException>(() => Multiaddr.FromBytes(bytes.ToArray()));
        Assert.Contains("text form", ex.Message);
        DecoderEntryPoints.MultiaddrBytes(bytes.ToArray()); // the fuzz entry point now sees only the typed refusal
    }
}
