using System.Runtime.CompilerServices;
using QuDag.Network.Messaging;

namespace QuDag.PowerShell;

/// <summary>
/// A session's inbound requests for Receive-QuDagRequest: the manager's queue, plus the requests a filtered receive
/// (-PeerId) set aside, so filtering loses nothing. Requests that completed while set aside (the asker timed out,
/// or the session restarted) are dropped when seen: they can no longer be answered.
/// </summary>
internal sealed class RequestInbox
{
    private static readonly ConditionalWeakTable<QuDagSession, RequestInbox> s_inboxes = [];
    // Set aside by filtered receives, in arrival order; guarded by itself.
    private readonly List<IncomingRequest> _stash = [];
    // Written by Receive-QuDagRequest and not yet answered, so Send-QuDagResponse can find one by peer and request id
    // (a CSV row, a JSON object, a mock's object). Each leaves when it completes: answered, or its asker gave up at
    // the request timeout, which bounds the list. Guarded by itself.
    private readonly List<IncomingRequest> _handedOut = [];

    public static RequestInbox Of(QuDagSession session) => s_inboxes.GetValue(session, static _ => new RequestInbox());

    /// <summary>The next request still waiting for its answer, from <paramref name="from"/> if given.</summary>
    public async Task<IncomingRequest> ReceiveAsync(QuDagSession session, PeerId? from, CancellationToken cancellationToken)
    {
        var request = await NextAsync(session, from, cancellationToken).ConfigureAwait(false);
        lock (_handedOut)
        {
            _handedOut.RemoveAll(static r => r.IsCompleted);
            _handedOut.Add(request);
        }
        return request;
    }

    /// <summary>The oldest request received from <paramref name="peer"/> with this id that still waits for its answer.</summary>
    public IncomingRequest? FindPending(PeerId peer, string requestId)
    {
        lock (_handedOut)
        {
            _handedOut.RemoveAll(static r => r.IsCompleted);
            return _handedOut.FirstOrDefault(r => r.PeerId == peer && r.RequestId == requestId);
        }
    }

    private async Task<IncomingRequest> NextAsync(QuDagSession session, PeerId? from, CancellationToken cancellationToken)
    {
        lock (_stash)
        {
            _stash.RemoveAll(static r => r.IsCompleted);
            var index = _stash.FindIndex(r => from is null || r.PeerId == from);
            if (index >= 0)
            {
                var kept = _stash[index];
                _stash.RemoveAt(index); // the rest keep their order
                return kept;
            }
        }
        while (true)
        {
            var request = await session.Manager.ReceiveRequestAsync(cancellationToken).ConfigureAwait(false);
            if (request.IsCompleted)
                continue;
            if (from is null || request.PeerId == from)
                return request;
            lock (_stash)
                _stash.Add(request);
        }
    }
}
