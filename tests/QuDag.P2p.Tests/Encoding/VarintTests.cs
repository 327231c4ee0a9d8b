using CsCheck;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Tests.Encoding;

public class VarintTests
{
    // The unsigned-varint spec's examples.
    [Theory]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "8001")]
    [InlineData(255UL, "ff01")]
    [InlineData(300UL, "ac02")]
    [InlineData(16384UL, "808001")]
    [InlineData(0UL, "00")]
    [InlineData(long.MaxValue, "ffffffffffffffff7f")]
    public void Writes_and_reads_the_spec_vectors(ulong value, string hex)
    {
        Span<byte> buffer = stackalloc byte[Varint.MaxLength];
        int n = Varint.Write(buffer, value);
        Assert.Equal(hex, Convert.ToHexStringLower(buffer[..n]));
        Assert.Equal(n, Varint.SizeOf(value));
        Assert.Equal(value, Varint.Read(Convert.FromHexString(hex), out int consumed));
        Assert.Equal(n, consumed);
    }

    [Theory]
    [InlineData("8000")]                 // 0 in two bytes
    [InlineData("ff00")]                 // 127 in two bytes
    [InlineData("818000")]               // 1 in three bytes
    public void Refuses_non_minimal_encodings(string hex)
        => Assert.Throws<P2pProtocolException>(() => Varint.Read(Convert.FromHexString(hex), out _));

    [Theory]
    [InlineData("ffffffffffffffffff01")] // 10 bytes: past the spec's 63 bits
    [InlineData("80808080808080808001")]
    [InlineData("ffffffffffffffffff")]   // 9 continuation bytes: no 9-byte varint can end here
    public void Refuses_more_than_nine_bytes(string hex)
        => Assert.Throws<P2pProtocolException>(() => Varint.Read(Convert.FromHexString(hex), out _));

    [Fact]
    public void A_truncated_varint_needs_more_bytes_and_is_an_error_when_it_must_be_complete()
    {
        Assert.Equal(0, Varint.TryRead(Convert.FromHexString("ac"), out _));
        Assert.Throws<P2pProtocolException>(() => Varint.Read(Convert.FromHexString("ac"), out _));
        Assert.Throws<P2pProtocolException>(() => Varint.Read([], out _));
    }

    [Fact]
    public void Refuses_to_write_a_value_that_needs_a_tenth_byte()
    {
        // Before the fix this wrote 10 bytes that every reader refuses.
        var buffer = new byte[16];
        Assert.Throws<ArgumentOutOfRangeException>(() => Varint.Write(buffer, Varint.MaxValue + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Varint.Write(buffer, ulong.MaxValue));
    }

    [Fact]
    public async Task Reads_from_a_stream_without_consuming_past_the_varint()
    {
        using var stream = new MemoryStream(Convert.FromHexString("ac02ff"));
        Assert.Equal(300UL, await Varint.ReadAsync(stream, CancellationToken.None));
        Assert.Equal(2, stream.Position);
        using var empty = new MemoryStream();
        Assert.Null(await Varint.ReadAsync(empty, CancellationToken.None));
        using var cut = new MemoryStream([0x80]);
        await Assert.ThrowsAsync<P2pProtocolException>(async () => await Varint.ReadAsync(cut, CancellationToken.None));
    }

    [Fact]
    public void Every_value_round_trips()
        => Gen.ULong[0, Varint.MaxValue].Sample(value =>
        {
            Span<byte> buffer = stackalloc byte[Varint.MaxLength];
            int n = Varint.Write(buffer, value);
            return Varint.Read(buffer[..n], out int consumed) == value && consumed == n && n == Varint.SizeOf(value);
        });

    [Fact]
    public void Arbitrary_bytes_only_ever_raise_a_protocol_error()
        => Gen.Byte.Array[0, 12].Sample(bytes => DecoderEntryPoints.Varint(bytes));
}
