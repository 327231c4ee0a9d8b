<#
.SYNOPSIS
    How to Pester-test a runbook that uses QuDag: an embedded peer stands in for the real one, and Mock stands in
    for the network where a test should not touch it.
.DESCRIPTION
    New-QuDagSession makes a separate local node; Start-QuDagListener gives its PeerId and Endpoint, which the
    code under test dials exactly as it would a production peer, over real TLS on loopback. The cmdlets take
    peer ids and endpoints as strings, so Mock accepts what the runbook passes (CSV rows, text).
    CI runs it with the module's suites (tests/QuDag.Module.Tests/Invoke-ModuleTests.ps1); alone:
    Invoke-Pester ./module/examples/Runbook.Tests.ps1
#>
#Requires -Modules Pester

BeforeAll {
    Import-Module ([IO.Path]::Combine($PSScriptRoot, '../../QuDag.psd1')) -Force

    # The runbook under test: connect to a peer, announce ourselves, report its round trip.
    function Invoke-Announce([string] $PeerId, [string] $Endpoint) {
        Connect-QuDagPeer -PeerId $PeerId -Endpoint $Endpoint
        Send-QuDagMessage -PeerId $PeerId -Message @{ op = 'announce'; from = (Get-QuDagSession).PeerId }
        Test-QuDagPeer -PeerId $PeerId -Count 1
    }

    # Another runbook: connect every peer of a CSV file and report those that are not up.
    function Get-DownPeer([string] $Path) {
        Import-Csv $Path | Connect-QuDagPeer -ErrorAction SilentlyContinue
        Import-Csv $Path | Where-Object { -not (Test-QuDagPeer -Quiet $_.PeerId) } | ForEach-Object PeerId
    }

    $script:testPeer = New-QuDagSession -Name test-peer
    $script:listener = Start-QuDagListener -Session $testPeer
}

AfterAll {
    Remove-QuDagSession $testPeer
    Reset-QuDagSession -Confirm:$false
}

Describe 'Invoke-Announce' {
    It 'connects to the peer over an authenticated connection' {
        $ping = Invoke-Announce -PeerId $listener.PeerId -Endpoint $listener.Endpoint
        $ping.LatencyMs | Should -BeGreaterThan 0
        (Get-QuDagPeer -PeerId $listener.PeerId).Status | Should -Be 'Connected'
    }

    It 'delivers the announcement to the peer as JSON' {
        $message = Receive-QuDagMessage -Session $testPeer -TimeoutSeconds 5
        ($message.Text | ConvertFrom-Json).op | Should -Be 'announce'
    }

    It 'reuses the pooled connection after a disconnect' {
        Disconnect-QuDagPeer -PeerId $listener.PeerId
        Invoke-Announce -PeerId $listener.PeerId -Endpoint $listener.Endpoint
        $listener.AcceptedCount | Should -Be 1
    }

    It 'reports an unknown peer as ObjectNotFound' {
        { Get-QuDagPeer -PeerId ('ab' * 32) -ErrorAction Stop } |
            Should -Throw -ErrorId 'GetQuDagPeerPeerNotFound,QuDag.PowerShell.Commands.GetQuDagPeerCommand'
    }
}

Describe 'Get-DownPeer' {
    It 'lists the peers that do not answer, with the network mocked' {
        $csv = Join-Path $TestDrive 'peers.csv'
        "PeerId,Endpoint`n$('a' * 64),10.0.0.1:9000`n$('b' * 64),10.0.0.2:9000" | Set-Content $csv
        Mock Connect-QuDagPeer { }
        Mock Test-QuDagPeer { $PeerId[0] -like 'a*' }
        Get-DownPeer $csv | Should -Be ('b' * 64)
        Should -Invoke Connect-QuDagPeer -Times 2 -Exactly -ParameterFilter { $Endpoint -like '10.0.0.*:9000' }
    }
}
