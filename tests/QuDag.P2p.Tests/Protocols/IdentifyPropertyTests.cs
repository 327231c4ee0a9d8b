using CsCheck;
using QuDag.P2p.Protocols.Identify;

namespace QuDag.P2p.Tests.Protocols;

public class IdentifyPropertyTests
{
    [Fact]
    public void Arbitrary_bytes_raise_only_typed_exceptions()
        => Gen.Byte.Array[0, 600].Sample(bytes => ProtocolFuzzEntry.IdentifyMessage(bytes), iter: 5000);

    [Fact]
    public void Arbitrary_bytes_inside_a_valid_frame_raise_only_typed_exceptions()
        => Gen.Byte.Array[0, 120].Sample(body => ProtocolFuzzEntry.IdentifyMessage([(byte)body.Length, .. body]), iter: 5000);

    private static readonly Gen<string> Text = Gen.String[0, 40];
    private static readonly Gen<byte[]> Bytes = Gen.Byte.Array[0, 40];

    [Fact]
    public void Any_message_round_trips_through_its_protobuf()
        => Gen.Select(Bytes.Null(), Bytes.List[0, 4], Text.List[0, 4], Bytes.Null(), Text.Null(), Text.Null(), Bytes.Null())
            .Sample((key, addrs, protocols, observed, protocolVersion, agent, record) =>
            {
                var message = new IdentifyMessage
                {
                    PublicKey = key, ListenAddrs = addrs, Protocols = protocols, ObservedAddr = observed,
                    ProtocolVersion = protocolVersion, AgentVersion = agent, SignedPeerRecord = record,
                };
                var back = IdentifyMessage.Parse(message.ToProtobuf());
                Assert.Equal(message.PublicKey, back.PublicKey);
                Assert.Equal(message.ListenAddrs, back.ListenAddrs);
                Assert.Equal(message.Protocols, back.Protocols);
                Assert.Equal(message.ObservedAddr, back.ObservedAddr);
                Assert.Equal(message.ProtocolVersion, back.ProtocolVersion);
                Assert.Equal(message.AgentVersion, back.AgentVersion);
                Assert.Equal(message.SignedPeerRecord, back.SignedPeerRecord);
            }, iter: 1000);
}
