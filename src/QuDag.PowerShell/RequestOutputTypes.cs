using System.Text;
using QuDag.Network.Messaging;

namespace QuDag.PowerShell;

// The objects of QuDAG's request-response protocol (/qudag/req/1.0.0), made for pipes like OutputTypes.cs: peer
// ids as full strings, the payload as bytes and, when it is UTF-8, as text, durations as *Ms numbers. A request
// keeps the core's IncomingRequest internally, so Send-QuDagResponse can answer it without a core type in any
// cmdlet's signature.

/// <summary>A peer's answer to Invoke-QuDagRequest.</summary>
public sealed class QuDagResponse
{
    internal QuDagResponse(Network.Messaging.QuDagResponse response)
    {
        PeerId = PeerIdArgument.Format(response.PeerId);
        ShortId = response.PeerId.ToShortString();
        RequestId = response.RequestId;
        Payload = response.Payload;
        Text = RequestText.Decode(response.Payload);
        LatencyMs = Math.Round(response.Latency.TotalMilliseconds, 3);
    }

    /// <summary>The peer that answered.</summary>
    public string PeerId { get; }

    /// <summary>The peer id as tables show it (go-libp2p's short form, 12*Wn8fj).</summary>
    public string ShortId { get; }

    /// <summary>The request id the answer carries.</summary>
    public string RequestId { get; }

    /// <summary>The response payload.</summary>
    public byte[] Payload { get; }

    /// <summary>The payload decoded as UTF-8, or null when it is not valid UTF-8.</summary>
    public string? Text { get; }

    /// <summary>From opening the stream to the last byte of the answer, in milliseconds.</summary>
    public double LatencyMs { get; }

    /// <inheritdoc/>
    public override string ToString() => Text ?? $"<{Payload.Length} bytes>";
}

/// <summary>A request a peer sent this node, as Receive-QuDagRequest writes it; answer it with Send-QuDagResponse.</summary>
public sealed class QuDagRequest
{
    internal QuDagRequest(IncomingRequest request)
    {
        Incoming = request;
        PeerId = PeerIdArgument.Format(request.PeerId);
        ShortId = request.PeerId.ToShortString();
        RequestId = request.RequestId;
        Payload = request.Payload;
        Text = RequestText.Decode(request.Payload);
        ReceivedAt = request.ReceivedAt;
    }

    /// <summary>The core's request: what Send-QuDagResponse answers. Not public: no core type leaves the module.</summary>
    internal IncomingRequest Incoming { get; }

    /// <summary>The peer that asked.</summary>
    public string PeerId { get; }

    /// <summary>The peer id as tables show it (go-libp2p's short form, 12*Wn8fj).</summary>
    public string ShortId { get; }

    /// <summary>The id the asker chose; the answer carries it back.</summary>
    public string RequestId { get; }

    /// <summary>The request payload.</summary>
    public byte[] Payload { get; }

    /// <summary>The payload decoded as UTF-8, or null when it is not valid UTF-8.</summary>
    public string? Text { get; }

    /// <summary>When the whole request had arrived.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>True once answered, refused, or timed out (the asker gave up): it can no longer be answered.</summary>
    public bool IsCompleted => Incoming.IsCompleted;

    /// <inheritdoc/>
    public override string ToString() => Text ?? $"<{Payload.Length} bytes>";
}

internal static class RequestText
{
    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The text of a payload, or null when the bytes are not UTF-8 (binary payloads stay bytes).</summary>
    public static string? Decode(byte[] payload)
    {
        try
        {
            return s_strict.GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
