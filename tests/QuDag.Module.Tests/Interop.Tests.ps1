# The module against a real, unmodified js-libp2p 3.x node (tests/interop): what an operator does against a
# QuDAG network, over noise and over tls, in real pwsh.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    . $PSScriptRoot/JsNode.ps1
}

Describe 'The module against js-libp2p' {
    AfterEach { Clear-TestSessions }

    It 'connects to a <_> js node by multiaddr, pings it, shows its identify data and gets its QuDAG answer' -ForEach @('noise', 'tls') {
        $js = Start-JsNode -Security $_ -Listen -Agent "js-$_/1.0"
        try {
            $peer = Connect-QuDagPeer -Address $js.Addresses[0] -PassThru
            $peer.PeerId | Should -Be $js.PeerId
            $peer.Status | Should -Be 'Connected'
            $peer.Security | Should -Be $(if ($_ -eq 'tls') { '/tls/1.0.0' } else { '/noise' })
            $peer.Muxer | Should -Be '/yamux/1.0.0'
            $peer.AgentVersion | Should -Be "js-$_/1.0"
            $peer.ProtocolVersion | Should -Be '/qudag/1.0.0'
            $peer.Protocols | Should -Contain '/qudag/req/1.0.0'
            $peer.Protocols | Should -Contain '/ipfs/ping/1.0.0'
            $peer.Addresses | Should -Contain $js.Addresses[0]

            $pings = Test-QuDagPeer -PeerId $js.PeerId -Count 3
            $pings.Count | Should -Be 3
            $pings | ForEach-Object { $_.LatencyMs | Should -BeGreaterThan 0 }
            Test-QuDagPeer -PeerId $js.PeerId -Quiet | Should -BeTrue

            $response = Invoke-QuDagRequest -PeerId $js.PeerId -Payload 'status?' -RequestId 'op-1'
            $response.RequestId | Should -Be 'op-1'
            $response.Text | Should -Be 'ack:status?'
            $response.LatencyMs | Should -BeGreaterThan 0
            # An empty payload is js's (and rust's) empty CBOR array: js answers "ack:" and nothing more.
            (Invoke-QuDagRequest -PeerId $js.PeerId -Payload '' -ErrorAction Stop).Text | Should -Be 'ack:'

            # js is not a QuDag.PS node: our message protocol is refused in so many words, the peer stays connected.
            Send-QuDagMessage -PeerId $js.PeerId -Message 'hi' -ErrorVariable refused -ErrorAction SilentlyContinue
            $refused[0].FullyQualifiedErrorId | Should -BeLike 'SendQuDagMessageProtocolNotSupported*'
            (Get-QuDagPeer -PeerId $js.PeerId).Status | Should -Be 'Connected'
        }
        finally { Stop-JsNode $js }
    }

    It 'is dialed by a <_> js node, which pings and identifies it' -ForEach @('noise', 'tls') {
        $listener = Start-QuDagListener
        $js = Start-JsNode -Security $_
        try {
            $dial = Invoke-JsNode $js 'dial' @{ addr = $listener.Address }
            $dial.remotePeer | Should -Be $listener.PeerId
            $dial.encryption | Should -Be $(if ($_ -eq 'tls') { '/tls/1.0.0' } else { '/noise' })
            Wait-QuDagPeer -PeerId $js.PeerId -Status Connected -TimeoutSeconds 10 | Out-Null
            $peer = Get-QuDagPeer -PeerId $js.PeerId
            $peer.Inbound | Should -BeTrue

            (Invoke-JsNode $js 'ping' @{ peer = $listener.PeerId }).rtt | Should -BeGreaterOrEqual 0  # js reports whole milliseconds: 0 on loopback
            $identify = Invoke-JsNode $js 'identify' @{ peer = $listener.PeerId }
            $identify.protocolVersion | Should -Be '/qudag/1.0.0'
            $identify.agentVersion | Should -BeLike 'qudag-ps/*'
            $identify.protocols | Should -Contain '/qudag-ps/msg/1.0.0'
            Test-QuDagPeer -PeerId $js.PeerId -Quiet | Should -BeTrue
        }
        finally { Stop-JsNode $js }
    }

    It 'refuses a wrong /p2p/ id with IdentityMismatch, naming both ids, and keeps no connection' {
        $js = Start-JsNode -Listen
        try {
            $stranger = (New-QuDagSession -Name stranger).PeerId
            $wrong = $js.Addresses[0] -replace [regex]::Escape($js.PeerId), $stranger
            Connect-QuDagPeer -Address $wrong -ErrorVariable failed -ErrorAction SilentlyContinue
            $failed.Count | Should -Be 1
            $failed[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerIdentityMismatch*'
            $failed[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
            "$failed" | Should -BeLike "*$stranger*"
            "$failed" | Should -BeLike "*$($js.PeerId)*"
            (Get-QuDagMetrics).OpenConnections | Should -Be 0
        }
        finally { Stop-JsNode $js }
    }

    It 'sees a killed js node go within seconds' {
        $js = Start-JsNode -Listen
        try {
            Connect-QuDagPeer -Address $js.Addresses[0]
            (Get-QuDagPeer -PeerId $js.PeerId).Status | Should -Be 'Connected'
            $killedAt = [Diagnostics.Stopwatch]::StartNew()
            Stop-JsNode $js -Kill
            Wait-Until { (Get-QuDagPeer -PeerId $js.PeerId).Status -in 'Disconnected', 'Failed' } -TimeoutSeconds 10 -Because 'the killed node to be seen gone'
            $killedAt.Elapsed.TotalSeconds | Should -BeLessThan 10
            (Get-QuDagMetrics).OpenConnections | Should -Be 0
        }
        finally { Stop-JsNode $js }
    }
}
