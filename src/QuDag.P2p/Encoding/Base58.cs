namespace QuDag.P2p.Encoding;

/// <summary>Base58btc (the Bitcoin alphabet), the text form of libp2p peer ids.</summary>
public static class Base58
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    private static readonly sbyte[] Digits = BuildDigits();

    private static sbyte[] BuildDigits()
    {
        var digits = new sbyte[128];
        Array.Fill(digits, (sbyte)-1);
        for (int i = 0; i < Alphabet.Length; i++) digits[Alphabet[i]] = (sbyte)i;
        return digits;
    }

    /// <summary>Encodes <paramref name="data"/>; each leading zero byte becomes a '1'.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        int zeros = 0;
        while (zeros < data.Length && data[zeros] == 0) zeros++;
        // log(256) / log(58) ~ 1.365: the base-58 digits' upper bound.
        int size = (data.Length - zeros) * 138 / 100 + 1;
        Span<byte> b58 = size <= 256 ? stackalloc byte[size] : new byte[size];
        b58.Clear();
        int length = 0;
        for (int i = zeros; i < data.Length; i++)
        {
            int carry = data[i];
            int j = 0;
            for (int k = size - 1; (carry != 0 || j < length) && k >= 0; k--, j++)
            {
                carry += 256 * b58[k];
                b58[k] = (byte)(carry % 58);
                carry /= 58;
            }
            length = j;
        }
        int start = size - length;
        while (start < size && b58[start] == 0) start++;
        Span<char> chars = zeros + size - start <= 512 ? stackalloc char[zeros + size - start] : new char[zeros + size - start];
        chars[..zeros].Fill('1');
        for (int i = start; i < size; i++) chars[zeros + i - start] = Alphabet[b58[i]];
        return new string(chars);
    }

    /// <summary>Decodes base58btc text; throws <see cref="FormatException"/> for a character outside the alphabet.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        if (!TryDecode(text, out var bytes))
            throw new FormatException("The text is not base58btc.");
        return bytes;
    }

    /// <summary>Decodes base58btc text; false for a character outside the alphabet.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        int zeros = 0;
        while (zeros < text.Length && text[zeros] == '1') zeros++;
        int size = (text.Length - zeros) * 733 / 1000 + 1; // log(58) / log(256)
        Span<byte> b256 = size <= 256 ? stackalloc byte[size] : new byte[size];
        b256.Clear();
        int length = 0;
        for (int i = zeros; i < text.Length; i++)
        {
            char c = text[i];
            int carry = c < 128 ? Digits[c] : -1;
            if (carry < 0) return false;
            int j = 0;
            for (int k = size - 1; (carry != 0 || j < length) && k >= 0; k--, j++)
            {
                carry += 58 * b256[k];
                b256[k] = (byte)(carry & 0xFF);
                carry >>= 8;
            }
            length = j;
        }
        int start = size - length;
        while (start < size && b256[start] == 0) start++;
        bytes = new byte[zeros + size - start];
        b256[start..].CopyTo(bytes.AsSpan(zeros));
        return true;
    }
}
