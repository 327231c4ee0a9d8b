using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Tests;

/// <summary>Each cmdlet's happy path over real loopback listeners, driven by real script text.</summary>
public sealed class CmdletTests : IDisposable
{
    private readonly PsHarness _ps = new();

    public void Dispose() => _ps.Dispose();

    private const string TwoPeers = """
        $alice = New-QuDagSession -Name alice
        $bob = New-QuDagSession -Name bob
        $peers = @((Start-QuDagListener -Session $alice), (Start-QuDagListener -Session $bob))
        """;

    [Fact]
    public void Connect_send_receive_ping_pool_and_metrics_work_end_to_end()
    {
        _ps.RunClean(TwoPeers);

        var connected = _ps.RunClean("$peers | Connect-QuDagPeer -PassThru");
        Assert.Equal(2, connected.Count);
        Assert.All(connected, p => Assert.Equal(ConnectionStatus.Connected, ((PeerInfo)p.BaseObject).Status));

        _ps.RunClean("Send-QuDagMessage -PeerId $peers[0].PeerId -Message 'hello' -Count 2; Send-QuDagMessage $peers[0].PeerId -Message ([byte[]](1,2,3))");
        var messages = _ps.RunClean("Receive-QuDagMessage -Session $alice -Count 3 -Timeout 00:00:10");
        Assert.Equal(["hello", "hello"], messages.Take(2).Select(m => (string)m.Properties["Text"].Value));
        Assert.Equal(new byte[] { 1, 2, 3 }, (byte[])messages[2].Properties["Bytes"].Value);
        Assert.Equal(_ps.RunClean("(Get-QuDagSession).PeerId")[0].BaseObject, messages[0].Properties["PeerId"].Value);

        var pings = _ps.RunClean("Test-QuDagPeer -PeerId $peers.PeerId -Count 3");
        Assert.Equal(6, pings.Count);
        Assert.All(pings, p => Assert.True((double)p.Properties["LatencyMs"].Value > 0));

        _ps.RunClean("$peers | Disconnect-QuDagPeer");
        Assert.Equal(2, _ps.RunClean("Get-QuDagPool").Count);
        Assert.All(_ps.RunClean("Get-QuDagPeer"), p => Assert.Equal(ConnectionStatus.Disconnected, ((PeerInfo)p.BaseObject).Status));

        _ps.RunClean("$peers | Connect-QuDagPeer");
        Assert.Equal([1L, 1L], _ps.RunClean("$peers | ForEach-Object AcceptedCount").Select(o => (long)o.BaseObject));

        _ps.RunClean("Disconnect-QuDagPeer $peers[1].PeerId");
        Assert.Equal(1, (int)_ps.RunClean("Clear-QuDagPool -PassThru -Confirm:$false")[0].BaseObject);

        var metrics = (NetworkMetrics)_ps.RunClean("Get-QuDagMetrics")[0].BaseObject;
        Assert.Equal(1, metrics.Connections);
        Assert.Equal(3, metrics.MessagesSent);
        Assert.Equal(6, metrics.PingCount);
        Assert.Equal(2, metrics.PoolHits);
        Assert.True(metrics.AvgLatency > TimeSpan.Zero);
    }

    [Fact]
    public void A_filtered_receive_keeps_other_peers_messages_in_order()
    {
        // Three senders into alice; each send waits until alice has queued it, so arrival order is known.
        var messages = _ps.RunClean("""
            $alice = New-QuDagSession -Name alice
            $to = Start-QuDagListener -Session $alice
            $senders = 1..3 | ForEach-Object { $s = New-QuDagSession; Connect-QuDagPeer $to.PeerId $to.Endpoint -Session $s; $s }
            $n = 0
            foreach ($step in @(@(0, 'a1'), @(1, 'b1'), @(0, 'a2'), @(2, 'c1'))) {
                Send-QuDagMessage -Session $senders[$step[0]] -PeerId $to.PeerId -Message $step[1]
                $n++
                $deadline = [DateTime]::UtcNow.AddSeconds(10)
                while ((Get-QuDagMetrics -Session $alice).MessagesReceived -lt $n) {
                    if ([DateTime]::UtcNow -gt $deadline) { throw "message $n did not arrive" }
                    [Threading.Thread]::Sleep(5)
                }
            }
            Receive-QuDagMessage -Session $alice -PeerId $senders[2].PeerId -Timeout 00:00:10
            Receive-QuDagMessage -Session $alice -PeerId $senders[1].PeerId -Timeout 00:00:10
            Receive-QuDagMessage -Session $alice -Count 2 -Timeout 00:00:10
            """);
        Assert.Equal(["c1", "b1", "a1", "a2"], messages.Select(m => (string)m.Properties["Text"].Value));
    }

