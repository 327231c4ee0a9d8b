# Start- and Stop-QuDagListener.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Listeners' {
    AfterEach { Clear-TestSessions }

    It 'listens on -Address localhost' {
        $listener = Start-QuDagListener -Address localhost -Session (New-QuDagSession)
        $listener.Endpoint | Should -Match '^(127\.0\.0\.1|\[::1\]):\d+$'
        Connect-QuDagPeer $listener.PeerId $listener.Endpoint
        (Get-QuDagPeer $listener.PeerId).Status | Should -Be 'Connected'
    }

    It 'returns the PeerId and the multiaddrs to dial, each ending in /p2p and the peer id' {
        $session = New-QuDagSession
        $listener = Start-QuDagListener -Session $session
        $listener.PeerId | Should -Be $session.PeerId
        $listener.PeerId | Should -Match '^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$'
        $port = $listener.Endpoint.Split(':')[-1]
        $listener.Address | Should -Be "/ip4/127.0.0.1/tcp/$port/p2p/$($listener.PeerId)"
        $listener.Addresses | Should -Be @($listener.Address)
        "$listener" | Should -Be $listener.Address

        # A wildcard bind is reached at every local address: each one a multiaddr with /p2p, loopback among them.
        $wide = Start-QuDagListener -Address 0.0.0.0 -Session $session
        $widePort = $wide.Endpoint.Split(':')[-1]
        $wide.Addresses.Count | Should -BeGreaterOrEqual 1
        $wide.Addresses | ForEach-Object { $_ | Should -Match "^/ip4/[\d.]+/tcp/$widePort/p2p/$($session.PeerId)$" }
        $wide.Addresses | Should -Contain "/ip4/127.0.0.1/tcp/$widePort/p2p/$($session.PeerId)"
        $wide.Addresses | Should -Not -Contain "/ip4/0.0.0.0/tcp/$widePort/p2p/$($session.PeerId)"

        # -Address takes a multiaddr too, and what it returns dials as it is.
        $byMultiaddr = Start-QuDagListener -Address '/ip4/127.0.0.1/tcp/0' -Session (New-QuDagSession)
        $byMultiaddr.Address | Should -Match "^/ip4/127\.0\.0\.1/tcp/[1-9]\d*/p2p/$($byMultiaddr.PeerId)$"
        (Connect-QuDagPeer -Address $byMultiaddr.Address -PassThru).Status | Should -Be 'Connected'
        (Connect-QuDagPeer -Address $wide.Address -PassThru).PeerId | Should -Be $session.PeerId
    }

    It 'names the address when the port is in use' {
        $first = Start-QuDagListener -Session (New-QuDagSession)
        $port = $first.Endpoint.Split(':')[-1]
        { Start-QuDagListener -Port $port -Session (New-QuDagSession) } |
            Should -Throw -ErrorId 'StartQuDagListenerAddressInUse,QuDag.PowerShell.Commands.StartQuDagListenerCommand' -ExpectedMessage "Cannot listen on 127.0.0.1:$port*already in use*"
    }

    It 'says name not resolved for an unknown -Address' {
        { Start-QuDagListener -Address no-such-host.invalid } | Should -Throw -ExpectedMessage 'name not resolved: no-such-host.invalid'
    }

    It 'stops listeners; established connections stay and new dials are refused' {
        $bob = New-QuDagSession -Name bob
        $peers = @((New-TestPeer), (Start-QuDagListener -Session $bob))
        Connect-QuDagPeer $peers[0].PeerId $peers[0].Endpoint
        $stopped = Stop-QuDagListener -Session $bob -PassThru
        $stopped.IsListening | Should -BeFalse
        (Get-QuDagSession -Session $bob).Listeners | Should -BeNullOrEmpty
        Connect-QuDagPeer $peers[1].PeerId $peers[1].Endpoint -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerUnreachable,*'
        Stop-QuDagListener -Port 1 -ErrorVariable notFound -ErrorAction SilentlyContinue
        $notFound[0].FullyQualifiedErrorId | Should -BeLike 'StopQuDagListenerNotFound,*'
    }
}
