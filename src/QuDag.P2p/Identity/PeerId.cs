using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Identity;

/// <summary>
/// A libp2p peer id (peer-id spec): the multihash of a public key's protobuf, the identity multihash when
/// that protobuf is at most 42 bytes (Ed25519, secp256k1: "12D3KooW...", "16Uiu2..."), else its SHA-256
/// ("Qm..."). Text is base58btc. A value type whose hash code is computed once, so dictionary lookups
/// cost about a bare lookup.
/// </summary>
public readonly struct PeerId : IEquatable<PeerId>, ISpanFormattable
{
    private const byte IdentityCode = 0x00;
    private const byte Sha256Code = 0x12;
    private const int MaxInlineKeyLength = 42;

    private readonly byte[]? _multihash;
    private readonly int _hash;

    private PeerId(byte[] multihash)
    {
        _multihash = multihash;
        // The last 8 bytes are key or digest bytes, so they are already well mixed.
        ulong tail = BinaryPrimitives.ReadUInt64LittleEndian(multihash.AsSpan(multihash.Length - 8));
        _hash = (int)(tail ^ (tail >> 32));
    }

    /// <summary>The multihash bytes (the binary peer id of multiaddrs and identify).</summary>
    public ReadOnlySpan<byte> Bytes => _multihash;

    /// <summary>False for <c>default(PeerId)</c>.</summary>
    public bool IsValid => _multihash is not null;

    /// <summary>The peer id of <paramref name="key"/>.</summary>
    public static PeerId FromPublicKey(PublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        byte[] protobuf = key.ToProtobuf();
        byte[] multihash;
        if (protobuf.Length <= MaxInlineKeyLength)
        {
            multihash = new byte[2 + protobuf.Length];
            multihash[0] = IdentityCode;
            multihash[1] = (byte)protobuf.Length;
            protobuf.CopyTo(multihash, 2);
        }
        else
        {
            multihash = new byte[34];
            multihash[0] = Sha256Code;
            multihash[1] = 32;
            SHA256.HashData(protobuf, multihash.AsSpan(2));
        }
        return new PeerId(multihash);
    }

    /// <summary>Reads a binary peer id (a multihash); throws <see cref="FormatException"/> when it is not one.</summary>
    public static PeerId FromBytes(ReadOnlySpan<byte> multihash)
        => TryFromBytes(multihash, out var id, out string? error) ? id : throw new FormatException(error);

    /// <summary>Reads a binary peer id; false with a reason when the bytes are not an identity or SHA-256 multihash.</summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> multihash, out PeerId peerId, [NotNullWhen(false)] out string? error)
    {
        peerId = default;
        int codeLength, lengthLength;
        ulong code, length;
        try
        {
            code = Varint.Read(multihash, out codeLength);
            length = Varint.Read(multihash[codeLength..], out lengthLength);
        }
        catch (P2pProtocolException ex)
        {
            error = $"A peer id is not a multihash: {ex.Message}";
            return false;
        }
        int digest = codeLength + lengthLength;
        if ((ulong)(multihash.Length - digest) != length)
        {
            error = $"A peer id's multihash says {length} digest bytes but has {multihash.Length - digest}.";
            return false;
        }
        switch (code)
        {
            case IdentityCode when length is > 0 and <= MaxInlineKeyLength:
                try { PublicKey.FromProtobuf(multihash[digest..]); }
                catch (P2pProtocolException ex)
                {
                    error = $"A peer id's inline key is invalid: {ex.Message}";
                    return false;
                }
                break;
            case Sha256Code when length == 32:
                break;
            default:
                error = $"A peer id must be an identity multihash of a key of at most {MaxInlineKeyLength} bytes or a 32-byte SHA-256 multihash (code 0x{code:x}, {length} bytes).";
                return false;
        }
        peerId = new PeerId(multihash.ToArray());
        error = null;
        return true;
    }

    /// <summary>Parses the text form (base58btc "12D3KooW...", "Qm...", or a CIDv1); throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static PeerId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var id, out string? error) ? id : throw new FormatException(error);
    }

    /// <summary>Parses the text form; false when it is not a peer id.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out PeerId peerId) => TryParse(text, out peerId, out _);

    /// <summary>Parses the text form; false with a reason a person can act on.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out PeerId peerId, [NotNullWhen(false)] out string? error)
    {
        peerId = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "A peer id is empty.";
            return false;
        }
        text = text.Trim();
        // Base58 decoding is quadratic in the length; no peer id is longer than about 90 characters in any form.
        if (text.Length > Cid.MaxTextLength)
        {
            error = $"A peer id is at most {Cid.MaxTextLength} characters; this text has {text.Length}.";
            return false;
        }
        // Peer-id spec: "1..." (identity) and "Qm..." (SHA-256) are bare base58btc multihashes, the rest are CIDs.
        if (text.StartsWith('1') || text.StartsWith("Qm", StringComparison.Ordinal))
        {
            if (!Base58.TryDecode(text, out byte[] bytes))
            {
                error = $"'{text}' is not a peer id: it has characters outside base58btc.";
                return false;
            }
            if (!TryFromBytes(bytes, out peerId, out error))
            {
                error = $"'{text}' is not a peer id. {error}";
                return false;
            }
            return true;
        }
        if (Cid.TryParseLibp2pKey(text, out byte[]? multihash, out error))
        {
            if (!TryFromBytes(multihash, out peerId, out error))
            {
                error = $"'{text}' is not a peer id. {error}";
                return false;
            }
            return true;
        }
        error = $"'{text}' is not a peer id (expected base58btc such as 12D3KooW..., Qm..., or a CIDv1 such as bafz...). {error}";
        return false;
    }

    /// <summary>The public key inlined in an identity-multihash peer id, or null for a hashed one.</summary>
    public PublicKey? TryGetPublicKey()
        => _multihash is { } mh && mh[0] == IdentityCode ? PublicKey.FromProtobuf(mh.AsSpan(2)) : null;

    /// <summary>True when <paramref name="key"/> is this peer's key.</summary>
    public bool Matches(PublicKey key) => Equals(FromPublicKey(key));

    /// <summary>The base58btc text.</summary>
    public override string ToString() => _multihash is null ? "" : Base58.Encode(_multihash);

    /// <summary>The CIDv1 text (peer-id spec): base32 "b" + version 1 + libp2p-key (0x72) + the multihash, "bafz..." or "bafzaa...".</summary>
    public string ToCidString() => _multihash is null ? "" : Cid.FormatLibp2pKey(_multihash);

    /// <summary>A short form for tables, as go-libp2p's ShortString: the first 2 and the last 6 characters ("12*8Wn8fj").</summary>
    public string ToShortString()
    {
        string s = ToString();
        return s.Length <= 10 ? s : $"{s[..2]}*{s[^6..]}";
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => format is "S" or "s" ? ToShortString() : ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        string s = ToString(format.ToString(), provider);
        charsWritten = 0;
        if (s.Length > destination.Length) return false;
        s.CopyTo(destination);
        charsWritten = s.Length;
        return true;
    }

    // An id handed back to the table it came from (the common case: the manager's own ids, pipeline objects)
    // shares its array, so the reference settles it before 38 bytes are compared.
    public bool Equals(PeerId other)
        => ReferenceEquals(_multihash, other._multihash) || (_hash == other._hash && Bytes.SequenceEqual(other.Bytes));

    public override bool Equals(object? obj) => obj is PeerId other && Equals(other);

    public override int GetHashCode() => _hash;

    public static bool operator ==(PeerId left, PeerId right) => left.Equals(right);

    public static bool operator !=(PeerId left, PeerId right) => !left.Equals(right);
}
