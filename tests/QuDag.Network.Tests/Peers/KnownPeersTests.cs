using System.Net;
using QuDag.P2p.Host;

namespace QuDag.Network.Tests.Peers;

/// <summary>KnowsPeer, the cheap question the cmdlets ask before they ping or describe a peer.</summary>
public sealed class KnownPeersTests
{
    [Fact]
    public async Task A_peer_in_the_address_book_is_known_before_it_has_a_status()
    {
        await using var manager = new ConnectionManager(new ConnectionManagerOptions());
        await using var other = new P2pHost();
        var id = other.LocalPeerId;
        Assert.False(manager.KnowsPeer(id));
        Assert.Null(manager.GetPeer(id));

        manager.AddPeer(id, new IPEndPoint(IPAddress.Loopback, 1));
        Assert.True(manager.KnowsPeer(id));
        Assert.NotNull(manager.GetPeer(id));
        // No status yet: a status lookup cannot tell this peer from an unknown one (a first version of the cmdlets'
        // check asked it, and Protect-/Get-QuDagPeer lost the peers they had just named).
        Assert.Null(await manager.GetStatusAsync(id));
    }
}
