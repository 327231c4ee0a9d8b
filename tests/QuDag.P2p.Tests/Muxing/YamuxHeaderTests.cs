using CsCheck;
using QuDag.P2p.Muxing.Yamux;

namespace QuDag.P2p.Tests.Muxing;

public class YamuxHeaderTests
{
    // Known answers from nim-libp2p's yamux header tests (written against the hashicorp spec), so our
    // encoder and a decoder of ours cannot share a byte-order bug unnoticed.
    [Theory]
    [InlineData(YamuxFrameType.Data, YamuxFlags.Syn, 1u, 100u, "000000010000000100000064")]
    [InlineData(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 5u, 1000u, "00010001000000050000" + "03E8")]
    [InlineData(YamuxFrameType.Ping, YamuxFlags.Ack, 0u, 0xDEADBEEFu, "00020002" + "00000000" + "DEADBEEF")]
    [InlineData(YamuxFrameType.GoAway, YamuxFlags.None, 0u, 1u, "000300000000000000000001")]
    [InlineData(YamuxFrameType.Data, YamuxFlags.Fin | YamuxFlags.Rst, 0x01020304u, 0x05060708u, "0000000C0102030405060708")]
    internal void Headers_encode_to_the_spec_bytes_and_decode_back(YamuxFrameType type, YamuxFlags flags, uint id, uint length, string hex)
    {
        var header = new YamuxHeader(type, flags, id, length);
        byte[] encoded = new byte[YamuxHeader.Size];
        header.Write(encoded);
        Assert.Equal(Convert.FromHexString(hex), encoded);
        Assert.Equal(header, YamuxHeader.Read(encoded));
    }

    [Theory]
    [InlineData("010000000000000000000000", "version")]
    [InlineData("00FF00000000000000000000", "type")]
    [InlineData("000400000000000000000000", "type")]
    [InlineData("0000000000", "12 bytes")]
    public void Malformed_headers_are_protocol_errors(string hex, string mention)
    {
        var error = Assert.Throws<P2pProtocolException>(() => YamuxHeader.Read(Convert.FromHexString(hex)));
        Assert.Contains(mention, error.Message);
    }

    [Fact]
    public void The_fuzz_entry_decodes_any_bytes_raising_nothing_but_protocol_errors()
    {
        Gen.Byte.Array[0, 200].Sample(bytes => YamuxFuzzEntry.Headers(bytes), iter: 5000);
    }
}
