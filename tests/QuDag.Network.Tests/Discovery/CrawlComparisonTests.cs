using QuDag.Network.Discovery;

namespace QuDag.Network.Tests.Discovery;

public sealed class CrawlComparisonTests
{
    private static readonly PeerId A = NewPeer(), B = NewPeer(), C = NewPeer(), D = NewPeer(), E = NewPeer();

    private static PeerId NewPeer() => PeerId.FromPublicKey(NodeIdentity.Create().PublicKey);

    private static CrawlResult Found(PeerId peer, int port, bool dialable = true) => new()
    {
        PeerId = peer,
        DialedAddress = Multiaddr.Parse($"/ip4/10.0.0.1/tcp/{port}"),
        Dialable = dialable,
        AgentVersion = "agent-" + port,
    };

    [Fact]
    public void New_gone_and_a_restarted_node_at_the_same_address_are_told_apart()
    {
        CrawlResult[] before = [Found(A, 1), Found(B, 2), Found(C, 3), Found(E, 5, dialable: false)];
        // B restarted with key D on its address; C is gone; E answers now; A is unchanged.
        CrawlResult[] now = [Found(A, 1), Found(D, 2), Found(E, 5), Found(C, 3, dialable: false)];

        var differences = CrawlComparison.Compare(before, now);

        Assert.Equal(3, differences.Count);
        var changed = Assert.Single(differences, d => d.Change == CrawlChange.IdentityChanged);
        Assert.Equal((D, B, "/ip4/10.0.0.1/tcp/2"), (changed.PeerId, changed.PreviousPeerId!.Value, changed.Address!.ToString()));
        Assert.Equal(E, Assert.Single(differences, d => d.Change == CrawlChange.New).PeerId);
        Assert.Equal(C, Assert.Single(differences, d => d.Change == CrawlChange.Gone).PeerId);
    }

    [Fact]
    public void The_same_crawl_twice_has_no_difference()
    {
        CrawlResult[] crawl = [Found(A, 1), Found(B, 2), Found(C, 3, dialable: false)];
        Assert.Empty(CrawlComparison.Compare(crawl, crawl));
    }
}
