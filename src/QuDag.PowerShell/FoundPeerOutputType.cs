namespace QuDag.PowerShell;

/// <summary>
/// A peer the DHT found (Find-QuDagPeer): full id, its addresses as multiaddrs ending in /p2p/&lt;id&gt; (the first
/// is <see cref="Address"/>, which Connect-QuDagPeer binds by property name) and how long the lookup took.
/// </summary>
public sealed class QuDagFoundPeer
{
    internal QuDagFoundPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, double findMs)
    {
        PeerId = peer.ToString();
        Addresses = addresses.Select(a => a.WithPeerId(peer).ToString()).ToArray();
        FindMs = Math.Round(findMs, 3);
    }

    /// <summary>The full peer id ("12D3KooW...").</summary>
    public string PeerId { get; }

    /// <summary>The first address found, ending in /p2p/&lt;id&gt;.</summary>
    public string Address => Addresses.FirstOrDefault() ?? "";

    /// <summary>Every address found.</summary>
    public string[] Addresses { get; }

    /// <summary>How long the lookup took, in milliseconds.</summary>
    public double FindMs { get; }
}
