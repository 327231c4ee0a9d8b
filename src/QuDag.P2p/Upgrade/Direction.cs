namespace QuDag.P2p.Upgrade;

/// <summary>Who opened a connection: we dialed it (outbound) or the remote did (inbound).</summary>
public enum Direction
{
    Inbound,
    Outbound,
}
