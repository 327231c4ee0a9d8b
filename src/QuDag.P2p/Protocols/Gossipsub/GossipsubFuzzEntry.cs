namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The fuzzer's entry (SharpFuzz/libFuzzer) into the pubsub decoder: arbitrary bytes as a pubsub stream's content may
/// raise only <see cref="P2pProtocolException"/>; what decodes must encode and decode back to the same RPC, and every
/// message's signature check must end in a verdict, not an exception.
/// </summary>
internal static class GossipsubFuzzEntry
{
    /// <summary>
    /// A signed peer record as peer exchange carries it: arbitrary bytes may raise only <see cref="P2pProtocolException"/>
    /// (with or without an expected peer); one that opens has a signer equal to its peer and at most MaxAddresses addresses.
    /// </summary>
    public static void PeerRecords(ReadOnlySpan<byte> data)
    {
        QuDag.P2p.Identity.SignedPeerRecord record;
        try
        {
            record = QuDag.P2p.Identity.SignedPeerRecord.Open(data);
        }
        catch (P2pProtocolException)
        {
            return;
        }
        if (record.Addresses.Count > QuDag.P2p.Identity.SignedPeerRecord.MaxAddresses)
            throw new InvalidOperationException("A peer record kept more addresses than allowed.");
        if (QuDag.P2p.Identity.SignedPeerRecord.TryOpen(data, record.PeerId) is null)
            throw new InvalidOperationException("A peer record that opens does not open for its own peer.");
    }

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
