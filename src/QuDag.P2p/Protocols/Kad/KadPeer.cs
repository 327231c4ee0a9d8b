using System.Buffers;
using QuDag.P2p.Encoding;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>How the sender of a <see cref="KadPeer"/> is connected to it (the spec's <c>ConnectionType</c>).</summary>
public enum KadConnectionType
{
    NotConnected = 0,
    Connected = 1,
    CanConnect = 2,
    CannotConnect = 3,
}

/// <summary>
/// A peer as a Kademlia message carries it (<c>Message.Peer</c>: id 1, addrs 2, connection 3). The addresses are kept
/// as the binary multiaddrs received, whatever their transport (a crawler reports QUIC or WebSocket addresses too);
/// <see cref="Addresses"/> is the subset this stack can parse and dial, with any <c>/p2p</c> suffix removed.
/// </summary>
public sealed class KadPeer
{
    private IReadOnlyList<Multiaddr>? _addresses;

    /// <param name="id">The peer.</param>
    /// <param name="addressBytes">Its binary multiaddrs.</param>
    /// <param name="connection">How the sender is connected to it.</param>
    public KadPeer(PeerId id, IReadOnlyList<byte[]> addressBytes, KadConnectionType connection = KadConnectionType.NotConnected)
    {
        if (!id.IsValid)
            throw new ArgumentException("The peer id is default(PeerId).", nameof(id));
        ArgumentNullException.ThrowIfNull(addressBytes);
        Id = id;
        AddressBytes = addressBytes;
        Connection = connection;
    }

    /// <summary>A peer with parsed addresses (any <c>/p2p</c> suffix is written as is).</summary>
    public KadPeer(PeerId id, IEnumerable<Multiaddr> addresses, KadConnectionType connection = KadConnectionType.NotConnected)
        : this(id, addresses.Select(a => a.ToBytes()).ToArray(), connection)
    {
    }

    public PeerId Id { get; }

    /// <summary>The binary multiaddrs as received (or as given).</summary>
    public IReadOnlyList<byte[]> AddressBytes { get; }

    public KadConnectionType Connection { get; }

    /// <summary>
    /// The addresses this stack parses (<c>/ip4|ip6|dns*/…/tcp/…</c> and the like), without a <c>/p2p</c> suffix;
    /// one whose <c>/p2p</c> names another peer is left out, as rust-libp2p does. Parsed once, on first use.
    /// </summary>
    public IReadOnlyList<Multiaddr> Addresses => _addresses ??= ParseAddresses();

    private Multiaddr[] ParseAddresses()
    {
        var list = new List<Multiaddr>(AddressBytes.Count);
        foreach (var bytes in AddressBytes)
        {
            if (!Multiaddr.TryFromBytes(bytes, out var address))
                continue;
            if (address.PeerId is { } named && named != Id)
                continue;
            var bare = address.WithoutPeerId();
            if (!list.Contains(bare))
                list.Add(bare);
        }
        return list.ToArray();
    }

    internal byte[] ToProtobuf()
    {
        var writer = new ArrayBufferWriter<byte>(64);
        ProtoWriter.WriteBytesField(writer, 1, Id.Bytes);
        foreach (var address in AddressBytes)
            ProtoWriter.WriteBytesField(writer, 2, address);
        if (Connection != KadConnectionType.NotConnected)
            ProtoWriter.WriteVarintField(writer, 3, (ulong)Connection);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>The peer, or null when its id is not a peer id or its connection type is unknown (rust drops such peers).</summary>
    /// <exception cref="P2pProtocolException">The protobuf itself is malformed.</exception>
    internal static KadPeer? TryParse(ReadOnlySpan<byte> protobuf)
    {
        PeerId id = default;
        bool validId = false;
        var addresses = new List<byte[]>();
        ulong connection = 0;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    validId = PeerId.TryFromBytes(reader.ReadBytes(), out id, out _);
                    break;
                case 2:
                    var address = reader.ReadBytes();
                    if (address.Length is > 0 and <= Multiaddr.MaxBytes)
                        addresses.Add(address.ToArray());
                    break;
                case 3:
                    connection = reader.ReadVarint();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (!validId || connection > (ulong)KadConnectionType.CannotConnect)
            return null;
        return new KadPeer(id, addresses.ToArray(), (KadConnectionType)connection);
    }

    public override string ToString() => $"{Id} ({AddressBytes.Count} addresses, {Connection})";
}
