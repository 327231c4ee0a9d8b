<#
.SYNOPSIS
    How to Pester-test a runbook that uses QuDag: an embedded peer stands in for the real one.
.DESCRIPTION
    New-QuDagSession makes a separate local node; Start-QuDagListener gives its PeerId and Endpoint, which the
    code under test dials exactly as it would a production peer, over real TLS on loopback.
    Run with: Invoke-Pester ./module/examples/Runbook.Tests.ps1
#>
#Requires -Modules Pester

BeforeAll {
    Import-Module ([IO.Path]::Combine($PSScriptRoot, '../../QuDag.psd1')) -Force

    # The runbook under test: connect to a peer, announce ourselves, report its round trip.
    function Invoke-Announce([QuDag.Network.PeerId] $PeerId, [string] $Endpoint) {
        Connect-QuDagPeer -PeerId $PeerId -Endpoint $Endpoint
        Send-QuDagMessage -PeerId $PeerId -Message 'announce'
        Test-QuDagPeer -PeerId $PeerId -Count 1
    }

    $script:testPeer = New-QuDagSession -Name test-peer
    $script:listener = Start-QuDagListener -Session $testPeer
}

AfterAll {
    $testPeer.Dispose()
    Reset-QuDagSession -Confirm:$false
}

Describe 'Invoke-Announce' {
    It 'connects to the peer over an authenticated connection' {
        $ping = Invoke-Announce -PeerId $listener.PeerId -Endpoint $listener.Endpoint
        $ping.LatencyMs | Should -BeGreaterThan 0
        (Get-QuDagPeer -PeerId $listener.PeerId).Status | Should -Be 'Connected'
    }

    It 'delivers the announcement to the peer' {
        $message = Receive-QuDagMessage -Session $testPeer -Timeout 00:00:05
        $message.Text | Should -Be 'announce'
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
