using QuDag.Network.Messaging;

namespace QuDag.Network.Tests.Messaging;

/// <summary>
/// Known-answer vectors for /qudag/req/1.0.0's body, so the codec cannot agree with a test helper on a shared mistake.
/// The empty-payload vector is what js's cborg writes for <c>new Map([['request_id','1'],['payload',[]]])</c> (checked
/// with tests/interop's node) and what rust-libp2p's cbor codec writes through serde for an empty <c>Vec&lt;u8&gt;</c>:
/// a sequence of length 0, the empty array 0x80.
/// </summary>
public sealed class QuDagRequestCodecTests
{
    // {"request_id": "1", "payload": []}
    private const string EmptyPayload = "a26a726571756573745f69646131677061796c6f616480";

    // {"request_id": "1", "payload": [1, 24, 255]}: 24 and up take a second byte (0x18 xx).
    private const string ThreeBytes = "a26a726571756573745f69646131677061796c6f61648301181818ff";

    [Fact]
    public void Encodes_an_empty_payload_as_the_empty_array()
    {
        Assert.Equal(EmptyPayload, Convert.ToHexStringLower(QuDagRequestCodec.Encode("1", [])));
    }

    [Fact]
    public void Decodes_an_empty_payload()
    {
        var (id, payload) = QuDagRequestCodec.Decode(Convert.FromHexString(EmptyPayload));
        Assert.Equal("1", id);
        Assert.Empty(payload);
    }

    [Theory]
    [InlineData("a26a726571756573745f69646131677061796c6f61649fff")] // an indefinite-length empty array
    [InlineData("a26a726571756573745f69646131677061796c6f616440")]   // an empty byte string (serde_bytes)
    public void Decodes_the_other_empty_forms(string hex)
    {
        Assert.Empty(QuDagRequestCodec.Decode(Convert.FromHexString(hex)).Payload);
    }

    [Fact]
    public void Round_trips_bytes_as_an_array_of_uints()
    {
        Assert.Equal(ThreeBytes, Convert.ToHexStringLower(QuDagRequestCodec.Encode("1", [1, 24, 255])));
        Assert.Equal(new byte[] { 1, 24, 255 }, QuDagRequestCodec.Decode(Convert.FromHexString(ThreeBytes)).Payload);
    }

    [Theory]
    [InlineData("a26a726571756573745f69646131677061796c6f61649a7fffffff")] // claims 2^31-1 elements, has none
    [InlineData("a26a726571756573745f69646131677061796c6f61649b0000000100000000")] // claims 2^32
    [InlineData("a26a726571756573745f69646131677061796c6f61648201190100")] // an element of 256
    public void Rejects_a_payload_that_lies_or_is_not_bytes_with_a_protocol_error(string hex)
    {
        Assert.Throws<QuDagProtocolException>(() => QuDagRequestCodec.Decode(Convert.FromHexString(hex)));
    }
}
