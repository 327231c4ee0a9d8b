namespace QuDag.P2p.Protocols.Kad;

/// <summary>
/// The fuzzer's way into the Kademlia decoder (QuDag.P2p.Fuzz target "kad"): arbitrary bytes as the content of a kad
/// stream may raise only <see cref="P2pProtocolException"/>; what parses must survive a round trip.
/// </summary>
internal static class KadFuzzEntry
{
    public static void Stream(ReadOnlySpan<byte> data)
    {
        var stream = new MemoryStream(data.ToArray(), writable: false);
        try
        {
            // A MemoryStream completes every read synchronously.
            while (KadProtocol.ReadAsync(stream, 4096, CancellationToken.None).GetAwaiter().GetResult() is { } message)
            {
                var again = KadMessage.Parse(message.ToProtobuf());
                if (again.Type != message.Type || !again.Key.AsSpan().SequenceEqual(message.Key)
                    || again.CloserPeers.Count != message.CloserPeers.Count || again.ProviderPeers.Count != message.ProviderPeers.Count
                    || (again.Record is null) != (message.Record is null) || again.DroppedPeers != 0)
                    throw new InvalidOperationException("A Kademlia message does not survive a round trip.");
                foreach (var peer in message.CloserPeers.Concat(message.ProviderPeers))
                    _ = peer.Addresses;
            }
        }
        catch (P2pProtocolException) { }
    }
}
