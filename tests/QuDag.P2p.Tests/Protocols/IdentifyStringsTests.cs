using QuDag.P2p.Protocols.Identify;

namespace QuDag.P2p.Tests.Protocols;

public class IdentifyStringsTests
{
    private static IdentifyMessage Message(params string[] protocols) => new()
    {
        Protocols = protocols,
        ProtocolVersion = "/qudag/1.0.0",
        AgentVersion = "rust-libp2p/0.53.2",
    };

    [Fact]
    public void Two_connections_identify_messages_share_their_short_strings()
    {
        var bytes = Message("/ipfs/ping/1.0.0", "/ipfs/id/1.0.0", "/qudag/req/1.0.0").ToProtobuf();
        var first = IdentifyMessage.Parse(bytes);
        var second = IdentifyMessage.Parse(bytes);
        Assert.Equal(first.Protocols, second.Protocols);
        for (int i = 0; i < first.Protocols.Count; i++)
            Assert.Same(first.Protocols[i], second.Protocols[i]);
        Assert.Same(first.ProtocolVersion, second.ProtocolVersion);
        Assert.Same(first.AgentVersion, second.AgentVersion);
        Assert.Equal("/qudag/1.0.0", second.ProtocolVersion);
    }

    [Fact]
    public void Long_strings_decode_as_usual_and_are_not_kept()
    {
        string longName = "/" + new string('p', IdentifyStrings.MaxLength) + "/1.0.0";
        string unicode = "/ü/протокол/1.0.0"; // multi-byte UTF-8, short enough to share
        var bytes = Message(longName, unicode).ToProtobuf();
        var first = IdentifyMessage.Parse(bytes);
        var second = IdentifyMessage.Parse(bytes);
        Assert.Equal([longName, unicode], first.Protocols);
        Assert.NotSame(first.Protocols[0], second.Protocols[0]);
        Assert.Same(first.Protocols[1], second.Protocols[1]);
    }

    [Fact]
    public void Invalid_UTF8_is_still_a_protocol_error_short_or_long()
    {
        foreach (int length in new[] { 3, IdentifyStrings.MaxLength + 5 })
        {
            byte[] name = [.. Enumerable.Repeat((byte)'a', length - 1), 0xFF];
            byte[] lengthPrefix = name.Length < 0x80 ? [(byte)name.Length] : [(byte)(name.Length | 0x80), (byte)(name.Length >> 7)];
            byte[] protobuf = [0x1A, .. lengthPrefix, .. name]; // field 3 (protocols), length-delimited
            Assert.Throws<P2pProtocolException>(() => IdentifyMessage.Parse(protobuf));
        }
    }

    [Fact]
    public void Strings_decoded_at_once_on_many_threads_are_equal_and_whole()
    {
        var names = Enumerable.Range(0, 64).Select(i => $"/race/{i}/1.0.0").ToArray();
        var bytes = Message(names).ToProtobuf();
        var parsed = new IdentifyMessage[16];
        Parallel.For(0, parsed.Length, i => parsed[i] = IdentifyMessage.Parse(bytes));
        foreach (var message in parsed)
        {
            Assert.Equal(names, message.Protocols);
            for (int i = 0; i < names.Length; i++)
                Assert.Same(parsed[0].Protocols[i], message.Protocols[i]);
        }
    }
}
