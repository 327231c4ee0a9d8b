using CsCheck;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Tests.Encoding;

public class Base58Tests
{
    // The base58 IETF draft (draft-msporny-base58) examples.
    [Theory]
    [InlineData("48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U")]
    [InlineData("54686520717569636b2062726f776e20666f78206a756d7073206f76657220746865206c617a7920646f672e", "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z")]
    [InlineData("0000287fb4cd", "11233QC4")]
    [InlineData("", "")]
    [InlineData("00", "1")]
    public void Encodes_and_decodes_the_draft_vectors(string hex, string text)
    {
        Assert.Equal(text, Base58.Encode(Convert.FromHexString(hex)));
        Assert.Equal(hex, Convert.ToHexStringLower(Base58.Decode(text)));
    }

    [Theory]
    [InlineData("0OIl")]
    [InlineData("abc!")]
    [InlineData("é")]
    public void Refuses_characters_outside_the_alphabet(string text)
    {
        Assert.False(Base58.TryDecode(text, out _));
        Assert.Throws<FormatException>(() => Base58.Decode(text));
    }

    [Fact]
    public void Every_byte_string_round_trips()
        => Gen.Byte.Array[0, 64].Sample(bytes => Base58.Decode(Base58.Encode(bytes)).AsSpan().SequenceEqual(bytes));
}
