using System.Diagnostics;
using System.Net;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// A gossipsub v1.1 router (with v1.0 and floodsub peers): subscriptions, the mesh of each topic (D, D_lo, D_hi, D_lazy,
/// D_score, D_out), fanout, flood publishing, the heartbeat, the message and seen caches, IHAVE/IWANT gossip with
/// promises, GRAFT/PRUNE with backoff and peer exchange, StrictSign, and v1.1 peer scoring with its thresholds.
/// </summary>
/// <remarks>
/// It knows connections, not hosts: the layer above hands it every connection that may carry pubsub
/// (<see cref="AddConnection"/>, <see cref="RemoveConnection"/>) and the inbound streams of its protocols
/// (<see cref="HandleStreamAsync"/>). Its state sits behind one lock; what a step decides (frames to queue, messages to
/// deliver) runs after the lock is released. Signatures are checked outside the lock, so readers of several peers
/// verify in parallel, and a copy already seen is never verified. Everything a peer can make it hold is bounded:
/// RPC size and entry counts, topics per peer, IHAVE/IWANT per heartbeat, the caches, each peer's send queue.
/// </remarks>
public sealed class GossipRouter : IGossipStreamOwner, IAsyncDisposable
{
    private readonly GossipsubOptions _options;
    private readonly NodeIdentity _identity;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<PeerId, GossipPeer> _peers = [];
    private readonly Dictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private readonly MessageCache _cache;
    private readonly SeenCache _seen;
    private readonly PeerScore _score;
    private readonly AuthorKeyCache _keys = new();
    private readonly Dictionary<MessageId, (PeerId Peer, long Deadline)> _promises = [];
    private readonly List<Task> _closing = [];
    private readonly ITimer _heartbeat;
    private long _lastStampMicros;
    private long _heartbeats;
    private long _invalidRpcs, _graylistedRpcs, _ihaveIgnored, _iwantSent, _iwantIgnored, _brokenPromises, _subscriptionsIgnored;
    private int _inHeartbeat;
    private bool _disposed;

    public GossipRouter(NodeIdentity identity, GossipsubOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        _options = options ?? new GossipsubOptions();
        _options.Validate();
        _identity = identity;
        _time = _options.TimeProvider;
        _cache = new MessageCache(_options.HistoryLength, _options.HistoryGossip, _options.MaxMessageCacheBytes);
        _seen = new SeenCache(_time, _options.SeenTtl, _options.MaxSeenEntries);
        _score = new PeerScore(_options.Score, _time);
        _heartbeat = _time.CreateTimer(_ => Heartbeat(), null, _options.HeartbeatInterval, _options.HeartbeatInterval);
    }

    /// <summary>The protocol ids to serve inbound streams of, in order of preference.</summary>
    public static IReadOnlyList<string> Protocols => GossipsubProtocol.All;

    public GossipsubOptions Options => _options;

    public PeerId LocalPeerId => _identity.PeerId;

    /// <summary>Raised for each new valid message of a subscribed topic, outside the router's lock, on the reader's thread. Keep it quick.</summary>
    public event Action<GossipDelivery>? MessageDelivered;

    /// <summary>A peer with a good score offered others in a PRUNE (peer exchange): the layer above may dial them.</summary>
    public event Action<PeerId, string, IReadOnlyList<PeerId>>? PeerExchangeReceived;

    // ---- peers and streams ---------------------------------------------------------------------------------

    /// <summary>A connection that may carry pubsub: its peer becomes a candidate, and we open our stream to it.</summary>
    public void AddConnection(P2pConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
        {
            if (_disposed || !connection.IsOpen)
                return;
            if (!_peers.TryGetValue(connection.RemotePeer, out var peer))
            {
                var address = (connection.RemoteEndPoint as IPEndPoint)?.Address;
                peer = new GossipPeer(connection.RemotePeer, connection.Direction == Direction.Outbound, address);
                _peers[peer.Id] = peer;
                _score.AddPeer(peer.Id, address);
            }
            if (!peer.Connections.Contains(connection))
                peer.Connections.Add(connection);
            // Made after the peer is in the table: the writer's first question is which connection to use.
            peer.Writer ??= new GossipStreamWriter(peer.Id, this, _options.MaxQueuedBytesPerPeer, _options.MaxStreamAttempts);
        }
    }

    /// <summary>A connection closed (or is no longer the peer's): the peer leaves with its last one.</summary>
    public void RemoveConnection(P2pConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
        {
            if (!_peers.TryGetValue(connection.RemotePeer, out var peer) || !peer.Connections.Remove(connection))
                return;
            if (peer.Connections.Count == 0)
                RemovePeerLocked(peer);
        }
    }

