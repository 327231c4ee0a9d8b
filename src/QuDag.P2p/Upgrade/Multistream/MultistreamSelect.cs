using System.Buffers;
using QuDag.P2p.Muxing;

namespace QuDag.P2p.Upgrade.Multistream;

/// <summary>
/// multistream-select 1.0 (<c>/multistream/1.0.0</c>): agrees on the protocol that follows on a stream.
/// Both sides send the header; the dialer proposes protocols one at a time, the listener echoes the one it
/// accepts or answers "na". Every read stops exactly at a message's last byte, because the chosen
/// protocol's bytes follow on the same stream.
/// </summary>
public static class MultistreamSelect
{
    /// <summary>The protocol id of multistream-select itself, sent as the header by both sides.</summary>
    public const string ProtocolId = "/multistream/1.0.0";

    /// <summary>
    /// The longest message, counting its trailing newline, as go-multistream and js-libp2p cap it. A
    /// longer length prefix is refused before anything is allocated.
    /// </summary>
    public const int MaxMessageLength = 1024;

    /// <summary>
    /// How many proposals a listener answers before it gives up on a dialer: a peer that proposes forever
    /// must not hold a connection open. Real dialers offer a handful.
    /// </summary>
    public const int MaxRounds = 32;

    internal const string NotAvailable = "na";
    internal const string List = "ls";

