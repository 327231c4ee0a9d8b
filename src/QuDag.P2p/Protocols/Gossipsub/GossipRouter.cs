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
/// <para>
/// It knows connections, not hosts: the layer above hands it every connection that may carry pubsub
/// (<see cref="AddConnection"/>, <see cref="RemoveConnection"/>) and the inbound streams of its protocols
/// (<see cref="HandleStreamAsync"/>).
/// </para>
/// <para>
/// The state lives in parts that each own theirs, as rust's gossipsub separates them: the peers (here, with their
/// connections and per-heartbeat quotas), <see cref="GossipMesh"/> (topics, mesh, fanout, backoffs),
/// <see cref="GossipExchange"/> (IHAVE/IWANT and promises), <see cref="MessageCache"/>, <see cref="SeenCache"/>,
/// <see cref="PeerScore"/>. One lock guards them all, on purpose: one step (a GRAFT, a message, a heartbeat) reads and
/// changes several parts at once, so per-part locks would need an order and would save nothing, since what is done
/// under the lock is dictionary work. What is slow runs outside it: signature checks (readers of several peers verify
/// in parallel, and a copy already seen is never verified), frame encoding of a publish, peer-record checks, writes,
/// and the handlers (each step collects them in a <see cref="GossipOutbox"/> and flushes it after the lock).
/// </para>
/// <para>Everything a peer can make it hold is bounded: RPC size and entry counts, topics per peer, IHAVE/IWANT per
/// heartbeat, the caches, each peer's send queue.</para>
/// </remarks>
public sealed class GossipRouter : IGossipStreamOwner, IAsyncDisposable
{
    private readonly GossipsubOptions _options;
    private readonly NodeIdentity _identity;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly GossipPeerTable _peers = new();
    private readonly GossipMesh _mesh;
    private readonly GossipExchange _exchange;
    private readonly MessageCache _cache;
    private readonly SeenCache _seen;
    private readonly PeerScore _score;
    private readonly AuthorKeyCache _keys = new();
    private readonly GossipCounters _counters = new();
    private readonly ITimer _heartbeat;
    private long _lastStampMicros;
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
        _mesh = new GossipMesh(_options, _peers.All, _score);
        _exchange = new GossipExchange(_options, _peers.All, _score, _cache, _seen, _counters);
        _heartbeat = _time.CreateTimer(_ => Heartbeat(), null, _options.HeartbeatInterval, _options.HeartbeatInterval);
    }

    /// <summary>The protocol ids to serve inbound streams of, in order of preference.</summary>
    public static IReadOnlyList<string> Protocols => GossipsubProtocol.All;

    public GossipsubOptions Options => _options;

    public PeerId LocalPeerId => _identity.PeerId;

    /// <summary>Raised for each new valid message of a subscribed topic, outside the router's lock, on the reader's thread. Keep it quick.</summary>
    public event Action<GossipDelivery>? MessageDelivered;

    /// <summary>
    /// A peer scoring at least <see cref="PeerScoreThresholds.AcceptPXThreshold"/> pruned us from a topic we joined and
    /// offered other peers (peer exchange): the layer above may dial them. Each offer's addresses come from its signed
    /// peer record, checked here (an offer whose record does not verify is left out); an offer without a record has none.
    /// Raised outside the lock, on the reader's thread.
    /// </summary>
    public event Action<GossipPeerExchange>? PeerExchangeReceived;

    // ---- peers and streams ---------------------------------------------------------------------------------

    /// <summary>A connection that may carry pubsub: its peer becomes a candidate, and we open our stream to it.</summary>
    public void AddConnection(P2pConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
        {
            if (_disposed || !connection.IsOpen)
                return;
            if (_peers.Add(connection, id => new GossipStreamWriter(id, this, _options.MaxQueuedBytesPerPeer, _options.MaxStreamAttempts), out var peer))
                _score.AddPeer(peer.Id, peer.Address);
        }
    }

    /// <summary>A connection closed (or is no longer the peer's): the peer leaves with its last one.</summary>
    public void RemoveConnection(P2pConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
        {
            if (_peers.RemoveConnection(connection) is { } gone)
                RemovePeerLocked(gone);
        }
    }

    private void RemovePeerLocked(GossipPeer peer)
    {
        _peers.Remove(peer);
        _mesh.RemovePeer(peer);
        _score.RemovePeer(peer.Id);
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
            if (!_peers.TryGet(connection.RemotePeer, out peer) || !peer.Connections.Contains(connection))
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
            _counters.InvalidRpc();
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
            return _peers.TryGet(peer, out var p) ? p.Connections.FirstOrDefault(c => c.IsOpen) : null;
    }

    byte[]? IGossipStreamOwner.OnStreamOpened(PeerId peer, string protocol)
    {
        lock (_gate)
        {
            if (!_peers.TryGet(peer, out var p))
                return null;
            p.Protocol = protocol;
            var subscribed = _mesh.Topics.Where(t => t.Subscribed).Select(t => new SubscriptionOption(true, t.Name)).ToList();
            return subscribed.Count == 0 ? null : GossipsubProtocol.Frame(new PubsubRpc { Subscriptions = subscribed });
        }
    }

    void IGossipStreamOwner.OnStreamAbandoned(PeerId peer, string reason)
    {
        Trace.TraceInformation("QuDag.P2p: gossipsub leaves out peer {0}: {1}", peer, reason);
        lock (_gate)
        {
            if (_peers.TryGet(peer, out var p))
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
            var state = _mesh.GetOrAdd(topic);
            if (state.Subscribed)
                return false;
            var grafted = _mesh.Join(state, _time.GetTimestamp());
            foreach (var peer in _peers.Values)
            {
                var rpc = new PubsubRpc
                {
                    Subscriptions = [new SubscriptionOption(true, topic)],
                    Control = grafted.Contains(peer.Id) ? new ControlMessage { Graft = [topic] } : null,
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
            if (_disposed || _mesh.Joined(topic) is not { } state)
                return false;
            var pruned = _mesh.Leave(state, _time.GetTimestamp()).ToHashSet();
            var prune = new ControlMessage { Prune = [new ControlPrune(topic, [], (ulong)_options.UnsubscribeBackoff.TotalSeconds)] };
            foreach (var peer in _peers.Values)
            {
                var rpc = new PubsubRpc
                {
                    Subscriptions = [new SubscriptionOption(false, topic)],
                    Control = pruned.Contains(peer.Id) ? prune : null,
                };
                outbox.Send(peer, GossipsubProtocol.Frame(rpc), droppable: false);
            }
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
                return _mesh.Topics.Where(t => t.Subscribed).Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
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
            var state = _mesh.GetOrAdd(topic);
            var targets = new HashSet<GossipPeer>();
            if (_options.FloodPublish)
            {
                foreach (var subscriber in state.Subscribers)
                {
                    if (_peers.TryGet(subscriber, out var p) && p.Protocol is not null && _score.Score(p.Id) >= _options.Thresholds.PublishThreshold)
                        targets.Add(p);
                }
            }
            // Fanout: kept for gossip and shown as the topic's peers, whether or not flood publishing sends wider.
            if (!state.Subscribed)
                _mesh.Published(state, _time.GetTimestamp());
            foreach (var member in state.Members)
            {
                if (_peers.TryGet(member, out var p))
                    targets.Add(p);
            }
            foreach (var subscriber in state.Subscribers)
            {
                if (_peers.TryGet(subscriber, out var p) && p.IsFloodsub)
                    targets.Add(p);
            }
            if (targets.Count == 0)
            {
                _mesh.ForgetIfIdle(state);
                throw new GossipPublishException(GossipPublishError.InsufficientPeers, topic,
                    $"No peer to publish to on '{topic}': none of the {_peers.Count} pubsub peers subscribes to it (or all score below the publish threshold).");
            }
            _seen.Add(id);
            _cache.Put(id, message, frame);
            state.CountPublished();
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
            if (!_peers.IsCurrent(peer))
                return false;
            if (_score.Score(peer.Id) < _options.Thresholds.GraylistThreshold)
            {
                _counters.GraylistedRpc();
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
                if (_peers.IsCurrent(peer))
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
        if (!subscription.Subscribe)
        {
            if (peer.Unsubscribe(topic))
                _mesh.RemoveSubscriber(peer.Id, topic);
            return;
        }
        if (!peer.Subscribe(topic, _options.MaxTopicsPerPeer, out bool overLimit))
        {
            if (overLimit)
                _counters.SubscriptionIgnored();
            return;
        }
        if (_mesh.AddSubscriber(peer, topic, _time.GetTimestamp()))
            outbox.SendControl(peer, new ControlMessage { Graft = [topic] });
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
                if (_mesh.Joined(message.Topic) is { } t)
                {
                    t.CountInvalid();
                    _score.Invalid(peer.Id, message.Topic);
                }
            }
            return;
        }
        lock (_gate)
        {
            // Messages of topics we do not subscribe to are not ours to check or relay (rust ignores them too).
            if (_mesh.Joined(message.Topic) is not { } state)
                return;
            if (_seen.Contains(id))
            {
                state.CountDuplicate();
                _score.Duplicate(peer.Id, id, message.Topic);
                return;
            }
        }
        var check = message.Validate(_keys);
        lock (_gate)
        {
            if (_mesh.Joined(message.Topic) is not { } state)
                return;
            if (check != SignatureCheck.Valid)
            {
                state.CountInvalid();
                _score.Invalid(peer.Id, message.Topic);
                return;
            }
            var author = message.Author!.Value;
            if (author == LocalPeerId || !_seen.Add(id))
            {
                // Our own message back, or a copy whose twin another reader just took.
                state.CountDuplicate();
                _score.Duplicate(peer.Id, id, message.Topic);
                return;
            }
            var frame = GossipsubProtocol.Frame(new PubsubRpc { Messages = [message] });
            _cache.Put(id, message, frame);
            state.CountReceived();
            _score.FirstDelivery(peer.Id, id, message.Topic);
            _exchange.Delivered(id);
            if (frame.Length <= _options.MaxTransmitSize)
            {
                foreach (var target in ForwardTargets(state, peer.Id, author, id))
                {
                    outbox.Send(target, frame, droppable: true, state);
                    state.CountForwarded();
                }
            }
            ulong seqno = message.SequenceNumber!.Value;
            outbox.Deliveries.Add(new GossipDelivery(message.Topic, author, peer.Id, message.Data, id, seqno, _time.GetUtcNow(),
                GossipSequenceNumbers.PublishedAt(seqno)));
        }
    }

    /// <summary>Forwarding: the mesh (but not who sent it, its author, or a peer that said IDONTWANT) and every floodsub subscriber.</summary>
    private IEnumerable<GossipPeer> ForwardTargets(TopicState state, PeerId source, PeerId author, MessageId id)
    {
        foreach (var member in state.Mesh)
        {
            if (member != source && member != author && _peers.TryGet(member, out var p) && !p.Quota.DoesNotWant(id))
                yield return p;
        }
        foreach (var subscriber in state.Subscribers)
        {
            if (subscriber != source && subscriber != author && _peers.TryGet(subscriber, out var p) && p.IsFloodsub)
                yield return p;
        }
    }

    private void HandleControl(GossipPeer peer, ControlMessage control, GossipOutbox outbox)
    {
        double score = _score.Score(peer.Id);
        long now = _time.GetTimestamp();
        _exchange.OnIHave(peer, control.IHave, score, now, _mesh, outbox);
        _exchange.OnIWant(peer, control.IWant, score, _mesh, outbox);
        var prunes = new List<ControlPrune>();
        foreach (var topic in control.Graft)
        {
            if (_mesh.OnGraft(peer, topic, score, now) is { } prune)
                prunes.Add(prune);
        }
        if (prunes.Count > 0)
            outbox.SendControl(peer, new ControlMessage { Prune = prunes });
        int exchangeRoom = _options.PrunePeers; // records checked per RPC: each costs a signature verification
        foreach (var prune in control.Prune)
        {
            _mesh.OnPrune(peer, prune, now);
            if (prune.Peers.Count == 0 || exchangeRoom <= 0)
                continue;
            if (score < _options.Thresholds.AcceptPXThreshold || _mesh.Joined(prune.Topic) is null)
            {
                _counters.PeerExchangeIgnored();
                continue;
            }
            var entries = prune.Peers.Take(exchangeRoom).ToList();
            exchangeRoom -= entries.Count;
            outbox.PeerExchange.Add((peer.Id, prune.Topic, entries));
        }
        if (control.IDontWant.Count > 0)
            peer.Quota.DontWant(control.IDontWant, _options.MaxIHaveLength);
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
        long tick = _counters.Heartbeat();
        long now = _time.GetTimestamp();
        _score.Refresh();
        foreach (var peer in _peers.Values)
            peer.Quota.Reset();
        _mesh.Backoff.Expire(now);
        foreach (var peer in _exchange.TakeBrokenPromises(now))
            _score.AddPenalty(peer, 1);
        var control = new HeartbeatControl();
        var gossip = new GossipPlan();
        foreach (var state in _mesh.Topics.ToList())
        {
            if (state.Subscribed)
            {
                _mesh.Maintain(state, tick, now, control);
                _exchange.Emit(state, state.Mesh, gossip);
            }
            else if (state.Fanout.Count > 0 || state.FanoutLastPublished != 0)
            {
                _mesh.MaintainFanout(state, now);
                _exchange.Emit(state, state.Fanout, gossip);
            }
        }
        control.SendTo(outbox);
        _exchange.Send(gossip, outbox);
        _cache.Shift();
        _seen.Prune();
    }

    // ---- helpers --------------------------------------------------------------------------------------------

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
            if (peer.Writer is { } writer && !writer.Enqueue(frame, droppable))
                topic?.CountDropped();
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
        foreach (var (from, topic, entries) in outbox.PeerExchange)
        {
            var offers = PeerExchangeOffers.Check(entries, LocalPeerId, _counters);
            if (offers.Count == 0)
                continue;
            try
            {
                PeerExchangeReceived?.Invoke(new GossipPeerExchange(from, topic, offers));
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
            return _mesh.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => t.Describe()).ToArray();
    }

    /// <summary>One topic's figures; null when the router knows nothing of it.</summary>
    public GossipTopicStatistics? GetTopic(string topic)
    {
        lock (_gate)
            return _mesh.Find(topic)?.Describe();
    }

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
                Mesh = _mesh.MeshesOf(p.Id).Order(StringComparer.Ordinal).ToArray(),
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
            return _counters.Snapshot() with
            {
                QueueDrops = _peers.Values.Sum(p => p.Writer?.Dropped ?? 0),
                CachedMessages = _cache.Count,
                CachedBytes = _cache.Bytes,
                SeenMessages = _seen.Count,
            };
        }
    }

    /// <summary>Completes once the outbound streams closing now have closed (for tests).</summary>
    internal Task WritersClosedAsync()
    {
        lock (_gate)
            return Task.WhenAll(_peers.Closing);
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
            closing = _peers.Closing;
        }
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(closing).ConfigureAwait(false);
    }
}
