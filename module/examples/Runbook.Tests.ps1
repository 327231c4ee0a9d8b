<#
.SYNOPSIS
    How to Pester-test a runbook that uses QuDag: an embedded peer stands in for the real one, and Mock stands in
    for the network where a test should not touch it.
.DESCRIPTION
    New-QuDagSession makes a separate local node; Start-QuDagListener gives its PeerId and its multiaddr
    (/ip4/127.0.0.1/tcp/<port>/p2p/<peer id>), which the code under test dials exactly as it would a production
    peer: libp2p over TCP on loopback, authenticated by Noise or TLS, multiplexed by yamux. The cmdlets take peer ids
    and addresses as strings, so Mock accepts what the runbook passes (CSV rows, text).
    CI runs it with the module's suites (tests/QuDag.Module.Tests/Invoke-ModuleTests.ps1). Alone, with the project's
    runner, which brings Pester 5.7.1 from NuGet (pwsh 7 ships without Pester):
    dotnet pwsh tests/QuDag.Module.Tests/Invoke-ModuleTests.ps1 -Path ./module/examples/Runbook.Tests.ps1
    or, with Pester installed (Install-PSResource Pester -Version 5.7.1 -Scope CurrentUser):
    Invoke-Pester ./module/examples/Runbook.Tests.ps1
#>
#Requires -Modules Pester

BeforeAll {
    Import-Module ([IO.Path]::Combine($PSScriptRoot, '../../QuDag.psd1')) -Force

    # The runbook under test: connect to a peer by its multiaddr, announce ourselves, report its round trip.
    function Invoke-Announce([string] $Address) {
        $peer = Connect-QuDagPeer -Address $Address -PassThru
        Send-QuDagMessage -PeerId $peer.PeerId -Message @{ op = 'announce'; from = (Get-QuDagSession).PeerId }
        Test-QuDagPeer -PeerId $peer.PeerId -Count 1
    }

    # Another runbook: connect every peer of a CSV file (an Address column of multiaddrs) and report those not up.
    function Get-DownPeer([string] $Path) {
        Import-Csv $Path | Connect-QuDagPeer -ErrorAction SilentlyContinue
        Import-Csv $Path | Where-Object { -not (Test-QuDagPeer -Quiet $_.PeerId) } | ForEach-Object PeerId
    }

    # A third: serve requests on /qudag/req/1.0.0, answering what each asks, and report what it answered.
    function Invoke-ServeRequest([int] $Count, [string] $Session) {
        Receive-QuDagRequest -Session $Session -Count $Count -TimeoutSeconds 30 | ForEach-Object {
            $answer = if ($_.Text -eq 'status?') { 'ok' } else { "unknown request: $($_.Text)" }
            $_ | Send-QuDagResponse -Session $Session -Payload $answer -PassThru
        }
    }

    $script:testPeer = New-QuDagSession -Name test-peer
    $script:listener = Start-QuDagListener -Session $testPeer
}

AfterAll {
    Remove-QuDagSession $testPeer
    Reset-QuDagSession -Confirm:$false
}

Describe 'Invoke-Announce' {
    It 'connects to the peer over an authenticated libp2p connection' {
        $ping = Invoke-Announce -Address $listener.Address
        $ping.LatencyMs | Should -BeGreaterThan 0
        $peer = Get-QuDagPeer -PeerId $listener.PeerId
        $peer.Status | Should -Be 'Connected'
        $peer.Security | Should -BeIn @('/noise', '/tls/1.0.0')
        $peer.Muxer | Should -Be '/yamux/1.0.0'
    }

    It 'delivers the announcement to the peer as JSON' {
        $message = Receive-QuDagMessage -Session $testPeer -TimeoutSeconds 5
        ($message.Text | ConvertFrom-Json).op | Should -Be 'announce'
        $message.PeerId | Should -Be (Get-QuDagSession).PeerId
    }

    It 'reuses the pooled connection after a disconnect' {
        Disconnect-QuDagPeer -PeerId $listener.PeerId
        Invoke-Announce -Address $listener.Address
        $listener.AcceptedCount | Should -Be 1
    }

    It 'reports an unknown peer as ObjectNotFound' {
        $unknown = (New-QuDagSession -Name unknown).PeerId # a valid peer id this session never met
        { Get-QuDagPeer -PeerId $unknown -ErrorAction Stop } |
            Should -Throw -ErrorId 'GetQuDagPeerPeerNotFound,QuDag.PowerShell.Commands.GetQuDagPeerCommand'
        Remove-QuDagSession -Name unknown
    }
}

Describe 'Get-DownPeer' {
    It 'lists the peers that do not answer, with the network mocked' {
        $up, $down = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
        $csv = Join-Path $TestDrive 'peers.csv'
        "PeerId,Address`n$up,/ip4/10.0.0.1/tcp/4001/p2p/$up`n$down,/ip4/10.0.0.2/tcp/4001/p2p/$down" | Set-Content $csv
        Mock Connect-QuDagPeer { }
        Mock Test-QuDagPeer { $PeerId[0] -eq $up }
        Get-DownPeer $csv | Should -Be $down
        Should -Invoke Connect-QuDagPeer -Times 2 -Exactly -ParameterFilter { $Address -like '/ip4/10.0.0.*/tcp/4001/p2p/*' }
    }
}

Describe 'Invoke-ServeRequest' {
    It 'answers each request, with the whole pipeline mocked' {
        $asker = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
        # Plain objects stand in for Receive-QuDagRequest's: Send-QuDagResponse binds their PeerId and RequestId.
        Mock Receive-QuDagRequest {
            [pscustomobject]@{ PeerId = $asker; RequestId = 'r1'; Text = 'status?' }
            [pscustomobject]@{ PeerId = $asker; RequestId = 'r2'; Text = 'reboot' }
        }
        Mock Send-QuDagResponse { [pscustomobject]@{ PeerId = $PeerId; RequestId = $RequestId; Answer = $Payload } }
        $served = Invoke-ServeRequest -Count 2 -Session test-peer
        $served.Answer | Should -Be @('ok', 'unknown request: reboot')
        Should -Invoke Receive-QuDagRequest -Times 1 -Exactly -ParameterFilter { $Session.Name -eq 'test-peer' -and $Count -eq 2 }
        Should -Invoke Send-QuDagResponse -Times 1 -Exactly -ParameterFilter { $RequestId -eq 'r1' -and $PeerId -eq $asker -and $Payload -eq 'ok' }
        Should -Invoke Send-QuDagResponse -Times 2 -Exactly
    }
}
