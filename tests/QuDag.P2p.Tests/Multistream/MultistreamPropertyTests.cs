using CsCheck;
using QuDag.P2p.Protocols.Identify;
using QuDag.P2p.Tests.Support;
using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.P2p.Tests.Multistream;


public class MultistreamPropertyTests
{
    [Fact]
    public void Arbitrary_bytes_raise_only_typed_exceptions()
        => Gen.Byte.Array[0, 1200].Sample(bytes => ProtocolFuzzEntry.MultistreamMessages(bytes), iter: 1500);

    [Fact]
    public void Arbitrary_bytes_after_a_valid_header_raise_only_typed_exceptions()
    {
        byte[] header = [0x13, .. "/multistream/1.0.0\n"u8];
        Gen.Byte.Array[0, 300].Sample(tail => ProtocolFuzzEntry.MultistreamMessages([.. header, .. tail]), iter: 1500);
    }

    private static readonly Gen<string> ProtocolId =
        Gen.Char['!', '~'].Array[1, 60].Select(chars => "/" + new string(chars));

    [Fact]
    public Task Any_list_of_protocols_negotiates_the_first_one_the_listener_supports()
        => Gen.Select(ProtocolId.List[1, 8], Gen.Int[0, 9]).SampleAsync(async t =>
        {
            var (proposals, pick) = t;
            // pick past the end: the listener supports none of them.
            string? supported = pick < proposals.Count ? proposals[pick] : null;
            var (dialer, listener) = Duplex.CreatePair();
            var handle = MultistreamSelect.HandleAsync(listener, p => p == supported, CancellationToken.None);
            var select = MultistreamSelect.SelectAsync(dialer, proposals, CancellationToken.None);
            var bound = TimeSpan.FromSeconds(10);
            if (supported is null)
            {
                await Assert.ThrowsAsync<ProtocolNotSupportedException>(() => select.WaitAsync(bound));
                dialer.Dispose();
                await Assert.ThrowsAsync<P2pProtocolException>(() => handle.WaitAsync(bound));
            }
            else
            {
                Assert.Equal(supported, await select.WaitAsync(bound));
                Assert.Equal(supported, await handle.WaitAsync(bound));
            }
        }, iter: 200);
}
