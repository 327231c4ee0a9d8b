using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using QuDag.P2p.Encoding;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Identify;

/// <summary>
/// The identify protobuf (libp2p identify spec). Addresses are binary multiaddrs and the signed peer record
/// an opaque envelope, both kept as raw bytes for the layers that understand them. Field numbers: publicKey 1,
/// listenAddrs 2, protocols 3, observedAddr 4, protocolVersion 5, agentVersion 6, signedPeerRecord 8.
/// </summary>
public sealed record IdentifyMessage
{
    /// <summary>
    /// The longest protocolVersion or agentVersion accepted. Real ones are tens of bytes
    /// ("/qudag/1.0.0", "rust-libp2p/0.53.2"); the cap keeps a hostile peer's text out of logs and tables.
    /// </summary>
    public const int MaxVersionLength = 1024;

    /// <summary>The longest protocol id accepted: one that multistream-select could still negotiate.</summary>
    public const int MaxProtocolIdLength = Upgrade.Multistream.MultistreamSelect.MaxMessageLength - 1;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The sender's public key as the key protobuf (the bytes its peer id hashes).</summary>
    public byte[]? PublicKey { get; init; }

    /// <summary>The addresses the sender listens on, as binary multiaddrs.</summary>
    public IReadOnlyList<byte[]> ListenAddrs { get; init; } = [];

    /// <summary>The protocols the sender handles.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>The receiver's address as the sender sees it, as a binary multiaddr.</summary>
    public byte[]? ObservedAddr { get; init; }

    /// <summary>The protocol family, such as "/qudag/1.0.0" or "ipfs/0.1.0".</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>The implementation, such as "rust-libp2p/0.53.2".</summary>
    public string? AgentVersion { get; init; }

    /// <summary>A signed peer record envelope, opaque here.</summary>
    public byte[]? SignedPeerRecord { get; init; }

    /// <summary>
    /// True when <see cref="PublicKey"/> is the key of <paramref name="peer"/>: the identity multihash inlines
    /// the key protobuf, a SHA-256 one hashes it. Works for any key type, parsed or not. A message without a
    /// key matches no peer.
    /// </summary>
    public bool MatchesPeer(PeerId peer)
    {
        if (PublicKey is not { Length: > 0 } key || !peer.IsValid)
            return false;
        ReadOnlySpan<byte> multihash = peer.Bytes;
        return multihash[0] switch
        {
            0x00 => multihash[2..].SequenceEqual(key),
            0x12 => multihash[2..].SequenceEqual(SHA256.HashData(key)),
            _ => false,
        };
    }

    /// <summary>Parses <see cref="PublicKey"/>; throws <see cref="P2pProtocolException"/> when absent, malformed or of an unsupported type.</summary>
    public Identity.PublicKey GetPublicKey()
        => PublicKey is { } key ? Identity.PublicKey.FromProtobuf(key) : throw new P2pProtocolException("The identify message carries no public key.");

    /// <summary>The protobuf encoding, fields in number order.</summary>
    public byte[] ToProtobuf()
    {
        var writer = new ArrayBufferWriter<byte>(256);
        if (PublicKey is not null) ProtoWriter.WriteBytesField(writer, 1, PublicKey);
        foreach (byte[] address in ListenAddrs) ProtoWriter.WriteBytesField(writer, 2, address);
        foreach (string protocol in Protocols) ProtoWriter.WriteStringField(writer, 3, protocol);
        if (ObservedAddr is not null) ProtoWriter.WriteBytesField(writer, 4, ObservedAddr);
        if (ProtocolVersion is not null) ProtoWriter.WriteStringField(writer, 5, ProtocolVersion);
        if (AgentVersion is not null) ProtoWriter.WriteStringField(writer, 6, AgentVersion);
        if (SignedPeerRecord is not null) ProtoWriter.WriteBytesField(writer, 8, SignedPeerRecord);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Parses one protobuf; throws <see cref="P2pProtocolException"/> for malformed input. Unknown fields are skipped.</summary>
    public static IdentifyMessage Parse(ReadOnlySpan<byte> protobuf)
    {
        var builder = new Builder();
        builder.Merge(protobuf);
        return builder.Build();
    }

    /// <summary>
    /// Accumulates several protobufs into one, as go-libp2p splits a large message: repeated fields append,
    /// a singular field set again replaces the earlier value (protobuf merge semantics).
    /// </summary>
    internal sealed class Builder
    {
        private byte[]? _publicKey;
        private readonly List<byte[]> _listenAddrs = [];
        private readonly List<string> _protocols = [];
        private byte[]? _observedAddr;
        private string? _protocolVersion;
        private string? _agentVersion;
        private byte[]? _signedPeerRecord;

        public void Merge(ReadOnlySpan<byte> protobuf)
        {
            var reader = new ProtoReader(protobuf);
            while (reader.Next())
            {
                switch (reader.FieldNumber)
                {
                    case 1: _publicKey = BytesField(ref reader); break;
                    case 2: _listenAddrs.Add(BytesField(ref reader)); break;
                    case 3: _protocols.Add(StringField(ref reader, "protocol id", MaxProtocolIdLength)); break;
                    case 4: _observedAddr = BytesField(ref reader); break;
                    case 5: _protocolVersion = StringField(ref reader, "protocolVersion", MaxVersionLength); break;
                    case 6: _agentVersion = StringField(ref reader, "agentVersion", MaxVersionLength); break;
                    case 8: _signedPeerRecord = BytesField(ref reader); break;
                    default: reader.Skip(); break;
                }
            }
        }

        public IdentifyMessage Build() => new()
        {
            PublicKey = _publicKey,
            ListenAddrs = _listenAddrs.ToArray(),
            Protocols = _protocols.ToArray(),
            ObservedAddr = _observedAddr,
            ProtocolVersion = _protocolVersion,
            AgentVersion = _agentVersion,
            SignedPeerRecord = _signedPeerRecord,
        };

        private static byte[] BytesField(ref ProtoReader reader) => reader.ReadBytes().ToArray();

        private static string StringField(ref ProtoReader reader, string name, int maxLength)
        {
            var bytes = reader.ReadBytes();
            if (bytes.Length > maxLength)
                throw new P2pProtocolException($"An identify {name} of {bytes.Length} bytes is longer than the {maxLength} allowed.");
            try
            {
                return IdentifyStrings.Decode(bytes, StrictUtf8);
            }
            catch (DecoderFallbackException ex)
            {
                throw new P2pProtocolException($"An identify {name} is not valid UTF-8.", ex);
            }
        }
    }
}
