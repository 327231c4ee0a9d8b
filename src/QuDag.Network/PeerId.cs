using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace QuDag.Network;

/// <summary>
/// A QuDAG peer's identity: the SHA-256 of its public key (SubjectPublicKeyInfo), 32 bytes.
/// Prints as 64 lowercase hex characters; <see cref="Short"/> (or the format "s") gives the first 16.
/// </summary>
public readonly struct PeerId : IEquatable<PeerId>, ISpanFormattable, IComparable<PeerId>
{
    /// <summary>The size of a peer id in bytes.</summary>
    public const int Size = 32;

    // Four words instead of a byte[]: no allocation, and equality is four compares.
    private readonly ulong _a, _b, _c, _d;

    /// <summary>Creates a peer id from exactly 32 bytes.</summary>
    public PeerId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException($"A peer id is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>The peer id of a public key: SHA-256 over its DER SubjectPublicKeyInfo.</summary>
    public static PeerId FromPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA256.HashData(subjectPublicKeyInfo, hash);
        return new PeerId(hash);
    }

    /// <summary>The first 16 hex characters, the QuDAG display form.</summary>
    public string Short => ToString("s", null);

    /// <summary>Writes the 32 bytes to <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
            throw new ArgumentException($"The destination needs {Size} bytes.", nameof(destination));
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    /// <summary>The 32 bytes as a new array.</summary>
    public byte[] ToByteArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Parses 64 hex characters (either case).</summary>
    /// <exception cref="FormatException">The text is not 64 hex characters; the message quotes it.</exception>
    public static PeerId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var id) ? id : throw new FormatException(
            $"'{Quote(text)}' is not a peer id: expected 64 hex characters (a SHA-256), got {text.Length} characters.");
    }

    /// <summary>Tries to parse 64 hex characters (either case).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out PeerId id) => TryParse(text.AsSpan(), out id);

    /// <summary>Tries to parse 64 hex characters (either case).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out PeerId id)
    {
        id = default;
        text = text.Trim();
        if (text.Length != Size * 2)
            return false;
        Span<byte> bytes = stackalloc byte[Size];
        for (var i = 0; i < Size; i++)
        {
            int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
            if ((hi | lo) < 0)
                return false;
            bytes[i] = (byte)((hi << 4) | lo);
        }
        id = new PeerId(bytes);
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static string Quote(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");

    /// <inheritdoc/>
    public bool Equals(PeerId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    /// <inheritdoc/>
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is PeerId other && Equals(other);

    /// <summary>The first 8 bytes: the id is already a uniform hash, so folding more buys nothing.</summary>
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);

    /// <inheritdoc/>
    public int CompareTo(PeerId other)
    {
        var c = _a.CompareTo(other._a);
        if (c != 0) return c;
        c = _b.CompareTo(other._b);
        if (c != 0) return c;
        c = _c.CompareTo(other._c);
        return c != 0 ? c : _d.CompareTo(other._d);
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(PeerId left, PeerId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PeerId left, PeerId right) => !left.Equals(right);

    /// <summary>The 64 lowercase hex characters.</summary>
    public override string ToString() => ToString(null, null);

    /// <summary>"s" gives the short form (16 characters); null or "x" gives all 64.</summary>
    public string ToString(string? format, IFormatProvider? formatProvider)
    {
        Span<char> chars = stackalloc char[Size * 2];
        TryFormat(chars, out var written, format, formatProvider);
        return new string(chars[..written]);
    }

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        var length = format switch
        {
            [] or "x" or "X" => Size * 2,
            "s" or "S" => 16,
            _ => throw new FormatException($"Unknown PeerId format '{format.ToString()}': use \"x\" (64 characters) or \"s\" (16)."),
        };
        charsWritten = 0;
        if (destination.Length < length)
            return false;
        Span<byte> bytes = stackalloc byte[Size];
        WriteTo(bytes);
        const string digits = "0123456789abcdef";
        for (var i = 0; i < length; i++)
        {
            var b = bytes[i / 2];
            destination[i] = digits[(i & 1) == 0 ? b >> 4 : b & 0xF];
        }
        charsWritten = length;
        return true;
    }
}
