using System.Buffers;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>The kind of a Kademlia RPC (the spec's <c>Message.MessageType</c>; the numbers are the wire values).</summary>
public enum KadMessageType
{
    PutValue = 0,
    GetValue = 1,
    AddProvider = 2,
    GetProviders = 3,
    FindNode = 4,
    /// <summary>Deprecated by the spec in favour of /ipfs/ping/1.0.0; never sent, answered as js-libp2p does (echoed).</summary>
    Ping = 5,
}

/// <summary>
/// One Kademlia RPC message, request or response (libp2p kad-dht spec, <c>dht.proto</c>): type 1, key 2, record 3
/// (an embedded <see cref="KadRecord"/>), closerPeers 8 and providerPeers 9 (each a <see cref="KadPeer"/>),
/// clusterLevelRaw 10 (unused, kept for the round trip). Encoded as proto3 does: default values are left out.
/// Decoding is as lenient as rust-libp2p's: a closer or provider peer with an invalid id or connection type is dropped
/// (counted in <see cref="DroppedPeers"/>), an unknown field skipped; a malformed protobuf or an unknown message type
/// is a <see cref="P2pProtocolException"/>.
/// </summary>
public sealed record KadMessage
{
    public KadMessageType Type { get; init; }

    /// <summary>The key asked about: a peer id's bytes (FIND_NODE), a record key, a provider key (a multihash).</summary>
    public byte[] Key { get; init; } = [];

    /// <summary>The record carried by PUT_VALUE and GET_VALUE, if any.</summary>
    public KadRecord? Record { get; init; }

    /// <summary>The sender's peers closest to <see cref="Key"/> (FIND_NODE, GET_VALUE, GET_PROVIDERS responses).</summary>
    public IReadOnlyList<KadPeer> CloserPeers { get; init; } = [];

    /// <summary>Providers of <see cref="Key"/> (GET_PROVIDERS responses, ADD_PROVIDER requests).</summary>
    public IReadOnlyList<KadPeer> ProviderPeers { get; init; } = [];

    /// <summary>The unused coral cluster level (rust writes 10 in requests and 9 in responses; js echoes it).</summary>
    public int ClusterLevel { get; init; }

    /// <summary>Peers the decoder dropped as invalid (bad id, unknown connection type); 0 for a message we built.</summary>
    public int DroppedPeers { get; init; }

    /// <summary>A FIND_NODE request for <paramref name="key"/>.</summary>
    public static KadMessage FindNode(ReadOnlySpan<byte> key) => new() { Type = KadMessageType.FindNode, Key = key.ToArray() };

    /// <summary>The protobuf encoding (without the length prefix).</summary>
    public byte[] ToProtobuf()
    {
        var writer = new ArrayBufferWriter<byte>(128);
        WriteTo(writer);
        return writer.WrittenSpan.ToArray();
    }

    internal void WriteTo(ArrayBufferWriter<byte> writer)
    {
        if (Type != KadMessageType.PutValue) ProtoWriter.WriteVarintField(writer, 1, (ulong)Type);
        if (Key.Length > 0) ProtoWriter.WriteBytesField(writer, 2, Key);
        if (Record is not null) ProtoWriter.WriteBytesField(writer, 3, Record.ToProtobuf());
        foreach (var peer in CloserPeers) ProtoWriter.WriteBytesField(writer, 8, peer.ToProtobuf());
        foreach (var peer in ProviderPeers) ProtoWriter.WriteBytesField(writer, 9, peer.ToProtobuf());
        // int32: a negative value is written as a 10-byte varint by protobuf, which our 9-byte varints refuse; the
        // field is unused, so a negative level is simply not written.
        if (ClusterLevel > 0) ProtoWriter.WriteVarintField(writer, 10, (ulong)ClusterLevel);
    }

    /// <summary>Parses one message (without its length prefix).</summary>
    /// <exception cref="P2pProtocolException">Malformed protobuf, an unknown message type, or a malformed record.</exception>
    public static KadMessage Parse(ReadOnlySpan<byte> protobuf)
    {
        var type = KadMessageType.PutValue;
        byte[] key = [];
        KadRecord? record = null;
        List<KadPeer>? closer = null, providers = null;
        int cluster = 0, dropped = 0;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    ulong raw = reader.ReadVarint();
                    if (raw > (ulong)KadMessageType.Ping)
                        throw new P2pProtocolException($"Unknown Kademlia message type {raw}.");
                    type = (KadMessageType)raw;
                    break;
                case 2:
                    key = reader.ReadBytes().ToArray();
                    break;
                case 3:
                    record = KadRecord.Parse(reader.ReadBytes());
                    break;
                case 8:
                    AddPeer(ref closer, reader.ReadBytes(), ref dropped);
                    break;
                case 9:
                    AddPeer(ref providers, reader.ReadBytes(), ref dropped);
                    break;
                case 10:
                    cluster = unchecked((int)reader.ReadVarint()); // int32 on the wire: the low 32 bits
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return new KadMessage
        {
            Type = type,
            Key = key,
            Record = record,
            CloserPeers = closer is null ? [] : closer.ToArray(),
            ProviderPeers = providers is null ? [] : providers.ToArray(),
            ClusterLevel = cluster,
            DroppedPeers = dropped,
        };
    }

    private static void AddPeer(ref List<KadPeer>? list, ReadOnlySpan<byte> protobuf, ref int dropped)
    {
        if (KadPeer.TryParse(protobuf) is { } peer)
            (list ??= []).Add(peer);
        else
            dropped++;
    }
}
