using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QuDag.Network;

namespace QuDag.PowerShell.Tests;

public sealed class SessionLifetimeTests
{
    [Fact]
    public void Two_runspaces_have_separate_default_sessions()
    {
        using var a = new PsHarness();
        using var b = new PsHarness();
        var idA = (PeerId)a.RunClean("(Get-QuDagSession).PeerId")[0].BaseObject;
        var idB = (PeerId)b.RunClean("(Get-QuDagSession).PeerId")[0].BaseObject;
        Assert.NotEqual(idA, idB);
        Assert.Equal(idA, (PeerId)a.RunClean("(Get-QuDagSession).PeerId")[0].BaseObject);
    }

    [Fact]
    public void Remove_Module_closes_every_socket_of_the_runspaces_sessions()
    {
        using var ps = new PsHarness();
        var before = PsHarness.OpenSockets();
        ps.RunClean("$p = Start-QuDagListener -Session (New-QuDagSession); Connect-QuDagPeer $p.PeerId $p.Endpoint; Start-QuDagListener | Out-Null");
        Assert.True(PsHarness.OpenSockets() >= before + 4); // two listeners, both ends of one connection

        ps.RunClean("Remove-Module QuDag");

        Assert.Equal(before, PsHarness.OpenSockets());
    }

    [Fact]
    public void Closing_the_runspace_closes_its_sessions()
    {
        var before = PsHarness.OpenSockets();
        var ps = new PsHarness();
        ps.RunClean("$p = Start-QuDagListener -Session (New-QuDagSession); Connect-QuDagPeer $p.PeerId $p.Endpoint");
        ps.Dispose();
        Assert.Equal(before, PsHarness.OpenSockets());
    }

    [Fact]
    public async Task Stopping_a_wait_returns_promptly()
    {
        using var harness = new PsHarness();
        using var ps = System.Management.Automation.PowerShell.Create(harness.Runspace);
        ps.AddScript($"Wait-QuDagPeer -PeerId '{new string('d', 64)}' -Status Connected");
        var started = new ManualResetEventSlim();
        ps.InvocationStateChanged += (_, e) =>
        {
            if (e.InvocationStateInfo.State == PSInvocationState.Running)
                started.Set();
        };
        var result = ps.BeginInvoke();
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
        Assert.False(result.IsCompleted); // it waits for a peer that never comes

        await Task.Run(ps.Stop).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
    }

    [Fact]
    public async Task Stopping_a_receive_returns_promptly()
    {
        using var harness = new PsHarness();
        using var ps = System.Management.Automation.PowerShell.Create(harness.Runspace);
        ps.AddScript("Receive-QuDagMessage");
        var result = ps.BeginInvoke();
        SpinWait.SpinUntil(() => ps.InvocationStateInfo.State == PSInvocationState.Running, TimeSpan.FromSeconds(10));
        Assert.False(result.IsCompleted);
        await Task.Run(ps.Stop).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
    }
}
