using System.Buffers;
using System.Text;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Security.Noise;

/// <summary>
/// The libp2p payload of Noise handshake messages 2 and 3:
/// <code>
/// message NoiseHandshakePayload { bytes identity_key = 1; bytes identity_sig = 2; NoiseExtensions extensions = 4; }
/// message NoiseExtensions { repeated bytes webtransport_certhashes = 1; repeated string stream_muxers = 2; }
/// </code>
/// identity_key is the PublicKey protobuf; identity_sig signs "noise-libp2p-static-key:" + the X25519 static key.
/// Unknown fields (newer extensions) are skipped.
/// </summary>
internal sealed class NoiseHandshakePayload
{
    /// <summary>More muxers than anyone implements; a longer list is hostile.</summary>
    public const int MaxStreamMuxers = 32;

    public static ReadOnlySpan<byte> SignaturePrefix => "noise-libp2p-static-key:"u8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public NoiseHandshakePayload(byte[] identityKey, byte[] identitySignature, IReadOnlyList<string>? streamMuxers)
    {
        IdentityKey = identityKey;
        IdentitySignature = identitySignature;
        StreamMuxers = streamMuxers;
    }

    public byte[] IdentityKey { get; }
    public byte[] IdentitySignature { get; }

    /// <summary>The sender's muxers in its order of preference; null when it sent none (no early negotiation).</summary>
    public IReadOnlyList<string>? StreamMuxers { get; }

    /// <summary>The bytes the identity key signs: the prefix and the X25519 static key.</summary>
    public static byte[] SignedData(ReadOnlySpan<byte> noiseStaticKey)
    {
        var data = new byte[SignaturePrefix.Length + noiseStaticKey.Length];
        SignaturePrefix.CopyTo(data);
        noiseStaticKey.CopyTo(data.AsSpan(SignaturePrefix.Length));
        return data;
    }

    public byte[] Encode()
    {
        var writer = new ArrayBufferWriter<byte>(IdentityKey.Length + IdentitySignature.Length + 64);
        ProtoWriter.WriteBytesField(writer, 1, IdentityKey);
        ProtoWriter.WriteBytesField(writer, 2, IdentitySignature);
        if (StreamMuxers is { Count: > 0 })
        {
            var extensions = new ArrayBufferWriter<byte>(64);
            foreach (string muxer in StreamMuxers)
                ProtoWriter.WriteStringField(extensions, 2, muxer);
            ProtoWriter.WriteBytesField(writer, 4, extensions.WrittenSpan);
        }
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Parses a payload; anything malformed is a <see cref="P2pProtocolException"/>.</summary>
    public static NoiseHandshakePayload Decode(ReadOnlySpan<byte> data)
    {
        byte[]? key = null, signature = null;
        List<string>? muxers = null;
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: key = reader.ReadBytes().ToArray(); break;
                case 2: signature = reader.ReadBytes().ToArray(); break;
                case 4: muxers = DecodeExtensions(reader.ReadBytes(), muxers); break;
                default: reader.Skip(); break;
            }
        }
        if (key is not { Length: > 0 } || signature is not { Length: > 0 })
            throw new P2pProtocolException("The Noise handshake payload lacks the identity key or its signature.");
        return new NoiseHandshakePayload(key, signature, muxers is { Count: > 0 } ? muxers : null);
    }

    private static List<string>? DecodeExtensions(ReadOnlySpan<byte> data, List<string>? muxers)
    {
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            if (reader.FieldNumber != 2)
            {
                reader.Skip();
                continue;
            }
            var bytes = reader.ReadBytes();
            muxers ??= [];
            if (muxers.Count == MaxStreamMuxers)
                throw new P2pProtocolException($"The Noise extensions list more than {MaxStreamMuxers} stream muxers.");
            try
            {
                muxers.Add(StrictUtf8.GetString(bytes));
            }
            catch (DecoderFallbackException ex)
            {
                throw new P2pProtocolException("A stream muxer id in the Noise extensions is not UTF-8.", ex);
            }
        }
        return muxers;
    }
}
