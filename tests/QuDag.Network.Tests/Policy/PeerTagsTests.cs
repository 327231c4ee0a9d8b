using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests.Policy;

/// <summary>Protections and tags alone: by tag, summed, decaying with the clock, and gone when empty.</summary>
public sealed class PeerTagsTests
{
    private static readonly PeerId A = NodeIdentity.FromEd25519Seed(Enumerable.Repeat((byte)7, 32).ToArray()).PeerId;

    [Fact]
    public void A_peer_stays_protected_until_its_last_tag_is_removed()
    {
        var tags = new PeerTags(new FakeTimeProvider());
        tags.Protect(A, "bootstrap");
        tags.Protect(A, "validator");
        tags.Protect(A, "validator");
        Assert.Equal(["bootstrap", "validator"], tags.ProtectionsOf(A));
        Assert.True(tags.Unprotect(A, "bootstrap"));
        Assert.True(tags.IsProtected(A));
        Assert.False(tags.IsProtected(A, "bootstrap"));
        Assert.False(tags.Unprotect(A, "validator"));
        Assert.False(tags.IsProtected(A));
        Assert.Equal(0, tags.Count); // nothing kept for a peer with no tag and no protection
    }

    [Fact]
    public void A_peers_value_is_the_sum_of_its_tags_and_a_tag_set_again_replaces_itself()
    {
        var tags = new PeerTags(new FakeTimeProvider());
        tags.Tag(A, "useful", 10, null);
        tags.Tag(A, "relay", 5, null);
        tags.Tag(A, "useful", 20, null);
        Assert.Equal(25, tags.ValueOf(A));
        Assert.True(tags.Untag(A, "relay"));
        Assert.False(tags.Untag(A, "relay"));
        Assert.Equal(20, tags.ValueOf(A));
        tags.Tag(A, "penalty", -30, null);
        Assert.Equal(-10, tags.ValueOf(A));
    }

    [Fact]
    public void A_decaying_tag_falls_linearly_to_zero_over_its_decay_time_then_goes()
    {
        var time = new FakeTimeProvider();
        var tags = new PeerTags(time);
        tags.Tag(A, "fresh", 100, TimeSpan.FromSeconds(10));
        tags.Tag(A, "fixed", 1, null);
        Assert.Equal(101, tags.ValueOf(A));
        time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.Equal(76, tags.ValueOf(A));
        Assert.Equal(75, tags.TagsOf(A)["fresh"]);
        time.Advance(TimeSpan.FromSeconds(7.5));
        Assert.Equal(1, tags.ValueOf(A));
        Assert.False(tags.TagsOf(A).ContainsKey("fresh"));
        tags.Untag(A, "fixed");
        Assert.Equal(0, tags.Count); // the decayed tag was pruned with the last change
    }
}
