using System.Net;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Resources;

/// <summary>
/// Addresses whose connections bypass the system, transient and subnet limits, so a node overloaded by strangers
/// still admits the peers it knows (go-libp2p's allowlist, against eclipse attacks). Changes apply to the next
/// connection. Copy-on-write: a lookup never locks.
/// </summary>
public sealed class Allowlist
{
    private AllowlistEntry[] _entries = [];

    internal Allowlist(IEnumerable<string> entries)
    {
        foreach (var entry in entries)
            Add(entry);
    }

    /// <summary>The entries, in the order they were added.</summary>
    public IReadOnlyList<AllowlistEntry> Entries => Volatile.Read(ref _entries);

    /// <summary>Adds an entry (see <see cref="AllowlistEntry.Parse"/>); false if it was there already.</summary>
    /// <exception cref="FormatException">Not an entry.</exception>
    public bool Add(string entry) => Update(AllowlistEntry.Parse(entry), add: true);

    /// <summary>Removes an entry; false if it was not there.</summary>
    /// <exception cref="FormatException">Not an entry.</exception>
    public bool Remove(string entry) => Update(AllowlistEntry.Parse(entry), add: false);

    /// <summary>
    /// Whether a connection from or to <paramref name="address"/> is exempt before its peer is known: true when an
    /// entry without a peer covers it, or one with a peer does (its handshake must then prove that peer, see
    /// <see cref="Allows(IPAddress, PeerId)"/>).
    /// </summary>
    public bool Covers(IPAddress address) => Volatile.Read(ref _entries).Any(e => e.Contains(address));

    /// <summary>Whether <paramref name="peer"/> at <paramref name="address"/> is exempt.</summary>
    public bool Allows(IPAddress address, PeerId peer) =>
        Volatile.Read(ref _entries).Any(e => e.Contains(address) && (e.Peer is null || e.Peer == peer));

    private bool Update(AllowlistEntry entry, bool add)
    {
        while (true)
        {
            var current = Volatile.Read(ref _entries);
            int index = Array.IndexOf(current, entry);
            if (add == (index >= 0))
                return false;
            AllowlistEntry[] next = add ? [.. current, entry] : [.. current[..index], .. current[(index + 1)..]];
            if (Interlocked.CompareExchange(ref _entries, next, current) == current)
                return true;
        }
    }
}
