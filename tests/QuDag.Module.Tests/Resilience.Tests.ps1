# Block-/Unblock-QuDagPeer, the circuit breaker, keepalive and reconnect, as an operator drives them.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Gater and resilience' {
    AfterEach { Clear-TestSessions }

    It 'fails a blocked peer with the Denied id, records its endpoint, and lets it connect once unblocked' {
        $peer = New-TestPeer
        $rule = Block-QuDagPeer $peer.PeerId -Direction Outbound -PassThru
        $rule.GetType().FullName | Should -Be 'QuDag.PowerShell.QuDagGateRule'
        $rule.OutboundAllowed | Should -BeFalse
        $rule.InboundAllowed | Should -BeTrue
        $rule.Denied | Should -Be 'Outbound'

        Connect-QuDagPeer $peer.PeerId $peer.Endpoint -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'ConnectQuDagPeerDenied,QuDag.PowerShell.Commands.ConnectQuDagPeerCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        (Get-QuDagMetrics).DeniedOutbound | Should -Be 1
        (Get-QuDagPeer $peer.PeerId).Endpoint | Should -Be $peer.Endpoint # the refused connect still recorded where the peer is

        $peer.PeerId | Unblock-QuDagPeer
        Connect-QuDagPeer $peer.PeerId # from the address book
        (Get-QuDagPeer $peer.PeerId).Status | Should -Be 'Connected'
    }

    It 'refuses an inbound-blocked peer right after the security handshake, and the block survives Set-QuDagSession' {
        $node = New-QuDagSession -Name node
        $listener = Start-QuDagListener -Session $node
        $intruder = New-QuDagSession -Name intruder
        Block-QuDagPeer $intruder.PeerId -Direction Inbound -Session $node
        Set-QuDagSession -Session $node -MaxConnections 50 -PoolTimeoutSeconds 60 -Force # a restart keeps the gater
        # libp2p gates an inbound peer once security has authenticated it: the dialer may finish its side of the
        # upgrade (Noise's last message, the muxer chosen in the handshake) before the node hangs up. Either the
        # connect fails, or the connection it made is gone at once; never does the intruder stay connected.
        Connect-QuDagPeer -Address $listener.Address -Session $intruder -ErrorVariable errs -ErrorAction SilentlyContinue
        if ($errs.Count -gt 0) {
            $errs[0].FullyQualifiedErrorId.Split(',')[0] | Should -BeIn @('ConnectQuDagPeerAuthenticationFailed', 'ConnectQuDagPeerConnectionFailed')
        }
        Wait-Until { (Get-QuDagMetrics -Session $node).DeniedInbound -eq 1 } -Because 'the node to count the refusal'
        Wait-Until { (Get-QuDagPeer $node.PeerId -Session $intruder).Status -ne 'Connected' } -Because 'the intruder to see the node hang up'
        (Get-QuDagMetrics -Session $intruder).OpenConnections | Should -Be 0
        (Get-QuDagMetrics -Session $node).OpenConnections | Should -Be 0
        Get-QuDagPeer -Session $node | Where-Object Status -EQ Connected | Should -BeNullOrEmpty
    }

    It 'opens a circuit after repeated failures, shows it, and fails fast with CircuitOpen' {
        # A port bound but not listening refuses every dial at once, and nothing else can take it meanwhile.
        $closed = [Net.Sockets.Socket]::new([Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Tcp)
        try {
            $closed.Bind([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
            $peer = [pscustomobject]@{ PeerId = (New-QuDagSession).PeerId; Endpoint = "$($closed.LocalEndPoint)" }
            $breaker = New-QuDagSession -Name breaker -CircuitBreakerThreshold 3 -CircuitBreakerSeconds 600 -KeepAliveSeconds 0
            $errs = @()
            1..4 | ForEach-Object { Connect-QuDagPeer $peer.PeerId $peer.Endpoint -Session $breaker -ErrorVariable +errs -ErrorAction SilentlyContinue }
            $errs.FullyQualifiedErrorId | ForEach-Object { $_.Split(',')[0] } |
                Should -Be @('ConnectQuDagPeerUnreachable', 'ConnectQuDagPeerUnreachable', 'ConnectQuDagPeerUnreachable', 'ConnectQuDagPeerCircuitOpen')
            $errs[3].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            $info = Get-QuDagPeer $peer.PeerId -Session $breaker
            $info.Circuit | Should -Be 'Open'
            $info.ConsecutiveFailures | Should -Be 3
            (Get-QuDagPeer -Session $breaker | Out-String -Width 80) | Should -Match 'circuit open'
            (Get-QuDagMetrics -Session $breaker | Out-String) | Should -Match 'OpenCircuits\s+: 1'
        }
        finally { $closed.Dispose() }
    }

    It 'counts a connect that ran out of -ConnectTimeoutSeconds as a failure, and the breaker still opens after it' {
        # The issue's repro: a refused dial, a dial to a silent server that times out, then refused dials.
        $closed = [Net.Sockets.Socket]::new([Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Tcp)
        $silent = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        try {
            $closed.Bind([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
            $silent.Start()
            $id = New-TestPeerId
            $errs = @()
            Connect-QuDagPeer $id "$($closed.LocalEndPoint)" -ErrorVariable +errs -ErrorAction SilentlyContinue
            Connect-QuDagPeer $id "$($silent.LocalEndpoint)" -ConnectTimeoutSeconds 1 -ErrorVariable +errs -ErrorAction SilentlyContinue
            (Get-QuDagPeer $id).Status | Should -Be 'Failed' # as help example 2 promises
            1..7 | ForEach-Object { Connect-QuDagPeer $id "$($closed.LocalEndPoint)" -ErrorVariable +errs -ErrorAction SilentlyContinue }
            $errs.FullyQualifiedErrorId | ForEach-Object { $_.Split(',')[0] } | Should -Be @(
                'ConnectQuDagPeerUnreachable', 'ConnectQuDagPeerTimeout',
                'ConnectQuDagPeerUnreachable', 'ConnectQuDagPeerUnreachable', 'ConnectQuDagPeerUnreachable',
                'ConnectQuDagPeerCircuitOpen', 'ConnectQuDagPeerCircuitOpen', 'ConnectQuDagPeerCircuitOpen', 'ConnectQuDagPeerCircuitOpen')
            $peer = Get-QuDagPeer $id
            $peer.Circuit | Should -Be 'Open'
            $peer.ConsecutiveFailures | Should -Be 5
        }
        finally {
            $closed.Dispose()
            $silent.Stop()
        }
    }

    It 'brings a peer back with Connect-QuDagPeer -AutoReconnect after the remote drops it' {
        $remote = New-QuDagSession
        $peer = Start-QuDagListener -Session $remote
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint -AutoReconnect
        $me = (Get-QuDagSession).PeerId
        # The remote adopts our inbound connection just after our connect returns: wait until it has (Wait-QuDagPeer
        # would rightly say at once that it does not know us yet).
        Wait-Until { (Get-QuDagPeer -Session $remote | Where-Object PeerId -EQ $me).Status -eq 'Connected' } -TimeoutSeconds 10 -Because 'the remote to adopt us'
        Disconnect-QuDagPeer $me -Force -Session $remote
        Wait-Until { (Get-QuDagMetrics).Reconnects -eq 1 } -TimeoutSeconds 15 -Because 'the reconnect'
        $info = Get-QuDagPeer $peer.PeerId
        $info.AutoReconnect | Should -BeTrue
        $info.Status | Should -Be 'Connected'
        Connect-QuDagPeer $peer.PeerId -AutoReconnect:$false
        (Get-QuDagPeer $peer.PeerId).AutoReconnect | Should -BeFalse
    }
}
