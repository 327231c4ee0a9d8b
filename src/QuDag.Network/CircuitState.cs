namespace QuDag.Network;

/// <summary>The state of a peer's circuit breaker.</summary>
public enum CircuitState
{
    /// <summary>Dials go through.</summary>
    Closed,

    /// <summary>Recent dials all failed: connects fail fast with <see cref="PeerCircuitOpenException"/> until the break ends.</summary>
    Open,

    /// <summary>The break ended: the next dial is a trial that closes the circuit or opens it again.</summary>
    HalfOpen,
}
