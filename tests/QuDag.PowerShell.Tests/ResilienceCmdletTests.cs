using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Tests;

/// <summary>Keepalive, reconnect, circuit breaker and gater as an operator drives them from script.</summary>
public sealed class ResilienceCmdletTests : IDisposable
{
    private readonly PsHarness _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void A_blocked_peer_fails_with_the_Denied_id_and_unblocking_lets_it_connect()
    {
        _ps.RunClean("$peer = Start-QuDagListener -Session (New-QuDagSession)");

        var rule = _ps.RunClean("Block-QuDagPeer $peer.PeerId -Direction Outbound -PassThru")[0];
        Assert.Equal("QuDag.PowerShell.QuDagGateRule", rule.BaseObject.GetType().FullName);
        Assert.False((bool)rule.Properties["OutboundAllowed"].Value);
        Assert.True((bool)rule.Properties["InboundAllowed"].Value);
        var (_, errors) = _ps.Run("Connect-QuDagPeer $peer.PeerId $peer.Endpoint");

        var error = Assert.Single(errors);
        Assert.Equal("ConnectQuDagPeerDenied,QuDag.PowerShell.Commands.ConnectQuDagPeerCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.PermissionDenied, error.CategoryInfo.Category);
        Assert.Equal(1L, ((NetworkMetrics)_ps.RunClean("Get-QuDagMetrics")[0].BaseObject).DeniedOutbound);

        _ps.RunClean("$peer.PeerId | Unblock-QuDagPeer");
        _ps.RunClean("Connect-QuDagPeer $peer.PeerId $peer.Endpoint");
        Assert.Equal(ConnectionStatus.Connected, ((PeerInfo)_ps.RunClean("Get-QuDagPeer $peer.PeerId")[0].BaseObject).Status);
    }

    [Fact]
    public void An_inbound_block_refuses_the_peer_in_the_handshake_and_survives_Set_QuDagSession()
    {
        _ps.RunClean("""
            $node = New-QuDagSession -Name node
            $listener = Start-QuDagListener -Session $node
            $intruder = New-QuDagSession -Name intruder
            Block-QuDagPeer $intruder.PeerId -Direction Inbound -Session $node
            Set-QuDagSession -Session $node -MaxConnections 50 -Confirm:$false
            $listener = Start-QuDagListener -Session $node
            """);

        var (_, errors) = _ps.Run("Connect-QuDagPeer $node.PeerId $listener.Endpoint -Session $intruder");

        Assert.Single(errors);
        Assert.Contains(errors[0].FullyQualifiedErrorId.Split(',')[0], new[] { "ConnectQuDagPeerAuthenticationFailed", "ConnectQuDagPeerConnectionFailed" });
        var denied = 0L;
        for (var i = 0; i < 200 && denied == 0; i++, Thread.Sleep(10))
            denied = ((NetworkMetrics)_ps.RunClean("Get-QuDagMetrics -Session $node")[0].BaseObject).DeniedInbound;
        Assert.Equal(1L, denied);
    }

    [Fact]
    public void An_open_circuit_shows_in_Get_QuDagPeer_and_fails_fast_with_the_CircuitOpen_id()
    {
        // A port bound but not listening refuses every dial at once, and nothing else can take it meanwhile.
        using var closed = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        closed.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        _ps.Run("", new Dictionary<string, object?> { ["closedPort"] = closed.LocalEndPoint!.ToString() });
        _ps.RunClean("""
            $peer = [pscustomobject]@{ PeerId = (New-QuDagSession).PeerId; Endpoint = $closedPort }
            New-QuDagSession -Name breaker -CircuitBreakerThreshold 3 -CircuitBreakerDuration ([timespan]::FromMinutes(10)) -KeepAliveInterval 0 |
                ForEach-Object { $breaker = $_ }
            """);
        var (_, errors) = _ps.Run("1..4 | ForEach-Object { Connect-QuDagPeer $peer.PeerId $peer.Endpoint -Session $breaker }");

        Assert.Equal(["ConnectQuDagPeerUnreachable", "ConnectQuDagPeerUnreachable", "ConnectQuDagPeerUnreachable", "ConnectQuDagPeerCircuitOpen"],
            errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
        Assert.Equal(ErrorCategory.ResourceUnavailable, errors[3].CategoryInfo.Category);
        var info = (PeerInfo)_ps.RunClean("Get-QuDagPeer $peer.PeerId -Session $breaker")[0].BaseObject;
        Assert.Equal(CircuitState.Open, info.CircuitState);
        Assert.Equal(3, info.ConsecutiveFailures);
        var table = _ps.Render("Get-QuDagPeer -Session $breaker");
        Assert.Contains("Circuit", table);
        Assert.Contains("Open", table);
        Assert.Contains("OpenCircuits", _ps.Render("Get-QuDagMetrics -Session $breaker"));
    }

    [Fact]
    public void Session_settings_are_validated_kept_and_shown()
    {
        _ps.RunClean("$s = New-QuDagSession -KeepAliveInterval ([timespan]::FromSeconds(5)) -KeepAliveTimeout ([timespan]::FromSeconds(7)) -AutoReconnect");
        Assert.Equal(TimeSpan.FromSeconds(5), _ps.RunClean("$s.KeepAliveInterval")[0].BaseObject);
        Assert.True((bool)_ps.RunClean("$s.AutoReconnect")[0].BaseObject);
        Assert.Equal(TimeSpan.FromSeconds(5), _ps.RunClean("$s.Manager.Options.KeepAliveInterval")[0].BaseObject);

        _ps.RunClean("Set-QuDagSession -Session $s -AutoReconnect:$false -MaxConnections 7 -Confirm:$false");
        Assert.False((bool)_ps.RunClean("$s.AutoReconnect")[0].BaseObject);
        Assert.Equal(TimeSpan.FromSeconds(7), _ps.RunClean("$s.Manager.Options.KeepAliveTimeout")[0].BaseObject); // kept
        Assert.Equal(7, _ps.RunClean("$s.MaxConnections")[0].BaseObject);

        var (_, errors) = _ps.Run("New-QuDagSession -CircuitBreakerThreshold 1");
        var error = Assert.Single(errors);
        Assert.Equal("NewQuDagSessionInvalidSetting,QuDag.PowerShell.Commands.NewQuDagSessionCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal("CircuitBreakerThreshold", error.TargetObject);
        Assert.StartsWith("-CircuitBreakerThreshold 1:", error.Exception.Message);
    }

    [Fact]
    public void Connect_AutoReconnect_brings_a_peer_back_after_the_remote_drops_it()
    {
        _ps.RunClean("""
            $remote = New-QuDagSession; $peer = Start-QuDagListener -Session $remote
            Connect-QuDagPeer $peer.PeerId $peer.Endpoint -AutoReconnect
            $me = (Get-QuDagSession | Where-Object IsDefault).PeerId
            Wait-QuDagPeer $me -Status Connected -Session $remote -Timeout ([timespan]::FromSeconds(10))
            Disconnect-QuDagPeer $me -Force -Session $remote
            """);

        var metrics = 0L;
        for (var i = 0; i < 1000 && metrics == 0; i++, Thread.Sleep(10))
            metrics = ((NetworkMetrics)_ps.RunClean("Get-QuDagMetrics")[0].BaseObject).Reconnects;
        Assert.Equal(1L, metrics);
        var info = (PeerInfo)_ps.RunClean("Get-QuDagPeer $peer.PeerId")[0].BaseObject;
        Assert.True(info.AutoReconnect);
        Assert.Equal(ConnectionStatus.Connected, info.Status);

        _ps.RunClean("Connect-QuDagPeer $peer.PeerId -AutoReconnect:$false");
        Assert.False(((PeerInfo)_ps.RunClean("Get-QuDagPeer $peer.PeerId")[0].BaseObject).AutoReconnect);
    }
}