    private void RemovePeerLocked(GossipPeer peer)
    {
        _peers.Remove(peer.Id);
        foreach (var topic in peer.Topics)
        {
            if (_topics.TryGetValue(topic, out var state))
            {
                state.Subscribers.Remove(peer.Id);
                if (state.Mesh.Remove(peer.Id))
                    _score.Prune(peer.Id, topic);
                state.Fanout.Remove(peer.Id);
                ForgetIfIdle(state);
            }
        }
        foreach (var state in _topics.Values)
            state.Mesh.Remove(peer.Id); // a mesh may hold a peer that unsubscribed in the same breath
        _score.RemovePeer(peer.Id);
        peer.Inbound?.Reset();
        if (peer.Writer is { } writer)
        {
            _closing.RemoveAll(t => t.IsCompleted);
            _closing.Add(writer.DisposeAsync().AsTask());
        }
    }

    /// <summary>
    /// Serves an inbound stream of one of <see cref="Protocols"/>: reads RPCs until the remote ends it. A stream on a
    /// connection the router was not given is reset. A malformed or oversized RPC resets the stream and counts against
    /// the peer.
    /// </summary>
    public async Task HandleStreamAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(connection);
        GossipPeer? peer;
        lock (_gate)
        {
            peer = _peers.GetValueOrDefault(connection.RemotePeer);
            if (peer is null || !peer.Connections.Contains(connection))
            {
                stream.Reset();
                return;
            }
            peer.Inbound?.Reset();
            peer.Inbound = stream;
            peer.Protocol ??= stream.Protocol;
        }
        try
        {
            while (await GossipsubProtocol.ReadRpcAsync(stream, _options.MaxInboundRpcSize, _options.Limits, cancellationToken).ConfigureAwait(false) is { } rpc)
            {
                if (!HandleRpc(peer, rpc))
                    break;
            }
        }
        catch (P2pProtocolException)
        {
            Interlocked.Increment(ref _invalidRpcs);
            lock (_gate)
                _score.AddPenalty(peer.Id, 1);
            stream.Reset();
        }
        finally
        {
            lock (_gate)
            {
                if (ReferenceEquals(peer.Inbound, stream))
                    peer.Inbound = null;
            }
        }
    }

    P2pConnection? IGossipStreamOwner.ConnectionOf(PeerId peer)
    {
        lock (_gate)
            return _peers.TryGetValue(peer, out var p) ? p.Connections.FirstOrDefault(c => c.IsOpen) : null;
    }

    byte[]? IGossipStreamOwner.OnStreamOpened(PeerId peer, string protocol)
    {
        lock (_gate)
        {
            if (!_peers.TryGetValue(peer, out var p))
                return null;
            p.Protocol = protocol;
            var subscribed = _topics.Values.Where(t => t.Subscribed).Select(t => new SubscriptionOption(true, t.Name)).ToList();
            return subscribed.Count == 0 ? null : GossipsubProtocol.Frame(new PubsubRpc { Subscriptions = subscribed });
        }
    }

    void IGossipStreamOwner.OnStreamAbandoned(PeerId peer, string reason)
    {
        Trace.TraceInformation("QuDag.P2p: gossipsub leaves out peer {0}: {1}", peer, reason);
        lock (_gate)
        {
            if (_peers.TryGetValue(peer, out var p))
            {
                p.Writer = null; // it ended by itself
                RemovePeerLocked(p);
            }
        }
    }

    // ---- our subscriptions and publishing ------------------------------------------------------------------

    /// <summary>Joins <paramref name="topic"/>: announces it to every peer and grafts up to D of its subscribers. False when already joined.</summary>
    public bool Subscribe(string topic)
    {
        CheckTopic(topic);
        var outbox = new GossipOutbox();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var state = Topic(topic);
            if (state.Subscribed)
                return false;
            state.Subscribed = true;
            long now = _time.GetTimestamp();
            // JOIN: the fanout peers first, then other subscribers, up to D.
            foreach (var id in state.Fanout.Where(id => _peers.TryGetValue(id, out var p) && CanGraft(p, topic, now)).Take(_options.D))
                state.Mesh.Add(id);
            state.Fanout.Clear();
            if (state.Mesh.Count < _options.D)
            {
                foreach (var p in Shuffled(EligibleForMesh(state, now)).Take(_options.D - state.Mesh.Count))
                    state.Mesh.Add(p.Id);
            }
            foreach (var peer in _peers.Values)
            {
                bool graft = state.Mesh.Contains(peer.Id);
                if (graft)
                    _score.Graft(peer.Id, topic);
                var rpc = new PubsubRpc
                {
                    Subscriptions = [new SubscriptionOption(true, topic)],
                    Control = graft ? new ControlMessage { Graft = [topic] } : null,
                };
                outbox.Send(peer, GossipsubProtocol.Frame(rpc), droppable: false);
            }
        }
        Flush(outbox);
        return true;
    }

    /// <summary>Leaves <paramref name="topic"/>: announces it and prunes every mesh peer with the unsubscribe backoff. False when not joined.</summary>
    public bool Unsubscribe(string topic)
    {
        CheckTopic(topic);
        var outbox = new GossipOutbox();
        lock (_gate)
        {
            if (_disposed || !_topics.TryGetValue(topic, out var state) || !state.Subscribed)
                return false;
            state.Subscribed = false;
            long until = _time.GetTimestamp() + Ticks(_options.UnsubscribeBackoff);
            foreach (var peer in _peers.Values)
            {
                bool prune = state.Mesh.Remove(peer.Id);
                if (prune)
                {
                    _score.Prune(peer.Id, topic);
                    peer.Backoff[topic] = until;
                }
                var rpc = new PubsubRpc
                {
                    Subscriptions = [new SubscriptionOption(false, topic)],
                    Control = prune ? new ControlMessage { Prune = [new ControlPrune(topic, [], (ulong)_options.UnsubscribeBackoff.TotalSeconds)] } : null,
                };
                outbox.Send(peer, GossipsubProtocol.Frame(rpc), droppable: false);
            }
            state.Mesh.Clear();
            ForgetIfIdle(state);
        }
        Flush(outbox);
        return true;
    }

    /// <summary>The topics we subscribe to.</summary>
    public IReadOnlyList<string> Subscriptions
    {
        get
        {
            lock (_gate)
                return _topics.Values.Where(t => t.Subscribed).Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>
    /// Signs and sends a message: to every subscriber above the publish threshold (flood publishing), or to the mesh
    /// (the fanout when not subscribed). Its sequence number stamps the publish time.
    /// </summary>
    /// <exception cref="GossipPublishException">No peer to send to (<see cref="GossipPublishError.InsufficientPeers"/>), or the message is too large.</exception>
    public GossipPublishResult Publish(string topic, ReadOnlyMemory<byte> data)
    {
        CheckTopic(topic);
        ulong seqno;
        lock (_gate)
        {
            if (_disposed)
                throw new GossipPublishException(GossipPublishError.Closed, topic, "The gossipsub router is closed.");
            long micros = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
            _lastStampMicros = Math.Max(_lastStampMicros + 1, micros);
            seqno = GossipSequenceNumbers.Stamp(_lastStampMicros);
        }
        var message = PubsubMessage.Sign(_identity, topic, data, seqno);
        var frame = GossipsubProtocol.Frame(new PubsubRpc { Messages = [message] });
        if (frame.Length > _options.MaxTransmitSize)
            throw new GossipPublishException(GossipPublishError.MessageTooLarge, topic,
                $"A message of {data.Length} bytes makes an RPC of {frame.Length} bytes, over the {_options.MaxTransmitSize} bytes peers accept (MaxTransmitSize).");
        var id = _options.MessageId(message);
        var outbox = new GossipOutbox();
        int sent;
        lock (_gate)
        {
            var state = Topic(topic);
            long now = _time.GetTimestamp();
            var targets = new HashSet<GossipPeer>();
            if (_options.FloodPublish)
            {
                foreach (var subscriber in state.Subscribers)
                {
                    if (_peers.TryGetValue(subscriber, out var p) && p.Protocol is not null && _score.Score(p.Id) >= _options.Thresholds.PublishThreshold)
                        targets.Add(p);
                }
            }
            if (!state.Subscribed)
            {
                // Fanout: kept for gossip and shown as the topic's peers, whether or not flood publishing sends wider.
                state.FanoutLastPublished = now;
                if (state.Fanout.Count < _options.D)
                {
                    foreach (var p in Shuffled(EligibleForFanout(state)).Take(_options.D - state.Fanout.Count))
                        state.Fanout.Add(p.Id);
                }
            }
            foreach (var member in state.Subscribed ? state.Mesh : state.Fanout)
            {
                if (_peers.TryGetValue(member, out var p))
                    targets.Add(p);
            }
            foreach (var subscriber in state.Subscribers)
            {
                if (_peers.TryGetValue(subscriber, out var p) && p.IsFloodsub)
                    targets.Add(p);
            }
            if (targets.Count == 0)
            {
                ForgetIfIdle(state);
                throw new GossipPublishException(GossipPublishError.InsufficientPeers, topic,
                    $"No peer to publish to on '{topic}': none of the {_peers.Count} pubsub peers subscribes to it (or all score below the publish threshold).");
            }
            _seen.Add(id);
            _cache.Put(id, message, frame);
            state.Published++;
            foreach (var p in targets)
                outbox.Send(p, frame, droppable: false, state);
            sent = targets.Count;
        }
        Flush(outbox);
        return new GossipPublishResult(id, sent, seqno);
    }

    // ---- inbound RPCs --------------------------------------------------------------------------------------

    /// <summary>Handles one RPC from <paramref name="peer"/>; false when the peer is no longer the router's.</summary>
    private bool HandleRpc(GossipPeer peer, PubsubRpc rpc)
    {
        var outbox = new GossipOutbox();
        lock (_gate)
        {
            if (!_peers.TryGetValue(peer.Id, out var current) || !ReferenceEquals(current, peer))
                return false;
            if (_score.Score(peer.Id) < _options.Thresholds.GraylistThreshold)
            {
                _graylistedRpcs++;
                return true;
            }
            foreach (var subscription in rpc.Subscriptions)
                HandleSubscription(peer, subscription, outbox);
        }
        foreach (var message in rpc.Messages)
            HandleMessage(peer, message, outbox);
        if (rpc.Control is { IsEmpty: false } control)
        {
            lock (_gate)
            {
                if (_peers.ContainsKey(peer.Id))
                    HandleControl(peer, control, outbox);
            }
        }
        Flush(outbox);
        return true;
    }

    private void HandleSubscription(GossipPeer peer, SubscriptionOption subscription, GossipOutbox outbox)
    {
        string topic = subscription.Topic;
        if (topic.Length == 0)
            return;
        if (subscription.Subscribe)
        {
            if (peer.Topics.Contains(topic))
                return;
            if (peer.Topics.Count >= _options.MaxTopicsPerPeer)
            {
                _subscriptionsIgnored++;
                return;
            }
            peer.Topics.Add(topic);
            var state = Topic(topic);
            state.Subscribers.Add(peer.Id);
            // Graft at once rather than at the next heartbeat (as js does), so a message right after the join is not lost.
            if (state.Subscribed && state.Mesh.Count < _options.DLow && CanGraft(peer, topic, _time.GetTimestamp()))
            {
                state.Mesh.Add(peer.Id);
                _score.Graft(peer.Id, topic);
                outbox.Send(peer, GossipsubProtocol.Frame(new PubsubRpc { Control = new ControlMessage { Graft = [topic] } }), droppable: false);
            }
        }
        else if (peer.Topics.Remove(topic) && _topics.TryGetValue(topic, out var state))
        {
            state.Subscribers.Remove(peer.Id);
            if (state.Mesh.Remove(peer.Id))
                _score.Prune(peer.Id, topic);
            state.Fanout.Remove(peer.Id);
            ForgetIfIdle(state);
        }
    }

    private void HandleMessage(GossipPeer peer, PubsubMessage message, GossipOutbox outbox)
    {
        MessageId id;
        try
        {
            id = _options.MessageId(message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            lock (_gate)
            {
                if (_topics.TryGetValue(message.Topic, out var t) && t.Subscribed)
                {
                    t.Invalid++;
                    _score.Invalid(peer.Id, message.Topic);
                }
            }
            return;
        }
        lock (_gate)
        {
            // Messages of topics we do not subscribe to are not ours to check or relay (rust ignores them too).
            if (!_topics.TryGetValue(message.Topic, out var state) || !state.Subscribed)
                return;
            if (_seen.Contains(id))
            {
                state.Duplicates++;
                _score.Duplicate(peer.Id, id, message.Topic);
                return;
            }
        }
        var check = message.Validate(_keys);
        lock (_gate)
        {
            if (!_topics.TryGetValue(message.Topic, out var state) || !state.Subscribed)
                return;
            if (check != SignatureCheck.Valid)
            {
                state.Invalid++;
                _score.Invalid(peer.Id, message.Topic);
                return;
            }
            var author = message.Author!.Value;
            if (author == LocalPeerId || !_seen.Add(id))
            {
                // Our own message back, or a copy whose twin another reader just took.
                state.Duplicates++;
                _score.Duplicate(peer.Id, id, message.Topic);
                return;
            }
            var frame = GossipsubProtocol.Frame(new PubsubRpc { Messages = [message] });
            _cache.Put(id, message, frame);
            state.Received++;
            _score.FirstDelivery(peer.Id, id, message.Topic);
            _promises.Remove(id);
            if (frame.Length <= _options.MaxTransmitSize)
            {
                foreach (var target in ForwardTargets(state, peer.Id, author, id))
                {
                    outbox.Send(target, frame, droppable: true, state);
                    state.Forwarded++;
                }
            }
            ulong seqno = message.SequenceNumber!.Value;
            outbox.Deliveries.Add(new GossipDelivery(message.Topic, author, peer.Id, message.Data, id, seqno, _time.GetUtcNow(),
                GossipSequenceNumbers.PublishedAt(seqno)));
        }
    }

    private IEnumerable<GossipPeer> ForwardTargets(TopicState state, PeerId source, PeerId author, MessageId id)
    {
        foreach (var member in state.Mesh)
        {
            if (member != source && member != author && _peers.TryGetValue(member, out var p) && p.DontWant?.Contains(id) != true)
                yield return p;
        }
        foreach (var subscriber in state.Subscribers)
        {
            if (subscriber != source && subscriber != author && _peers.TryGetValue(subscriber, out var p) && p.IsFloodsub)
                yield return p;
        }
    }

    private void HandleControl(GossipPeer peer, ControlMessage control, GossipOutbox outbox)
    {
        double score = _score.Score(peer.Id);
        long now = _time.GetTimestamp();
        HandleIHave(peer, control.IHave, score, now, outbox);
        HandleIWant(peer, control.IWant, score, outbox);
        var prunes = new List<ControlPrune>();
        foreach (var topic in control.Graft)
            HandleGraft(peer, topic, score, now, prunes);
        if (prunes.Count > 0)
            outbox.Send(peer, GossipsubProtocol.Frame(new PubsubRpc { Control = new ControlMessage { Prune = prunes } }), droppable: false);
        foreach (var prune in control.Prune)
            HandlePrune(peer, prune, score, now, outbox);
        if (control.IDontWant.Count > 0)
        {
            peer.DontWant ??= [];
            foreach (var id in control.IDontWant)
            {
                if (peer.DontWant.Count >= _options.MaxIHaveLength)
                    break;
                peer.DontWant.Add(id);
            }
        }
    }

    private void HandleIHave(GossipPeer peer, IReadOnlyList<ControlIHave> ihaves, double score, long now, GossipOutbox outbox)
    {
        if (ihaves.Count == 0)
            return;
        if (score < _options.Thresholds.GossipThreshold)
        {
            _ihaveIgnored += ihaves.Count;
            return;
        }
        var wanted = new HashSet<MessageId>();
        foreach (var ihave in ihaves)
        {
            if (++peer.IHaves > _options.MaxIHaveMessages || peer.Asked >= _options.MaxIHaveLength)
            {
                _ihaveIgnored++;
                continue;
            }
            if (!_topics.TryGetValue(ihave.Topic, out var state) || !state.Subscribed)
                continue;
            foreach (var id in ihave.MessageIds)
            {
                if (!_seen.Contains(id) && !_promises.ContainsKey(id))
                    wanted.Add(id);
            }
        }
        int room = _options.MaxIHaveLength - peer.Asked;
        if (wanted.Count == 0 || room <= 0)
            return;
        var ask = Shuffled(wanted).Take(room).ToList();
        peer.Asked += ask.Count;
        _iwantSent += ask.Count;
        // One promise per IWANT, for a random id of it (the spec's way to catch peers that announce and never deliver).
        _promises[ask[Random.Shared.Next(ask.Count)]] = (peer.Id, now + Ticks(_options.IWantFollowupTime));
        foreach (var chunk in ChunkIds(ask))
            outbox.Send(peer, GossipsubProtocol.Frame(new PubsubRpc { Control = new ControlMessage { IWant = chunk } }), droppable: false);
    }

    private void HandleIWant(GossipPeer peer, IReadOnlyList<MessageId> ids, double score, GossipOutbox outbox)
    {
        if (ids.Count == 0)
            return;
        if (score < _options.Thresholds.GossipThreshold)
        {
            _iwantIgnored += ids.Count;
            return;
        }
        foreach (var id in ids)
        {
            if (peer.IWantServed >= _options.MaxIWantPerHeartbeat || _cache.GetForPeer(id, peer, _options.GossipRetransmission) is not { } entry)
            {
                _iwantIgnored++;
                continue;
            }
            peer.IWantServed++;
            outbox.Send(peer, entry.Frame, droppable: true, _topics.GetValueOrDefault(entry.Message.Topic));
        }
    }

    private void HandleGraft(GossipPeer peer, string topic, double score, long now, List<ControlPrune> prunes)
    {
        if (!_topics.TryGetValue(topic, out var state) || !state.Subscribed)
        {
            prunes.Add(new ControlPrune(topic, [], null));
            return;
        }
        if (state.Mesh.Contains(peer.Id) || peer.IsFloodsub)
            return;
        if (peer.Backoff.TryGetValue(topic, out long until) && now < until)
        {
            // A GRAFT during our backoff: a behaviour penalty, doubled when it comes soon after the PRUNE (a flood).
            _score.AddPenalty(peer.Id, 1);
            long pruned = until - Ticks(_options.PruneBackoff);
            if (now < pruned + Ticks(_options.GraftFloodThreshold))
                _score.AddPenalty(peer.Id, 1);
            peer.Backoff[topic] = now + Ticks(_options.PruneBackoff);
            prunes.Add(Prune(peer, topic, withPeers: false));
            return;
        }
        if (score < 0 || (state.Mesh.Count >= _options.DHigh && !peer.Outbound))
        {
            peer.Backoff[topic] = now + Ticks(_options.PruneBackoff);
            prunes.Add(Prune(peer, topic, withPeers: score >= 0));
            return;
        }
        state.Mesh.Add(peer.Id);
        _score.Graft(peer.Id, topic);
    }

    private void HandlePrune(GossipPeer peer, ControlPrune prune, double score, long now, GossipOutbox outbox)
    {
        if (_topics.TryGetValue(prune.Topic, out var state) && state.Mesh.Remove(peer.Id))
            _score.Prune(peer.Id, prune.Topic);
        // The backoff the peer asks for (capped at an hour), at least ours.
        double seconds = Math.Min(3600, Math.Max(prune.BackoffSeconds ?? 0, _options.PruneBackoff.TotalSeconds));
        long until = now + Ticks(TimeSpan.FromSeconds(seconds));
        if (!peer.Backoff.TryGetValue(prune.Topic, out long known) || known < until)
        {
            if (peer.Backoff.Count < _options.MaxTopicsPerPeer || peer.Backoff.ContainsKey(prune.Topic))
                peer.Backoff[prune.Topic] = until;
        }
        if (prune.Peers.Count == 0 || score < _options.Thresholds.AcceptPXThreshold)
            return;
        var offered = new List<PeerId>();
        foreach (var entry in prune.Peers)
        {
            if (entry.PeerId is { } bytes && PeerId.TryFromBytes(bytes, out var id, out _) && id != LocalPeerId && !_peers.ContainsKey(id))
                offered.Add(id);
        }
        if (offered.Count > 0)
            outbox.PeerExchange.Add((peer.Id, prune.Topic, offered));
    }

    private ControlPrune Prune(GossipPeer peer, string topic, bool withPeers)
    {
        var exchange = new List<PeerExchangeEntry>();
        if (withPeers && _options.DoPeerExchange && peer.Protocol == GossipsubProtocol.MeshsubV11 && _topics.TryGetValue(topic, out var state))
        {
            foreach (var id in Shuffled(state.Subscribers.Where(s => s != peer.Id && _score.Score(s) >= 0)).Take(_options.PrunePeers))
                exchange.Add(new PeerExchangeEntry(id.Bytes.ToArray(), null));
        }
        ulong? backoff = peer.Protocol == GossipsubProtocol.MeshsubV11 ? (ulong)_options.PruneBackoff.TotalSeconds : null;
        return new ControlPrune(topic, exchange, backoff);
    }

    // ---- the heartbeat -------------------------------------------------------------------------------------

    /// <summary>Runs one heartbeat now (the timer runs them every <see cref="GossipsubOptions.HeartbeatInterval"/>).</summary>
    public void Heartbeat()
    {
        if (Interlocked.Exchange(ref _inHeartbeat, 1) != 0)
            return; // the previous one is still running
        try
        {
            var outbox = new GossipOutbox();
            lock (_gate)
            {
                if (_disposed)
                    return;
                HeartbeatLocked(outbox);
            }
            Flush(outbox);
        }
        catch (Exception ex)
        {
            Trace.TraceError("QuDag.P2p: a gossipsub heartbeat failed: {0}", ex);
        }
        finally
        {
            Volatile.Write(ref _inHeartbeat, 0);
        }
    }

    private void HeartbeatLocked(GossipOutbox outbox)
    {
        long tick = ++_heartbeats;
        long now = _time.GetTimestamp();
        _score.Refresh();
        foreach (var peer in _peers.Values)
        {
            peer.IHaves = peer.Asked = peer.IWantServed = 0;
            peer.DontWant = null;
            if (peer.Backoff.Count > 0)
            {
                foreach (var (topic, until) in peer.Backoff)
                {
                    if (now >= until)
                        peer.Backoff.Remove(topic);
                }
            }
        }
        foreach (var (id, promise) in _promises)
        {
            if (now < promise.Deadline)
                continue;
            _promises.Remove(id);
            _brokenPromises++;
            _score.AddPenalty(promise.Peer, 1);
        }
        var grafts = new Dictionary<GossipPeer, List<string>>();
        var prunes = new Dictionary<GossipPeer, List<ControlPrune>>();
        var ihaves = new Dictionary<GossipPeer, List<ControlIHave>>();
        foreach (var state in _topics.Values.ToList())
        {
            if (state.Subscribed)
            {
                MaintainMesh(state, tick, now, grafts, prunes);
                EmitGossip(state, state.Mesh, ihaves);
            }
            else if (state.Fanout.Count > 0 || state.FanoutLastPublished != 0)
            {
                MaintainFanout(state, now);
                EmitGossip(state, state.Fanout, ihaves);
            }
        }
        foreach (var peer in grafts.Keys.Union(prunes.Keys).Union(ihaves.Keys))
        {
            var graft = grafts.GetValueOrDefault(peer) ?? [];
            var prune = prunes.GetValueOrDefault(peer) ?? [];
            if (graft.Count > 0 || prune.Count > 0)
                outbox.Send(peer, GossipsubProtocol.Frame(new PubsubRpc { Control = new ControlMessage { Graft = graft, Prune = prune } }), droppable: false);
            foreach (var ihave in ihaves.GetValueOrDefault(peer) ?? [])
            {
                foreach (var chunk in ChunkIds(ihave.MessageIds))
                    outbox.Send(peer, GossipsubProtocol.Frame(new PubsubRpc { Control = new ControlMessage { IHave = [new ControlIHave(ihave.Topic, chunk)] } }), droppable: true);
            }
        }
        _cache.Shift();
        _seen.Prune();
    }

    private void MaintainMesh(TopicState state, long tick, long now, Dictionary<GossipPeer, List<string>> grafts, Dictionary<GossipPeer, List<ControlPrune>> prunes)
    {
        string topic = state.Name;
        void Graft(GossipPeer p)
        {
            state.Mesh.Add(p.Id);
            _score.Graft(p.Id, topic);
            (grafts.TryGetValue(p, out var list) ? list : grafts[p] = []).Add(topic);
        }
        void Drop(GossipPeer p, bool withPeers)
        {
            state.Mesh.Remove(p.Id);
            _score.Prune(p.Id, topic);
            p.Backoff[topic] = now + Ticks(_options.PruneBackoff);
            (prunes.TryGetValue(p, out var list) ? list : prunes[p] = []).Add(Prune(p, topic, withPeers));
        }
        // Peers with a negative score leave the mesh; gone ones are forgotten.
        foreach (var id in state.Mesh.ToList())
        {
            if (!_peers.TryGetValue(id, out var p))
                state.Mesh.Remove(id);
            else if (_score.Score(id) < 0)
                Drop(p, withPeers: false);
        }
        if (state.Mesh.Count < _options.DLow)
        {
            foreach (var p in Shuffled(EligibleForMesh(state, now)).Take(_options.D - state.Mesh.Count))
                Graft(p);
        }
        else if (state.Mesh.Count > _options.DHigh)
        {
            // Keep D_score by score, fill to D at random, then make sure D_out of them are outbound.
            var members = Shuffled(state.Mesh.Select(id => _peers[id])).ToList();
            var byScore = members.OrderByDescending(p => _score.Score(p.Id)).ToList();
            var keep = byScore.Take(_options.DScore).ToList();
            keep.AddRange(Shuffled(byScore.Skip(_options.DScore)).Take(_options.D - keep.Count));
            int outbound = keep.Count(p => p.Outbound);
            if (outbound < _options.DOut)
            {
                var spare = members.Where(p => p.Outbound && !keep.Contains(p)).Take(_options.DOut - outbound).ToList();
                for (int i = keep.Count - 1; i >= _options.DScore && spare.Count > 0; i--)
                {
                    if (keep[i].Outbound)
                        continue;
                    keep[i] = spare[^1];
                    spare.RemoveAt(spare.Count - 1);
                }
            }
            foreach (var p in members.Where(p => !keep.Contains(p)))
                Drop(p, withPeers: true);
        }
        if (state.Mesh.Count >= _options.DLow)
        {
            int outbound = state.Mesh.Count(id => _peers[id].Outbound);
            if (outbound < _options.DOut)
            {
                foreach (var p in Shuffled(EligibleForMesh(state, now).Where(p => p.Outbound)).Take(_options.DOut - outbound))
                    Graft(p);
            }
        }
        if (tick % _options.OpportunisticGraftTicks == 0 && state.Mesh.Count > 1 && _score.Enabled)
        {
            var scores = state.Mesh.Select(id => _score.Score(id)).Order().ToList();
            double median = scores[scores.Count / 2];
            if (median < _options.Thresholds.OpportunisticGraftThreshold)
            {
                foreach (var p in Shuffled(EligibleForMesh(state, now).Where(p => _score.Score(p.Id) > median)).Take(_options.OpportunisticGraftPeers))
                    Graft(p);
            }
        }
    }

    private void MaintainFanout(TopicState state, long now)
    {
        if (_time.GetElapsedTime(state.FanoutLastPublished, now) > _options.FanoutTtl)
        {
            state.Fanout.Clear();
            state.FanoutLastPublished = 0;
            ForgetIfIdle(state);
            return;
        }
        state.Fanout.RemoveWhere(id => !state.Subscribers.Contains(id) || _score.Score(id) < _options.Thresholds.PublishThreshold);
        if (state.Fanout.Count < _options.D)
        {
            foreach (var p in Shuffled(EligibleForFanout(state)).Take(_options.D - state.Fanout.Count))
                state.Fanout.Add(p.Id);
        }
    }

    private void EmitGossip(TopicState state, HashSet<PeerId> exclude, Dictionary<GossipPeer, List<ControlIHave>> ihaves)
    {
        var ids = _cache.GossipIds(state.Name);
        if (ids.Count == 0)
            return;
        if (ids.Count > _options.MaxIHaveLength)
            ids = Shuffled(ids).Take(_options.MaxIHaveLength).ToList();
        var eligible = state.Subscribers
            .Where(id => !exclude.Contains(id) && _peers.TryGetValue(id, out var p) && p.IsMeshsub && _score.Score(id) >= _options.Thresholds.GossipThreshold)
            .Select(id => _peers[id]).ToList();
        int count = Math.Max(_options.DLazy, (int)(_options.GossipFactor * eligible.Count));
        foreach (var p in Shuffled(eligible).Take(count))
            (ihaves.TryGetValue(p, out var list) ? list : ihaves[p] = []).Add(new ControlIHave(state.Name, ids));
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private IEnumerable<GossipPeer> EligibleForMesh(TopicState state, long now)
    {
        foreach (var id in state.Subscribers)
        {
            if (!state.Mesh.Contains(id) && _peers.TryGetValue(id, out var p) && CanGraft(p, state.Name, now))
                yield return p;
        }
    }

    private IEnumerable<GossipPeer> EligibleForFanout(TopicState state)
    {
        foreach (var id in state.Subscribers)
        {
            if (!state.Fanout.Contains(id) && _peers.TryGetValue(id, out var p) && p.IsMeshsub && _score.Score(id) >= _options.Thresholds.PublishThreshold)
                yield return p;
        }
    }

    private bool CanGraft(GossipPeer peer, string topic, long now) =>
        peer.IsMeshsub && peer.Topics.Contains(topic) && !peer.InBackoff(topic, now) && _score.Score(peer.Id) >= 0;

    private TopicState Topic(string topic)
    {
        if (!_topics.TryGetValue(topic, out var state))
            _topics[topic] = state = new TopicState(topic);
        return state;
    }

    private void ForgetIfIdle(TopicState state)
    {
        if (state.IsIdle)
            _topics.Remove(state.Name);
    }

    /// <summary>Splits ids into lists that each fit an RPC under MaxTransmitSize.</summary>
    private IEnumerable<List<MessageId>> ChunkIds(IReadOnlyList<MessageId> ids)
    {
        int budget = _options.MaxTransmitSize - 2048; // the topic, tags and lengths
        var chunk = new List<MessageId>();
        int size = 0;
        foreach (var id in ids)
        {
            int cost = id.Length + 4;
            if (chunk.Count > 0 && size + cost > budget)
            {
                yield return chunk;
                chunk = [];
                size = 0;
            }
            chunk.Add(id);
            size += cost;
        }
        if (chunk.Count > 0)
            yield return chunk;
    }

    private static List<T> Shuffled<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
        return list;
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static void CheckTopic(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (System.Text.Encoding.UTF8.GetByteCount(topic) > RpcLimits.Default.MaxTopicLength)
            throw new ArgumentException($"A topic is at most {RpcLimits.Default.MaxTopicLength} bytes of UTF-8.", nameof(topic));
    }

    /// <summary>Queues the frames decided, then delivers messages and peer exchange: all outside the lock.</summary>
    private void Flush(GossipOutbox outbox)
    {
        foreach (var (peer, frame, droppable, topic) in outbox.Frames)
        {
            if (peer.Writer is { } writer && !writer.Enqueue(frame, droppable) && topic is not null)
                Interlocked.Increment(ref topic.Dropped);
        }
        foreach (var delivery in outbox.Deliveries)
        {
            try
            {
                MessageDelivered?.Invoke(delivery);
            }
            catch (Exception ex)
            {
                Trace.TraceWarning("QuDag.P2p: a gossipsub MessageDelivered handler threw: {0}", ex);
            }
        }
        foreach (var (from, topic, peers) in outbox.PeerExchange)
        {
            try
            {
                PeerExchangeReceived?.Invoke(from, topic, peers);
            }
            catch (Exception ex)
            {
                Trace.TraceWarning("QuDag.P2p: a gossipsub PeerExchangeReceived handler threw: {0}", ex);
            }
        }
    }

    // ---- figures --------------------------------------------------------------------------------------------

    /// <summary>Every topic the router knows (subscribed, published to, or a peer's), with its figures.</summary>
    public IReadOnlyList<GossipTopicStatistics> GetTopics()
    {
        lock (_gate)
            return _topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal).Select(Describe).ToArray();
    }

    /// <summary>One topic's figures; null when the router knows nothing of it.</summary>
    public GossipTopicStatistics? GetTopic(string topic)
    {
        lock (_gate)
            return _topics.TryGetValue(topic, out var state) ? Describe(state) : null;
    }

    private static GossipTopicStatistics Describe(TopicState t) => new()
    {
        Topic = t.Name,
        Subscribed = t.Subscribed,
        MeshPeers = (t.Subscribed ? t.Mesh : t.Fanout).ToArray(),
        Subscribers = t.Subscribers.ToArray(),
        Published = t.Published,
        Received = t.Received,
        Duplicates = t.Duplicates,
        Invalid = t.Invalid,
        Forwarded = t.Forwarded,
        Dropped = Interlocked.Read(ref t.Dropped),
    };

    /// <summary>The peers the router knows.</summary>
    public IReadOnlyList<GossipPeerInfo> GetPeers()
    {
        lock (_gate)
        {
            return _peers.Values.Select(p => new GossipPeerInfo
            {
                PeerId = p.Id,
                Protocol = p.Protocol,
                Topics = p.Topics.Order(StringComparer.Ordinal).ToArray(),
                Mesh = _topics.Values.Where(t => t.Mesh.Contains(p.Id)).Select(t => t.Name).Order(StringComparer.Ordinal).ToArray(),
                Score = _score.Score(p.Id),
                Outbound = p.Outbound,
            }).ToArray();
        }
    }

    /// <summary>A peer's v1.1 score (also for a peer gone less than RetainScore ago); 0 when unknown or scoring is off.</summary>
    public double GetScore(PeerId peer)
    {
        lock (_gate)
            return _score.Score(peer);
    }

    /// <summary>Router-wide counts.</summary>
    public GossipRouterStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new GossipRouterStatistics
            {
                InvalidRpcs = Interlocked.Read(ref _invalidRpcs),
                GraylistedRpcs = _graylistedRpcs,
                IHaveIgnored = _ihaveIgnored,
                IWantSent = _iwantSent,
                IWantIgnored = _iwantIgnored,
                BrokenPromises = _brokenPromises,
                SubscriptionsIgnored = _subscriptionsIgnored,
                QueueDrops = _peers.Values.Sum(p => p.Writer?.Dropped ?? 0),
                CachedMessages = _cache.Count,
                CachedBytes = _cache.Bytes,
                SeenMessages = _seen.Count,
                Heartbeats = _heartbeats,
            };
        }
    }

    /// <summary>Stops the heartbeat and closes every outbound stream (a clean end the remotes read); inbound streams are reset.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] closing;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var peer in _peers.Values.ToList())
                RemovePeerLocked(peer);
            closing = [.. _closing];
        }
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(closing).ConfigureAwait(false);
    }
}
