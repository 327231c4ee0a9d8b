namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Known answers computed by node.mjs (js), so the C# copies of the shared stream and of the
/// /qudag/req/1.0.0 encoding cannot drift from js's. These need no js at run time.
/// </summary>
public class InteropDataTests
{
    [Theory]
    [InlineData(0L, "985c7d484655121f3ae2424a66e3bf17")]
    [InlineData(1001L, "2156441c356afe")]
    // The word index wraps at 2^32 words (16 GiB): the stream's one period.
    [InlineData(17179869184L - 3, "665cf7985c7d4846")]
    public void Generate_matches_the_bytes_js_writes(long offset, string expectedHex)
    {
        byte[] bytes = new byte[expectedHex.Length / 2];
        InteropData.Generate(offset, bytes);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void Generate_of_a_slice_equals_the_same_slice_of_a_longer_run()
    {
        byte[] whole = InteropData.Create(0, 4096);
        for (int offset = 0; offset < 16; offset++)
        {
            for (int length = 0; length < 13; length++)
                Assert.Equal(whole.AsSpan(offset * 37, length).ToArray(), InteropData.Create(offset * 37, length));
        }
    }

    [Fact]
    public void Sha256_of_one_MiB_matches_js_and_sixteen_MiB_matches_js_sink()
    {
        Assert.Equal("b9deccd7bf6a4634d7d6eed362c2cd431bc996b7db83ed00ae60963a1d1a4dc9", Convert.ToHexStringLower(InteropData.Sha256(1 << 20)));
        Assert.Equal("1ac3a383a5daf0c586e5e9aa0bd37430c60b6dce2e7d4ea50c8f7b117ca02390", Convert.ToHexStringLower(InteropData.Sha256(16 << 20)));
    }

    [Fact]
    public void A_request_encodes_as_serde_writes_it_a_definite_map_in_field_order_with_a_byte_array_of_uints()
    {
        // a2 map(2) | 6a "request_id" | 62 "r1" | 67 "payload" | 83 array(3) 01 02 18 2c  (cborg with mapSorter off)
        byte[] encoded = new QudagReqMessage("r1", [1, 2, 44]).Encode();
        Assert.Equal("a26a726571756573745f6964627231677061796c6f6164830102182c", Convert.ToHexStringLower(encoded));
    }

    [Fact]
    public void Decode_accepts_any_key_order_indefinite_lengths_and_unknown_keys()
    {
        // {_ "payload": [_ 7], "extra": 1, "request_id": "x"} with indefinite map and array.
        byte[] bytes = Convert.FromHexString("bf677061796c6f61649f07ff656578747261016a726571756573745f69646178ff");
        QudagReqMessage message = QudagReqMessage.Decode(bytes);
        Assert.Equal("x", message.RequestId);
        Assert.Equal([7], message.Payload);
    }

    [Theory]
    [InlineData("a16a726571756573745f69646178")]   // payload missing
    [InlineData("a26a726571756573745f69646178677061")]   // truncated
    [InlineData("a26a726571756573745f69646178677061796c6f616481190100")]   // element 256 is not a byte
    [InlineData("a26a726571756573745f69646178677061796c6f61648120")]   // a negative element
    [InlineData("a26a726571756573745f69646178677061796c6f61648000")]   // a byte follows the message
    [InlineData("a26a726571756573745f69646178677061796c6f61644401020304")]   // payload as a byte string (serde's Vec<u8> is an array)
    [InlineData("a36a726571756573745f696461786a726571756573745f69646178677061796c6f616480")]   // request_id twice
    [InlineData("a26a726571756573745f696401677061796c6f616480")]   // request_id is not text
    public void Decode_rejects_what_serde_would_reject(string hex)
    {
        Assert.Throws<FormatException>(() => QudagReqMessage.Decode(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Ack_prefixes_the_payload_and_keeps_the_id()
    {
        QudagReqMessage ack = new QudagReqMessage("id-1", [9, 8]).Ack();
        Assert.Equal("id-1", ack.RequestId);
        Assert.Equal("ack:"u8.ToArray().Concat(new byte[] { 9, 8 }), ack.Payload);
        QudagReqMessage decoded = QudagReqMessage.Decode(ack.Encode());
        Assert.Equal(ack.RequestId, decoded.RequestId);
        Assert.Equal(ack.Payload, decoded.Payload);
    }
}
