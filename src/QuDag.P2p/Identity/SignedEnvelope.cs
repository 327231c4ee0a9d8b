using System.Buffers;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Identity;

/// <summary>
/// A libp2p signed envelope (RFC 0002): a payload, its type, and a signature by the key that vouches for it, over a
/// domain string that keeps a signature for one use from passing for another. The protobuf is
/// <c>Envelope { PublicKey public_key = 1; bytes payload_type = 2; bytes payload = 3; bytes signature = 5; }</c>; the
/// signature covers <c>varint(len(domain)) domain varint(len(type)) type varint(len(payload)) payload</c>.
/// </summary>
public sealed class SignedEnvelope
{
    /// <summary>The largest envelope read: a peer record of a few addresses is a few hundred bytes.</summary>
    public const int MaxSize = 8 * 1024;

    private SignedEnvelope(PublicKey publicKey, byte[] payloadType, byte[] payload, byte[] signature)
    {
        PublicKey = publicKey;
        PayloadType = payloadType;
        Payload = payload;
        Signature = signature;
    }

    /// <summary>The key that signed it; its peer id is who vouches for the payload.</summary>
    public PublicKey PublicKey { get; }

    /// <summary>The payload's multicodec (0x0301 for a peer record), as its varint bytes.</summary>
    public byte[] PayloadType { get; }

    public byte[] Payload { get; }

    public byte[] Signature { get; }

    /// <summary>Signs <paramref name="payload"/> with <paramref name="identity"/>'s key under <paramref name="domain"/>.</summary>
    public static SignedEnvelope Seal(NodeIdentity identity, string domain, ReadOnlySpan<byte> payloadType, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentException.ThrowIfNullOrEmpty(domain);
        byte[] signature = identity.Sign(SigningInput(domain, payloadType, payload));
        return new SignedEnvelope(identity.PublicKey, payloadType.ToArray(), payload.ToArray(), signature);
    }

    /// <summary>
    /// Reads an envelope and checks its signature under <paramref name="domain"/>. Throws
    /// <see cref="P2pProtocolException"/> when it is malformed, over <see cref="MaxSize"/>, lacks a field, names a key
    /// type the identity layer does not know, or its signature does not verify.
    /// </summary>
    public static SignedEnvelope Open(ReadOnlySpan<byte> protobuf, string domain)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        if (protobuf.Length > MaxSize)
            throw new P2pProtocolException($"A signed envelope of {protobuf.Length} bytes is over the {MaxSize} bytes allowed.");
        ReadOnlySpan<byte> key = default, type = default, payload = default, signature = default;
        bool hasKey = false, hasType = false, hasPayload = false, hasSignature = false;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: key = reader.ReadBytes(); hasKey = true; break;
                case 2: type = reader.ReadBytes(); hasType = true; break;
                case 3: payload = reader.ReadBytes(); hasPayload = true; break;
                case 5: signature = reader.ReadBytes(); hasSignature = true; break;
                default: reader.Skip(); break;
            }
        }
        if (!hasKey || !hasType || !hasPayload || !hasSignature)
            throw new P2pProtocolException("A signed envelope lacks its public key, payload type, payload or signature.");
        var publicKey = PublicKey.FromProtobuf(key);
        if (!publicKey.Verify(SigningInput(domain, type, payload), signature))
            throw new P2pProtocolException($"A signed envelope's signature does not verify under the domain '{domain}'.");
        return new SignedEnvelope(publicKey, type.ToArray(), payload.ToArray(), signature.ToArray());
    }

    public byte[] ToProtobuf()
    {
        var writer = new ArrayBufferWriter<byte>();
        ProtoWriter.WriteBytesField(writer, 1, PublicKey.ToProtobuf());
        ProtoWriter.WriteBytesField(writer, 2, PayloadType);
        ProtoWriter.WriteBytesField(writer, 3, Payload);
        ProtoWriter.WriteBytesField(writer, 5, Signature);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] SigningInput(string domain, ReadOnlySpan<byte> payloadType, ReadOnlySpan<byte> payload)
    {
        var writer = new ArrayBufferWriter<byte>();
        void Part(ReadOnlySpan<byte> part)
        {
            Varint.Write(writer, (ulong)part.Length);
            writer.Write(part);
        }
        Part(System.Text.Encoding.UTF8.GetBytes(domain));
        Part(payloadType);
        Part(payload);
        return writer.WrittenSpan.ToArray();
    }
}
