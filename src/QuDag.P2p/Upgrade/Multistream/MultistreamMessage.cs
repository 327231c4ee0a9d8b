using System.Buffers;
using System.Text;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Upgrade.Multistream;

/// <summary>
/// One multistream-select message: a uvarint length that counts the trailing newline, the UTF-8 text, then
/// "\n". Reads consume exactly the message's bytes and nothing after them.
/// </summary>
internal static class MultistreamMessage
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void Write(IBufferWriter<byte> output, string text)
    {
        int length = StrictUtf8.GetByteCount(text) + 1;
        Varint.Write(output, (ulong)length);
        var span = output.GetSpan(length);
        int written = StrictUtf8.GetBytes(text, span);
        span[written] = (byte)'\n';
        output.Advance(length);
    }

    /// <summary>
    /// Reads one message and returns its text without the newline. Throws <see cref="P2pProtocolException"/>
    /// for an empty, oversized, unterminated or non-UTF-8 message and for a stream that ends before or
    /// inside a message.
    /// </summary>
    public static async ValueTask<string> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        // The varint comes a byte at a time so nothing past this message is consumed.
        ulong? prefix = await Varint.ReadAsync(stream, cancellationToken).ConfigureAwait(false)
            ?? throw new P2pProtocolException("The stream ended before a multistream-select message.", new EndOfStreamException());
        int length = CheckLength(prefix.Value);
        byte[] body = new byte[length];
        try
        {
            await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new P2pProtocolException($"The stream ended inside a multistream-select message of {length} bytes.", ex);
        }
        return Decode(body);
    }

    private static int CheckLength(ulong length)
    {
        if (length == 0)
            throw new P2pProtocolException("A multistream-select message is empty.");
        if (length > MultistreamSelect.MaxMessageLength)
            throw new P2pProtocolException($"A multistream-select message of {length} bytes is longer than the {MultistreamSelect.MaxMessageLength} allowed.");
        return (int)length;
    }

    private static string Decode(ReadOnlySpan<byte> body)
    {
        if (body[^1] != (byte)'\n')
            throw new P2pProtocolException("A multistream-select message does not end with a newline.");
        if (body.Length == 1)
            throw new P2pProtocolException("A multistream-select message has no text.");
        var text = body[..^1];
        if (text.Contains((byte)'\n'))
            throw new P2pProtocolException("A multistream-select message has a newline inside its text.");
        try
        {
            return StrictUtf8.GetString(text);
        }
        catch (DecoderFallbackException ex)
        {
            throw new P2pProtocolException("A multistream-select message is not valid UTF-8.", ex);
        }
    }
}
