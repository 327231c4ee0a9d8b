using System.Buffers;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Identity;

/// <summary>
/// A peer record (RFC 0003) out of a signed envelope: a peer's own word, signed by its key, for the addresses it
/// listens on. <c>PeerRecord { bytes peer_id = 1; uint64 seq = 2; repeated AddressInfo addresses = 3; }</c>,
/// <c>AddressInfo { bytes multiaddr = 1; }</c>, in an envelope of domain <c>libp2p-peer-record</c> and payload type
/// 0x0301. Gossipsub's peer exchange carries them, so a pruned peer learns where to dial the peers it is offered
/// without trusting the peer that offers them.
/// </summary>
public sealed record SignedPeerRecord
{
    /// <summary>The envelope domain of peer records.</summary>
    public const string Domain = "libp2p-peer-record";

    /// <summary>The most addresses read from one record; more are ignored.</summary>
    public const int MaxAddresses = 32;

    /// <summary>The multicodec <c>libp2p-peer-record</c> (0x0301) as its varint bytes.</summary>
    public static ReadOnlySpan<byte> PayloadType => [0x03, 0x01];

    /// <summary>Whose record it is (the envelope's signer).</summary>
    public required PeerId PeerId { get; init; }

    /// <summary>Its sequence number: a later record of the same peer has a larger one.</summary>
    public ulong Sequence { get; init; }

    /// <summary>The addresses it listens on (those our multiaddr layer reads; others are left out).</summary>
    public IReadOnlyList<Multiaddr> Addresses { get; init; } = [];

    /// <summary>Makes <paramref name="identity"/>'s signed record of <paramref name="addresses"/>: the envelope's protobuf.</summary>
    public static byte[] Seal(NodeIdentity identity, ulong sequence, IEnumerable<Multiaddr> addresses)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(addresses);
        var writer = new ArrayBufferWriter<byte>();
        ProtoWriter.WriteBytesField(writer, 1, identity.PeerId.Bytes);
        ProtoWriter.WriteVarintField(writer, 2, sequence);
        foreach (var address in addresses)
        {
            var info = new ArrayBufferWriter<byte>();
            ProtoWriter.WriteBytesField(info, 1, address.WithoutPeerId().ToBytes());
            ProtoWriter.WriteBytesField(writer, 3, info.WrittenSpan);
        }
        return SignedEnvelope.Seal(identity, Domain, PayloadType, writer.WrittenSpan).ToProtobuf();
    }

    /// <summary>
    /// Opens and checks a signed peer record: the envelope's signature, its payload type, that the record's peer id is
    /// the signer's and, when given, <paramref name="expected"/>. Throws <see cref="P2pProtocolException"/> otherwise.
    /// </summary>
    public static SignedPeerRecord Open(ReadOnlySpan<byte> envelope, PeerId? expected = null)
    {
        var opened = SignedEnvelope.Open(envelope, Domain);
        if (!opened.PayloadType.AsSpan().SequenceEqual(PayloadType))
            throw new P2pProtocolException($"A signed envelope of payload type {Convert.ToHexString(opened.PayloadType)} is not a peer record (0301).");
        var record = Parse(opened.Payload);
        var signer = opened.PublicKey.ToPeerId();
        if (record.PeerId != signer)
            throw new P2pProtocolException($"A peer record of {record.PeerId} is signed by {signer}, not by its peer.");
        if (expected is { } peer && record.PeerId != peer)
            throw new P2pProtocolException($"A peer record of {record.PeerId} came where one of {peer} was expected.");
        return record;
    }

    /// <summary>Like <see cref="Open"/>, without the exception: null when the record does not check out.</summary>
    public static SignedPeerRecord? TryOpen(ReadOnlySpan<byte> envelope, PeerId? expected = null)
    {
        try
        {
            return Open(envelope, expected);
        }
        catch (P2pProtocolException)
        {
            return null;
        }
    }

    private static SignedPeerRecord Parse(ReadOnlySpan<byte> payload)
    {
        PeerId? peer = null;
        ulong sequence = 0;
        var addresses = new List<Multiaddr>();
        var reader = new ProtoReader(payload);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    if (!PeerId.TryFromBytes(reader.ReadBytes(), out var id, out string? error))
                        throw new P2pProtocolException($"A peer record's peer id is malformed: {error}");
                    peer = id;
                    break;
                case 2: sequence = reader.ReadVarint(); break;
                case 3:
                    var info = new ProtoReader(reader.ReadBytes());
                    while (info.Next())
                    {
                        if (info.FieldNumber != 1)
                        {
                            info.Skip();
                            continue;
                        }
                        var bytes = info.ReadBytes();
                        if (addresses.Count < MaxAddresses && Multiaddr.TryFromBytes(bytes, out var address))
                            addresses.Add(address);
                    }
                    break;
                default: reader.Skip(); break;
            }
        }
        return new SignedPeerRecord
        {
            PeerId = peer ?? throw new P2pProtocolException("A peer record has no peer id."),
            Sequence = sequence,
            Addresses = addresses,
        };
    }
}
