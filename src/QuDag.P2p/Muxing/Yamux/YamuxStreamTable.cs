namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// A session's open streams by id. The dictionary is made with the first stream and dropped with the last, so an idle
/// session (its identify streams long finished) holds none; the reader loop's lookups go through a one-entry cache of
/// the stream it found last, which every frame of a ping, a transfer or a burst of messages hits.
/// </summary>
internal sealed class YamuxStreamTable
{
    // Locked on itself: a thin lock in the object header, where a Lock object would cost 40 B per session.
    private Dictionary<uint, YamuxStream>? _streams;
    private YamuxStream? _last; // the reader loop's last hit; a released stream is never returned from it

    public void Add(YamuxStream stream)
    {
        lock (this)
            (_streams ??= new Dictionary<uint, YamuxStream>(4))[stream.StreamId] = stream;
    }

    public bool Contains(uint id)
    {
        lock (this)
            return _streams?.ContainsKey(id) == true;
    }

    /// <summary>The open stream with <paramref name="id"/>; for the reader loop (its cache is not shared).</summary>
    public bool TryGet(uint id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out YamuxStream? stream)
    {
        stream = _last;
        if (stream is not null && stream.StreamId == id && !stream.IsReleased)
            return true;
        lock (this)
        {
            if (_streams is null || !_streams.TryGetValue(id, out stream))
                return false;
            _last = stream;
            return true;
        }
    }

    /// <summary>Removes <paramref name="stream"/> (not another stream that took its id); false if it was not there.</summary>
    public bool Remove(YamuxStream stream)
    {
        lock (this)
        {
            if (ReferenceEquals(_last, stream))
                _last = null;
            if (_streams is null || !_streams.TryGetValue(stream.StreamId, out YamuxStream? held) || !ReferenceEquals(held, stream))
                return false;
            _streams.Remove(stream.StreamId);
            if (_streams.Count == 0)
                _streams = null;
            return true;
        }
    }

    /// <summary>The streams open now, for a pass over all of them (the session's end, the close sweep).</summary>
    public YamuxStream[] Snapshot()
    {
        lock (this)
            return _streams is null ? [] : [.. _streams.Values];
    }
}
