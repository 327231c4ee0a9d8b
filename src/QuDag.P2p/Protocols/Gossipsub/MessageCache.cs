namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The messages of the last <see cref="GossipsubOptions.HistoryLength"/> heartbeats, by id, for IWANT; the ids of the
/// last <see cref="GossipsubOptions.HistoryGossip"/> for IHAVE. Bounded by bytes as well: past the cap the oldest go
/// first. Owned by the router, called under its lock.
/// </summary>
internal sealed class MessageCache
{
    private readonly int _gossipWindows;
    private readonly long _maxBytes;
    private readonly Dictionary<MessageId, Entry> _entries = [];
    private readonly LinkedList<List<MessageId>> _windows = new();
    private long _bytes;

    public MessageCache(int historyLength, int historyGossip, long maxBytes)
    {
        _gossipWindows = historyGossip;
        _maxBytes = maxBytes;
        for (int i = 0; i < historyLength; i++)
            _windows.AddLast(new List<MessageId>());
    }

    public int Count => _entries.Count;

    public long Bytes => _bytes;

    public bool Contains(MessageId id) => _entries.ContainsKey(id);

    public void Put(MessageId id, PubsubMessage message, byte[] frame)
    {
        if (_entries.ContainsKey(id))
            return;
        _entries[id] = new Entry(message, frame);
        _windows.First!.Value.Add(id);
        _bytes += frame.Length;
        while (_bytes > _maxBytes && EvictOldest())
        {
        }
    }

    /// <summary>The message and its ready-made RPC frame, counting one more transmission to <paramref name="peer"/>; null when unknown or sent to it too often.</summary>
    public Entry? GetForPeer(MessageId id, object peer, int maxTransmissions)
    {
        if (!_entries.TryGetValue(id, out var entry))
            return null;
        entry.Transmissions ??= [];
        int sent = entry.Transmissions.GetValueOrDefault(peer);
        if (sent >= maxTransmissions)
            return null;
        entry.Transmissions[peer] = sent + 1;
        return entry;
    }

    public Entry? Get(MessageId id) => _entries.GetValueOrDefault(id);

    /// <summary>The ids of <paramref name="topic"/> in the gossip windows, newest first.</summary>
    public List<MessageId> GossipIds(string topic)
    {
        var ids = new List<MessageId>();
        int window = 0;
        for (var node = _windows.First; node is not null && window < _gossipWindows; node = node.Next, window++)
        {
            foreach (var id in node.Value)
            {
                if (_entries.TryGetValue(id, out var entry) && entry.Message.Topic == topic)
                    ids.Add(id);
            }
        }
        return ids;
    }

    /// <summary>Starts a new window and drops the oldest (once per heartbeat).</summary>
    public void Shift()
    {
        var oldest = _windows.Last!.Value;
        _windows.RemoveLast();
        Drop(oldest);
        oldest.Clear();
        _windows.AddFirst(oldest);
    }

    private bool EvictOldest()
    {
        for (var node = _windows.Last; node is not null; node = node.Previous)
        {
            if (node.Value.Count == 0)
                continue;
            // Never the window just written into alone: a single message over the cap stays until the next shift.
            if (node == _windows.First && _entries.Count <= 1)
                return false;
            var id = node.Value[0];
            node.Value.RemoveAt(0);
            Remove(id);
            return true;
        }
        return false;
    }

    private void Drop(List<MessageId> ids)
    {
        foreach (var id in ids)
            Remove(id);
    }

    private void Remove(MessageId id)
    {
        if (_entries.Remove(id, out var entry))
            _bytes -= entry.Frame.Length;
    }

    internal sealed class Entry(PubsubMessage message, byte[] frame)
    {
        public PubsubMessage Message { get; } = message;

        /// <summary>The message alone as an RPC frame, made once and sent as is to every peer.</summary>
        public byte[] Frame { get; } = frame;

        /// <summary>IWANT answers per peer (made on the first IWANT: most messages are never asked for).</summary>
        public Dictionary<object, int>? Transmissions;
    }
}
