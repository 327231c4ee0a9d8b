namespace QuDag.Network;

/// <summary>
/// The per-peer circuit breakers as outbound dials use them. A peer gets a breaker at its first failed dial and loses it
/// at the next success: a healthy peer, the common case, carries none, and the manager may track tens of thousands of
/// peers. Every call runs under the peer's gate, one dial at a time.
/// </summary>
internal sealed class DialBreaker(Func<ConnectionManagerOptions> settings, TimeProvider time, ManagerMetrics metrics, PeerTable<PeerEntry> peers)
{
    /// <summary>The peer's breaker, or null when it has none (healthy) or the breaker is off.</summary>
    public PeerCircuit? For(PeerEntry entry)
    {
        if (settings().CircuitBreakerFailureThreshold > 0)
            return entry.Circuit;
        // Turned off while the peer had a breaker: it stops counting as open, and goes.
        entry.DropCircuit();
        return null;
    }

    /// <summary>Counts a connect the open circuit refused and describes it.</summary>
    public PeerCircuitOpenException Refused(PeerEntry entry)
    {
        metrics.RecordFailure(inbound: false, ConnectFailureKind.CircuitOpen);
        metrics.RecordCircuitRejection();
        // The status stays Failed and the last error stays the real cause; the breaker only says "not now".
        peers.SetStatus(entry, ConnectionStatus.Failed, null);
        return new PeerCircuitOpenException(entry.Id, entry.Circuit?.OpenUntil);
    }

    /// <summary>Counts a failed dial in the peer's breaker, making the breaker at the first failure.</summary>
    public void RecordFailure(PeerEntry entry, PeerCircuit? circuit)
    {
        if (settings().CircuitBreakerFailureThreshold == 0)
            return;
        if (circuit is null)
        {
            circuit = new PeerCircuit(BreakerSettings, time, state => OnChanged(entry, state));
            entry.Watch(circuit);
        }
        circuit.RecordFailure();
    }

    /// <summary>A dial succeeded: the breaker closes, and a closed one goes.</summary>
    public static void RecordSuccess(PeerEntry entry, PeerCircuit? circuit)
    {
        circuit?.RecordSuccess();
        entry.DropCircuitIfClosed();
    }

    private (int Threshold, TimeSpan BreakDuration) BreakerSettings()
    {
        var current = settings();
        return (current.CircuitBreakerFailureThreshold, current.CircuitBreakerBreakDuration);
    }

    private void OnChanged(PeerEntry entry, CircuitState state)
    {
        if (entry.CircuitChanged(state) is not 0 and var change)
            metrics.RecordOpenCircuits(change);
    }
}