    [Fact]
    public void Set_and_wait_for_status_and_listener_lifecycle()
    {
        _ps.RunClean(TwoPeers);
        var id = _ps.RunClean("$peers[0].PeerId")[0].BaseObject;
        var set = _ps.RunClean("Set-QuDagPeerStatus -PeerId $peers[0].PeerId -Status Failed -Reason 'maintenance' -PassThru");
        Assert.Equal(ConnectionStatus.Failed, ((PeerInfo)set[0].BaseObject).Status);
        Assert.Equal("maintenance", ((PeerInfo)set[0].BaseObject).LastError);

        var waited = _ps.RunClean("Connect-QuDagPeer $peers[0].PeerId $peers[0].Endpoint; Wait-QuDagPeer -PeerId $peers[0].PeerId -Status Connected -Timeout 00:00:10");
        Assert.Equal(id, ((PeerInfo)waited[0].BaseObject).PeerId);

        var (_, errors) = _ps.Run("Wait-QuDagPeer -PeerId $peers[1].PeerId -Status Connected -Timeout 00:00:00.050");
        var error = Assert.Single(errors);
        Assert.StartsWith("WaitQuDagPeerTimeout,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);

        var stopped = _ps.RunClean("Stop-QuDagListener -Session $bob -PassThru");
        Assert.False((bool)stopped[0].Properties["IsListening"].Value);
        Assert.Empty(_ps.RunClean("(Get-QuDagSession -Session $bob).Listeners"));
        var (_, connectErrors) = _ps.Run("Connect-QuDagPeer $peers[1].PeerId $peers[1].Endpoint");
        Assert.StartsWith("ConnectQuDagPeerUnreachable,", Assert.Single(connectErrors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Sessions_are_created_reconfigured_and_reset()
    {
        var sessions = _ps.RunClean("$n = New-QuDagSession -Name extra -MaxConnections 7 -PoolTimeout 00:01:00; Get-QuDagSession -All");
        Assert.Equal(2, sessions.Count);
        var path = Path.Combine(Path.GetTempPath(), $"qudag-{Guid.NewGuid():N}.pfx");
        try
        {
            dynamic changed = _ps.RunClean($"Set-QuDagSession -Session $n -MaxConnections 3 -IdentityPath '{path}' -PassThru -Confirm:$false")[0];
            Assert.Equal(3, (int)changed.MaxConnections);
            Assert.Equal(TimeSpan.FromMinutes(1), (TimeSpan)changed.PoolTimeout);
            Assert.True(File.Exists(path));
            Assert.Equal(NodeIdentity.Load(path).PeerId, (PeerId)changed.PeerId);
            // The same file gives the same identity to another session.
            Assert.Equal((PeerId)changed.PeerId, _ps.RunClean($"(New-QuDagSession -IdentityPath '{path}').PeerId")[0].BaseObject);
        }
        finally
        {
            File.Delete(path);
        }
        _ps.RunClean("Set-QuDagPeerStatus -PeerId ('ab' * 32) -Status Connected -Session $n; Reset-QuDagSession -Session $n -Confirm:$false");
        Assert.Empty(_ps.RunClean("Get-QuDagPeer -Session $n"));
        var (_, badTimeout) = _ps.Run("New-QuDagSession -PoolTimeout ([TimeSpan]::FromMinutes(-1)); Set-QuDagSession -Session $n -PoolTimeout ([TimeSpan]::FromSeconds(-1)) -Confirm:$false");
        Assert.Equal(["NewQuDagSessionInvalidPoolTimeout", "SetQuDagSessionInvalidPoolTimeout"], badTimeout.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
        Assert.All(badTimeout, e => Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category));
        var (_, errors) = _ps.Run("$n.Dispose(); Get-QuDagPeer -Session $n");
        Assert.StartsWith("GetQuDagPeerSessionClosed,", Assert.Single(errors).FullyQualifiedErrorId);
    }
}
