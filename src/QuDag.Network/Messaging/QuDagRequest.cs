namespace QuDag.Network.Messaging;

/// <summary>A response to a request this node sent on <c>/qudag/req/1.0.0</c>.</summary>
/// <param name="PeerId">The peer that answered.</param>
/// <param name="RequestId">The request id the response carries.</param>
/// <param name="Payload">The response payload.</param>
/// <param name="Latency">From opening the stream to the last byte of the response.</param>
public sealed record QuDagResponse(PeerId PeerId, string RequestId, byte[] Payload, TimeSpan Latency);

/// <summary>
/// A request a peer sent this node on <c>/qudag/req/1.0.0</c>, waiting for its answer. Answer it once with
/// <see cref="RespondAsync"/>; one left unanswered past the request timeout is reset, as rust-libp2p does.
/// </summary>
public sealed class IncomingRequest
{
    private readonly TaskCompletionSource<byte[]?> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal IncomingRequest(PeerId peerId, string requestId, byte[] payload, DateTimeOffset receivedAt)
    {
        PeerId = peerId;
        RequestId = requestId;
        Payload = payload;
        ReceivedAt = receivedAt;
    }

    /// <summary>The peer that asked.</summary>
    public PeerId PeerId { get; }

    /// <summary>The request id it chose.</summary>
    public string RequestId { get; }

    /// <summary>The request payload.</summary>
    public byte[] Payload { get; }

    /// <summary>When the whole request had arrived.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>True once answered, refused or timed out.</summary>
    public bool IsCompleted => _response.Task.IsCompleted;

    internal Task<byte[]?> Response => _response.Task;

    /// <summary>Sends the response (with this request's id) and closes the stream.</summary>
    /// <exception cref="InvalidOperationException">It was already answered, refused, or timed out.</exception>
    public Task RespondAsync(ReadOnlyMemory<byte> payload)
    {
        if (!_response.TrySetResult(payload.ToArray()))
            throw new InvalidOperationException($"Request '{RequestId}' from {PeerId} was already answered, refused or timed out.");
        return Task.CompletedTask;
    }

    /// <summary>Refuses the request: the stream is reset and the peer sees an error.</summary>
    public void Reject() => _response.TrySetResult(null);

    internal void Expire() => _response.TrySetResult(null);
}
