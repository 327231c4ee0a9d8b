using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Tests;

public sealed class PipelineAndErrorTests : IDisposable
{
    private readonly PsHarness _ps = new();

    public void Dispose() => _ps.Dispose();

    private void StartPeers(int count) =>
        _ps.RunClean($"$peers = 1..{count} | ForEach-Object {{ Start-QuDagListener -Session (New-QuDagSession) }}");

    [Fact]
    public void Csv_like_rows_bind_by_property_name_and_hex_strings_by_value()
    {
        StartPeers(3);
        // What Import-Csv produces: objects whose PeerId and Endpoint are strings.
        var connected = _ps.RunClean("""
            $rows = $peers | ForEach-Object { [pscustomobject]@{ PeerId = "$($_.PeerId)"; Endpoint = "$($_.Endpoint)" } }
            $rows | Connect-QuDagPeer -ThrottleLimit 2 -PassThru
            """);
        Assert.Equal(3, connected.Count);

        var byValue = _ps.RunClean("$peers | ForEach-Object { $_.PeerId.ToString() } | Get-QuDagPeer");
        Assert.Equal(3, byValue.Count);

        // Objects from one cmdlet flow into the next.
        _ps.RunClean("Get-QuDagPeer | Where-Object Status -eq Connected | Disconnect-QuDagPeer");
        Assert.Equal(3, _ps.RunClean("Get-QuDagPool").Count);
        Assert.Equal(3, _ps.RunClean("Get-QuDagPeer -Status Disconnected").Count);
    }

    [Fact]
    public void WhatIf_changes_nothing()
    {
        StartPeers(1);
        _ps.RunClean("Connect-QuDagPeer $peers[0].PeerId $peers[0].Endpoint -WhatIf");
        Assert.Empty(_ps.RunClean("Get-QuDagPeer"));
        Assert.Equal(0L, _ps.RunClean("$peers[0].AcceptedCount")[0].BaseObject);

        _ps.RunClean("Connect-QuDagPeer $peers[0].PeerId $peers[0].Endpoint; Disconnect-QuDagPeer $peers[0].PeerId -WhatIf");
        Assert.Equal(ConnectionStatus.Connected, ((PeerInfo)_ps.RunClean("Get-QuDagPeer")[0].BaseObject).Status);
        _ps.RunClean("Set-QuDagPeerStatus $peers[0].PeerId Failed -WhatIf; Send-QuDagMessage $peers[0].PeerId 'x' -WhatIf");
        Assert.Equal(ConnectionStatus.Connected, ((PeerInfo)_ps.RunClean("Get-QuDagPeer")[0].BaseObject).Status);
        Assert.Equal(0L, ((NetworkMetrics)_ps.RunClean("Get-QuDagMetrics")[0].BaseObject).MessagesSent);

        _ps.RunClean("Disconnect-QuDagPeer $peers[0].PeerId; Clear-QuDagPool -WhatIf; Reset-QuDagSession -WhatIf; Stop-QuDagListener -Session $peers[0].Session -WhatIf");
        Assert.Single(_ps.RunClean("Get-QuDagPool"));
        Assert.True((bool)_ps.RunClean("$peers[0].IsListening")[0].BaseObject);
        Assert.Contains("What if:", _ps.Text);
    }

    [Fact]
    public void An_unknown_peer_is_ObjectNotFound_with_its_id_and_the_pipeline_goes_on()
    {
        StartPeers(2);
        _ps.RunClean("$peers | Connect-QuDagPeer");
        var unknown = PeerId.Parse(new string('a', 64));

        var (output, errors) = _ps.Run($"'{unknown}', $peers[0].PeerId, $peers[1].PeerId | Disconnect-QuDagPeer -PassThru");

        var error = Assert.Single(errors);
        Assert.Equal("DisconnectQuDagPeerPeerNotFound,QuDag.PowerShell.Commands.DisconnectQuDagPeerCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Equal(unknown, error.TargetObject);
        Assert.Equal(2, output.Count);

        (_, errors) = _ps.Run($"Get-QuDagPeer -PeerId '{unknown}'; Test-QuDagPeer -PeerId '{unknown}'; Send-QuDagMessage -PeerId '{unknown}' -Message x");
        Assert.Equal(["GetQuDagPeerPeerNotFound", "TestQuDagPeerPeerNotFound", "SendQuDagMessagePeerNotFound"],
            errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
    }

    [Fact]
    public void Invalid_hex_fails_at_parameter_binding_with_a_readable_message()
    {
        var (_, errors) = _ps.Run("Get-QuDagPeer -PeerId 'not-a-peer'");
        var error = Assert.Single(errors);
        Assert.IsType<ParameterBindingException>(error.Exception);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("'not-a-peer' is not a peer id: expected 64 hex characters", error.ToString());
        (_, errors) = _ps.Run($"Connect-QuDagPeer -PeerId '{new string('b', 64)}' -Endpoint 'nowhere'");
        Assert.Contains("'nowhere' is not an endpoint", Assert.Single(errors).ToString());
    }

    [Fact]
    public void The_limit_gives_LimitsExceeded_and_a_missing_address_ObjectNotFound()
    {
        StartPeers(2);
        var (output, errors) = _ps.Run("$small = New-QuDagSession -MaxConnections 1; $peers | Connect-QuDagPeer -Session $small -ThrottleLimit 1 -PassThru");
        Assert.Single(output);
        var error = Assert.Single(errors);
        Assert.StartsWith("ConnectQuDagPeerLimitReached,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.LimitsExceeded, error.CategoryInfo.Category);
        Assert.Equal(_ps.RunClean("$peers[1].PeerId")[0].BaseObject, error.TargetObject);

        (_, errors) = _ps.Run($"Connect-QuDagPeer -PeerId '{new string('c', 64)}'");
        Assert.StartsWith("ConnectQuDagPeerAddressUnknown,", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Dialing_a_peer_id_that_answers_as_another_is_an_AuthenticationError()
    {
        StartPeers(2);
        var (_, errors) = _ps.Run("Connect-QuDagPeer -PeerId $peers[0].PeerId -Endpoint $peers[1].Endpoint");
        var error = Assert.Single(errors);
        Assert.StartsWith("ConnectQuDagPeerIdentityMismatch,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
    }
}
