using QuDag.P2p.Resources;

namespace QuDag.Network.Tests.Policy;

/// <summary>
/// MaxConnections is the system scope's cap under a manager: the limits the host's resource manager enforces get it as
/// their total, and a direction's machine-scaled default is raised to it when lower (the 10,000-connection benchmarks
/// stopped at 4,037 outbound, the scaled default of this machine, once the scopes came). A direction limit chosen on
/// purpose stays. The effect at full size is the expire and scale benchmarks' 10,000 outbound connections.
/// </summary>
public sealed class SystemScopeTests
{
    private static readonly ResourceManagerOptions s_small = new(128L << 20); // scaled defaults: 1,024 connections each way

    [Fact]
    public async Task MaxConnections_above_a_scaled_direction_default_raises_it_and_follows_Reconfigure()
    {
        Assert.Equal(1024, s_small.System.ConnectionsOutbound);
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 5_000, Resources = s_small });
        var enforced = manager.Host.Resources.System.Limits;
        Assert.Equal((5_000, 5_000, 5_000), (enforced.Connections, enforced.ConnectionsInbound, enforced.ConnectionsOutbound));

        manager.Reconfigure(o => o.MaxConnections = 6_000);
        enforced = manager.Host.Resources.System.Limits;
        Assert.Equal((6_000, 6_000, 6_000), (enforced.Connections, enforced.ConnectionsInbound, enforced.ConnectionsOutbound));

        // Lowered, the total binds and the directions go back to their scaled defaults.
        manager.Reconfigure(o => o.MaxConnections = 10);
        enforced = manager.Host.Resources.System.Limits;
        Assert.Equal((10, 1024, 1024), (enforced.Connections, enforced.ConnectionsInbound, enforced.ConnectionsOutbound));
    }

    [Fact]
    public async Task A_direction_limit_chosen_on_purpose_is_kept_under_any_MaxConnections()
    {
        var chosen = s_small with { System = s_small.System with { ConnectionsInbound = 10 } };
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 5_000, Resources = chosen });
        var enforced = manager.Host.Resources.System.Limits;
        Assert.Equal(10, enforced.ConnectionsInbound);
        Assert.Equal(5_000, enforced.ConnectionsOutbound);
        manager.Reconfigure(o => o.MaxConnections = 7_000);
        Assert.Equal(10, manager.Host.Resources.System.Limits.ConnectionsInbound);
    }
}
