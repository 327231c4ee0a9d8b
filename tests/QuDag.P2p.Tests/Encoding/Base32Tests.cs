using CsCheck;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Tests.Encoding;

public class Base32Tests
{
    // RFC 4648 section 10, in multibase's lower case and without padding.
    [Theory]
    [InlineData("", "")]
    [InlineData("f", "my")]
    [InlineData("fo", "mzxq")]
    [InlineData("foo", "mzxw6")]
    [InlineData("foob", "mzxw6yq")]
    [InlineData("fooba", "mzxw6ytb")]
    [InlineData("foobar", "mzxw6ytboi")]
    public void Encodes_and_decodes_the_rfc_vectors(string plain, string text)
    {
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(plain);
        Assert.Equal(text, Base32.Encode(bytes));
        Assert.Equal(bytes, Base32.Decode(text));
    }

    [Theory]
    [InlineData("MZXW6")]      // upper case is multibase 'B', not 'b'
    [InlineData("my======")]   // padding
    [InlineData("m")]          // 1, 3 or 6 characters cannot end on a byte
    [InlineData("mzx")]
    [InlineData("mzxw6y")]
    [InlineData("mz")]         // non-zero padding bits: "my" is the canonical text of "f"
    [InlineData("my1")]
    [InlineData("m8")]
    public void Refuses_non_canonical_text(string text)
    {
        Assert.False(Base32.TryDecode(text, out _));
        Assert.Throws<FormatException>(() => Base32.Decode(text));
    }

    [Fact]
    public void Every_byte_string_round_trips()
        => Gen.Byte.Array[0, 64].Sample(bytes => Base32.Decode(Base32.Encode(bytes)).AsSpan().SequenceEqual(bytes));

    [Fact]
    public void Whatever_it_accepts_re_encodes_to_the_same_text()
        => Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz234567A=1"], 0, 24].Sample(text =>
            !Base32.TryDecode(text, out var bytes) || Base32.Encode(bytes) == text);
}
