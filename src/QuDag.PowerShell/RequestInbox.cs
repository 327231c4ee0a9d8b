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

    public static RequestInbox Of(QuDagSession session) => s_inboxes.GetValue(session, static _ => new RequestInbox());

    /// <summary>The next request still waiting for its answer, from <paramref name="from"/> if given.</summary>
    public async Task<IncomingRequest> ReceiveAsync(QuDagSession session, PeerId? from, CancellationToken cancellationToken)
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
