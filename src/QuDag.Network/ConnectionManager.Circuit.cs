namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>
    /// Dials through the peer's circuit breaker. A peer gets a breaker at its first failed dial and loses it at the
    /// next success: a healthy peer, the common case, carries none (a Polly pipeline is a few KiB, and the manager may
    /// track tens of thousands of peers). Runs under the peer's gate, so the breaker is made and dropped by one dial
    /// at a time.
    /// </summary>
    private async Task<PeerConnection> DialThroughBreakerAsync(PeerEntry entry, System.Net.EndPoint target, CancellationToken cancellationToken)
    {
        if (_options.CircuitBreakerFailureThreshold == 0)
            return await HandshakeAsync(entry, target, cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref entry.Circuit) is { } circuit)
        {
            var connection = await circuit.ExecuteAsync(static (s, ct) => s.Self.HandshakeAsync(s.Entry, s.Target, ct),
                (Self: this, Entry: entry, Target: target), cancellationToken).ConfigureAwait(false);
            if (circuit.State == CircuitState.Closed)
                Volatile.Write(ref entry.Circuit, null);
            return connection;
        }
        try
        {
            return await HandshakeAsync(entry, target, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerConnectException failure) when (failure is not PeerDeniedException) // a gater's refusal says nothing of the peer
        {
            var created = new PeerCircuit(_options, state => OnCircuitChanged(entry, state));
            await created.RecordFailureAsync(failure).ConfigureAwait(false);
            Volatile.Write(ref entry.Circuit, created);
            throw;
        }
    }

    private void OnCircuitChanged(PeerEntry entry, CircuitState state)
    {
        // Open and half-open both count as "not healthy"; closed leaves the count.
        var wasOpen = Interlocked.Exchange(ref entry.CircuitCounted, state == CircuitState.Closed ? 0 : 1);
        var isOpen = state == CircuitState.Closed ? 0 : 1;
        if (wasOpen != isOpen)
            Interlocked.Add(ref _metrics.OpenCircuits, isOpen - wasOpen);
    }
}
