namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The fuzzer's entry (SharpFuzz/libFuzzer) into the pubsub decoder: arbitrary bytes as a pubsub stream's content may
/// raise only <see cref="P2pProtocolException"/>; what decodes must encode and decode back to the same RPC, and every
/// message's signature check must end in a verdict, not an exception.
/// </summary>
internal static class GossipsubFuzzEntry
{
    private const int MaxRpcSize = 64 * 1024;

    public static void Rpcs(ReadOnlySpan<byte> data)
    {
        List<PubsubRpc> rpcs;
        try
        {
            rpcs = GossipsubProtocol.ParseFrames(data, MaxRpcSize, RpcLimits.Default);
        }
        catch (P2pProtocolException)
        {
            return;
        }
        var keys = new AuthorKeyCache();
        foreach (var rpc in rpcs)
        {
            byte[] encoded = rpc.ToProtobuf();
            var again = PubsubRpc.Parse(encoded, RpcLimits.Default);
            if (!again.ToProtobuf().AsSpan().SequenceEqual(encoded))
                throw new InvalidOperationException("A pubsub RPC does not survive a round trip.");
            foreach (var message in rpc.Messages)
            {
                _ = message.Validate(keys);
                _ = MessageIdFunctions.Rust(message);
                _ = MessageIdFunctions.Js(message);
            }
        }
    }
}
