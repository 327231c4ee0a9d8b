namespace QuDag.P2p.Encoding;

/// <summary>
/// RFC 4648 base32 in lower case without padding: multibase 'b', the default text of CIDv1 peer ids.
/// Decoding is canonical: upper case, padding, impossible lengths and non-zero trailing bits are refused,
/// so every accepted text re-encodes to itself.
/// </summary>
public static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private static readonly sbyte[] Digits = BuildDigits();

    private static sbyte[] BuildDigits()
    {
        var digits = new sbyte[128];
        Array.Fill(digits, (sbyte)-1);
        for (int i = 0; i < Alphabet.Length; i++) digits[Alphabet[i]] = (sbyte)i;
        return digits;
    }

    /// <summary>Encodes <paramref name="data"/> as lower-case base32 without padding.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        int length = (data.Length * 8 + 4) / 5;
        return string.Create(length, data.ToArray(), static (chars, bytes) =>
        {
            int buffer = 0, bits = 0, c = 0;
            foreach (byte b in bytes)
            {
                buffer = (buffer << 8) | b;
                bits += 8;
                while (bits >= 5)
                {
                    bits -= 5;
                    chars[c++] = Alphabet[(buffer >> bits) & 31];
                }
            }
            if (bits > 0) chars[c] = Alphabet[(buffer << (5 - bits)) & 31];
        });
    }

    /// <summary>Decodes canonical lower-case unpadded base32; throws <see cref="FormatException"/> otherwise.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
        => TryDecode(text, out var bytes) ? bytes : throw new FormatException("The text is not canonical lower-case base32 (RFC 4648, no padding).");

    /// <summary>Decodes canonical lower-case unpadded base32; false for anything else.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        // 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters cannot end on a byte boundary.
        if ((text.Length % 8) is 1 or 3 or 6) return false;
        var result = new byte[text.Length * 5 / 8];
        int buffer = 0, bits = 0, n = 0;
        foreach (char c in text)
        {
            int digit = c < 128 ? Digits[c] : -1;
            if (digit < 0) return false;
            buffer = (buffer << 5) | digit;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                result[n++] = (byte)(buffer >> bits);
            }
            buffer &= (1 << bits) - 1;
        }
        // The leftover bits pad the last character; canonical text leaves them zero.
        if (buffer != 0) return false;
        bytes = result;
        return true;
    }
}