    /// <summary>
    /// The dialer's side: proposes <paramref name="protocols"/> in order and returns the first one the
    /// listener accepts. The header and the first proposal go out in one write, which saves a round trip.
    /// Throws <see cref="ProtocolNotSupportedException"/> when the listener refuses them all and
    /// <see cref="P2pProtocolException"/> when it breaks the protocol or closes the stream.
    /// </summary>
    public static async Task<string> SelectAsync(Stream stream, IReadOnlyList<string> protocols, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(protocols);
        if (protocols.Count == 0)
            throw new ArgumentException("At least one protocol must be proposed.", nameof(protocols));
        foreach (string protocol in protocols)
            ValidateProtocolId(protocol, nameof(protocols));

        var output = new ArrayBufferWriter<byte>(64);
        MultistreamMessage.Write(output, ProtocolId);
        MultistreamMessage.Write(output, protocols[0]);
        await WriteAsync(stream, output, cancellationToken).ConfigureAwait(false);

        string header = await MultistreamMessage.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (header != ProtocolId)
            throw new P2pProtocolException($"The listener answered with header '{Printable(header)}' instead of '{ProtocolId}'.");

        for (int i = 0; ; )
        {
            string answer = await MultistreamMessage.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            if (answer == protocols[i])
            {
                SetProtocol(stream, answer);
                return answer;
            }
            if (answer != NotAvailable)
                throw new P2pProtocolException($"The listener answered '{Printable(answer)}' to the proposal '{protocols[i]}'.");
            if (++i == protocols.Count)
                throw new ProtocolNotSupportedException(protocols.ToArray());
            MultistreamMessage.Write(output, protocols[i]);
            await WriteAsync(stream, output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The optimistic dialer (rust-libp2p's <c>V1Lazy</c>, js-libp2p's lazy select) for a protocol the
    /// listener is known to speak: writes the header and <paramref name="protocol"/> and returns without
    /// waiting, so the caller's first data follows in the same round trip. Call
    /// <see cref="ConfirmLazyAsync"/> before the first read. Should the listener refuse, what the caller
    /// wrote meanwhile reaches it as garbage and it closes the stream; so use this only where a refusal is
    /// not expected, such as ping or identify towards a peer whose identify listed the protocol.
    /// </summary>
    public static async Task SelectLazyAsync(Stream stream, string protocol, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ValidateProtocolId(protocol, nameof(protocol));
        var output = new ArrayBufferWriter<byte>(64);
        MultistreamMessage.Write(output, ProtocolId);
        MultistreamMessage.Write(output, protocol);
        await WriteAsync(stream, output, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the listener's header and its answer to the proposal <see cref="SelectLazyAsync"/> wrote.
    /// Throws <see cref="ProtocolNotSupportedException"/> for "na" and <see cref="P2pProtocolException"/>
    /// for anything else unexpected; afterwards the stream carries only the protocol's bytes.
    /// </summary>
    public static async Task ConfirmLazyAsync(Stream stream, string protocol, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ValidateProtocolId(protocol, nameof(protocol));
        string header = await MultistreamMessage.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (header != ProtocolId)
            throw new P2pProtocolException($"The listener answered with header '{Printable(header)}' instead of '{ProtocolId}'.");
        string answer = await MultistreamMessage.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (answer == NotAvailable)
            throw new ProtocolNotSupportedException([protocol]);
        if (answer != protocol)
            throw new P2pProtocolException($"The listener answered '{Printable(answer)}' to the proposal '{protocol}'.");
        SetProtocol(stream, protocol);
    }

    /// <summary>
    /// The listener's side: answers the dialer's proposals until it proposes a protocol that
    /// <paramref name="isSupported"/> accepts, and returns it. "ls" is answered with "na" (the spec allows
    /// a listener not to list). Throws <see cref="P2pProtocolException"/> for a wrong header, a malformed
    /// or oversized message, more than <see cref="MaxRounds"/> proposals, or a stream that ends first.
    /// </summary>
    public static async Task<string> HandleAsync(Stream stream, Func<string, bool> isSupported, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(isSupported);

        // The header goes out before the dialer's is read, as go-multistream does: a dialer that waits for
        // ours before it proposes still makes progress.
        var output = new ArrayBufferWriter<byte>(64);
        MultistreamMessage.Write(output, ProtocolId);
        await WriteAsync(stream, output, cancellationToken).ConfigureAwait(false);

        string header = await MultistreamMessage.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (header != ProtocolId)
            throw new P2pProtocolException($"The dialer sent header '{Printable(header)}' instead of '{ProtocolId}'.");

        for (int round = 0; round < MaxRounds; round++)
        {
            string proposal = await MultistreamMessage.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            bool accepted = proposal != List && proposal != NotAvailable && proposal != ProtocolId && isSupported(proposal);
            MultistreamMessage.Write(output, accepted ? proposal : NotAvailable);
            await WriteAsync(stream, output, cancellationToken).ConfigureAwait(false);
            if (accepted)
            {
                SetProtocol(stream, proposal);
                return proposal;
            }
        }
        throw new P2pProtocolException($"The dialer proposed more than {MaxRounds} protocols without agreeing on one.");
    }

    /// <summary>The listener's side for a fixed set of protocols.</summary>
    public static Task<string> HandleAsync(Stream stream, IReadOnlyCollection<string> supported, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(supported);
        return HandleAsync(stream, supported.Contains, cancellationToken);
    }

    private static async ValueTask WriteAsync(Stream stream, ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        output.ResetWrittenCount();
    }

    private static void SetProtocol(Stream stream, string protocol)
    {
        if (stream is MuxedStream muxed)
            muxed.Protocol = protocol;
    }

    internal static void ValidateProtocolId(string protocol, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(protocol, paramName);
        if (protocol.Contains('\n'))
            throw new ArgumentException($"A protocol id must not contain a newline: '{Printable(protocol)}'.", paramName);
        if (System.Text.Encoding.UTF8.GetByteCount(protocol) + 1 > MaxMessageLength)
            throw new ArgumentException($"A protocol id must be shorter than {MaxMessageLength} bytes.", paramName);
    }

    /// <summary>A remote's text for an error message: control characters escaped, at most 100 characters.</summary>
    internal static string Printable(string text)
    {
        var clipped = text.Length > 100 ? text[..100] + "..." : text;
        var builder = new System.Text.StringBuilder(clipped.Length);
        foreach (char c in clipped)
        {
            if (char.IsControl(c)) builder.Append($"\\x{(int)c:x2}");
            else builder.Append(c);
        }
        return builder.ToString();
    }
}
