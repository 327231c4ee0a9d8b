# Connect-, Disconnect-QuDagPeer and the pool: the happy path, pipelines, limits, errors users meet.
BeforeAll { . $PSScriptRoot/Common.ps1 }
Describe 'Connect, disconnect and the pool' {
    AfterEach { Clear-TestSessions }

    It 'connects, sends, pings, pools and reconnects from the pool end to end' {
        $alice = New-QuDagSession -Name alice
        $peers = @((Start-QuDagListener -Session $alice), (New-TestPeer bob))

        $connected = $peers | Connect-QuDagPeer -PassThru
        $connected.Count | Should -Be 2
        $connected.Status | Should -Be @('Connected', 'Connected')

        Send-QuDagMessage -PeerId $peers[0].PeerId -Message 'hello' -Count 2
        Send-QuDagMessage $peers[0].PeerId -Message ([byte[]](1, 2, 3))
        $messages = Receive-QuDagMessage -Session $alice -Count 3 -TimeoutSeconds 10
        $messages[0..1].Text | Should -Be @('hello', 'hello')
        $messages[2].Bytes | Should -Be @(1, 2, 3)
        $messages[0].PeerId | Should -Be (Get-QuDagSession).PeerId

        $pings = Test-QuDagPeer -PeerId $peers.PeerId -Count 3
        $pings.Count | Should -Be 6
        $pings | ForEach-Object { $_.LatencyMs | Should -BeGreaterThan 0 }
        $pings.Sequence | Should -Be @(1, 2, 3, 1, 2, 3)
        # The pings run ahead of the pipeline: one stopped downstream ends the call and leaves no ping running.
        $first = Test-QuDagPeer -PeerId $peers[0].PeerId -Count 100000 | Select-Object -First 2
        $first.Sequence | Should -Be @(1, 2)

        $peers | Disconnect-QuDagPeer
        @(Get-QuDagPool).Count | Should -Be 2
        (Get-QuDagPeer).Status | Should -Be @('Disconnected', 'Disconnected')

        $peers | Connect-QuDagPeer
        $peers.AcceptedCount | Should -Be @(1, 1) # served from the pool, no new TCP connection

        Disconnect-QuDagPeer $peers[1].PeerId
        Clear-QuDagPool -PassThru -Confirm:$false | Should -Be 1

        $metrics = Get-QuDagMetrics
        $metrics.Connections | Should -Be 1
        $metrics.MessagesSent | Should -Be 3
        # The 6 above and the 2 taken, with those run ahead until the pipeline stopped (at most one output period's
        # worth, 100 ms of pings), not the 100,000 asked for.
        $metrics.PingCount | Should -BeGreaterOrEqual 8
        $metrics.PingCount | Should -BeLessThan 20000
        $metrics.PoolHits | Should -Be 2
        $metrics.AvgLatencyMs | Should -BeGreaterThan 0
    }

    It 'binds Import-Csv rows by property name and id strings by value' {
        $peers = 1..3 | ForEach-Object { New-TestPeer }
        $csv = Join-Path $TestDrive 'peers.csv'
        $peers | Select-Object PeerId, Endpoint | Export-Csv $csv
        $connected = Import-Csv $csv | Connect-QuDagPeer -ThrottleLimit 2 -PassThru
        $connected.Count | Should -Be 3

        @($peers | ForEach-Object { $_.PeerId.ToString() } | Get-QuDagPeer).Count | Should -Be 3

        Get-QuDagPeer | Where-Object Status -EQ Connected | Disconnect-QuDagPeer
        @(Get-QuDagPool).Count | Should -Be 3
        @(Get-QuDagPeer -Status Disconnected).Count | Should -Be 3
    }

    It 'reports a bad PeerId in a CSV row with what is wrong, and connects the other rows' {
        $good = New-TestPeer
        $rows = @(
            [pscustomobject]@{ PeerId = 'not-a-peer'; Endpoint = $good.Endpoint }
            [pscustomobject]@{ PeerId = 'abc123'; Endpoint = $good.Endpoint }
            [pscustomobject]@{ PeerId = $good.PeerId; Endpoint = $good.Endpoint }
        )
        $out = $rows | Connect-QuDagPeer -PassThru -ErrorVariable errs -ErrorAction SilentlyContinue
        @($out).Count | Should -Be 1
        $errs.Count | Should -Be 2
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerInvalidPeerId,*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$($errs[0])" | Should -BeLike "*'not-a-peer' is not a peer id: character 4 ('-') is not base58; a peer id looks like 12D3KooW...*"
        "$($errs[1])" | Should -BeLike "*'abc123'*" # base58 but no full id: a short id that matches no known peer
        "$($errs[1])" | Should -Not -BeLike '*did not contain the information required to bind*'
    }

    It 'dials a multiaddr that ends in /p2p and the peer id without -PeerId, given as -Address or piped' {
        $peers = 1..2 | ForEach-Object { New-TestPeer }
        $peers[0].Address | Should -Be "/ip4/127.0.0.1/tcp/$($peers[0].Endpoint.Split(':')[-1])/p2p/$($peers[0].PeerId)"
        $one = Connect-QuDagPeer -Address $peers[0].Address -PassThru
        $one.PeerId | Should -Be $peers[0].PeerId
        $one.Status | Should -Be 'Connected'
        $one.Address | Should -Be $peers[0].Address
        $one.Endpoint | Should -Be $peers[0].Endpoint
        $two = $peers[1].Address | Connect-QuDagPeer -PassThru # a multiaddr where a peer id goes is an address
        $two.PeerId | Should -Be $peers[1].PeerId
        $two.Status | Should -Be 'Connected'
        # host:port still works, and -Endpoint is the same parameter as -Address.
        (Get-Command Connect-QuDagPeer).Parameters['Address'].Aliases | Should -Contain 'Endpoint'
    }

    It 'shows the security, the muxer and, shortly after the connect, the peer''s identify data' {
        $peer = New-TestPeer
        $me = Get-QuDagSession
        Connect-QuDagPeer -Address $peer.Address
        $info = Get-QuDagPeer $peer.PeerId
        $info.Security | Should -BeIn @('/noise', '/tls/1.0.0')
        $info.Muxer | Should -Be '/yamux/1.0.0'
        # Identify runs on its own stream after the connect: wait for it, bounded.
        Wait-Until { (Get-QuDagPeer $peer.PeerId).AgentVersion } -Because 'the identify response'
        $info = Get-QuDagPeer $peer.PeerId
        $info.AgentVersion | Should -BeLike 'qudag-ps/*'
        $info.ProtocolVersion | Should -Be '/qudag/1.0.0'
        $info.Protocols | Should -Contain '/ipfs/ping/1.0.0'
        $info.Protocols | Should -Contain '/ipfs/id/1.0.0'
        $info.Protocols | Should -Contain '/qudag-ps/msg/1.0.0'
        $info.Addresses | Should -Contain $peer.Address
        $info.Addresses | ForEach-Object { $_ | Should -BeLike "*/p2p/$($peer.PeerId)" }
        $info.ObservedAddress | Should -Match '^/ip4/127\.0\.0\.1/tcp/\d+$'
        # The other side learned ours the same way, and knows the peer dialed it.
        Wait-Until { (Get-QuDagPeer $me.PeerId -Session $peer.Session).AgentVersion } -Because 'the remote''s identify of us'
        $back = Get-QuDagPeer $me.PeerId -Session $peer.Session
        $back.Inbound | Should -BeTrue
        $back.ProtocolVersion | Should -Be '/qudag/1.0.0'
        $back.Security | Should -Be $info.Security
    }

    It 'refuses a -PeerId that contradicts the /p2p part of -Address, and dials nothing' {
        $peers = 1..2 | ForEach-Object { New-TestPeer }
        Connect-QuDagPeer -PeerId $peers[1].PeerId -Address $peers[0].Address -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerAddressPeerMismatch,*'
        "$($errs[0])" | Should -BeLike "*names peer $($peers[0].PeerId), but -PeerId is $($peers[1].PeerId)*"
        $peers.AcceptedCount | Should -Be @(0, 0)
    }

    It 'changes nothing under -WhatIf' {
        $peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint -WhatIf
        Get-QuDagPeer | Should -BeNullOrEmpty
        $peer.AcceptedCount | Should -Be 0

        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        Disconnect-QuDagPeer $peer.PeerId -WhatIf
        Set-QuDagPeerStatus $peer.PeerId Failed -WhatIf
        Send-QuDagMessage $peer.PeerId 'x' -WhatIf
        (Get-QuDagPeer).Status | Should -Be 'Connected'
        (Get-QuDagMetrics).MessagesSent | Should -Be 0

        Disconnect-QuDagPeer $peer.PeerId
        Clear-QuDagPool -WhatIf
        Reset-QuDagSession -WhatIf
        Stop-QuDagListener -Session $peer.Session -WhatIf
        @(Get-QuDagPool).Count | Should -Be 1
        $peer.IsListening | Should -BeTrue
    }

    It 'reports an unknown peer as ObjectNotFound with its id, and the pipeline goes on' {
        $peers = 1..2 | ForEach-Object { New-TestPeer }
        $peers | Connect-QuDagPeer
        $unknown = New-TestPeerId
        $out = $unknown, $peers[0].PeerId, $peers[1].PeerId | Disconnect-QuDagPeer -PassThru -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'DisconnectQuDagPeerPeerNotFound,QuDag.PowerShell.Commands.DisconnectQuDagPeerCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be $unknown
        @($out).Count | Should -Be 2

        Get-QuDagPeer -PeerId $unknown -ErrorVariable e1 -ErrorAction SilentlyContinue
        Test-QuDagPeer -PeerId $unknown -ErrorVariable e2 -ErrorAction SilentlyContinue
        Send-QuDagMessage -PeerId $unknown -Message x -ErrorVariable e3 -ErrorAction SilentlyContinue
        ($e1 + $e2 + $e3).FullyQualifiedErrorId | ForEach-Object { $_.Split(',')[0] } |
            Should -Be @('GetQuDagPeerPeerNotFound', 'TestQuDagPeerPeerNotFound', 'SendQuDagMessagePeerNotFound')
    }

    It 'says what is wrong with a bad address' {
        $id = New-TestPeerId
        Connect-QuDagPeer -PeerId $id -Endpoint 'nowhere' -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerInvalidAddress,*'
        "$($errs[0])" | Should -BeLike "*'nowhere' is not an address: use a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW..., or host:port*"
        Connect-QuDagPeer -PeerId $id -Address '/ip4/127.0.0.1/tcp/notaport' -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerInvalidAddress,*'
        "$($errs[0])" | Should -BeLike "*'/ip4/127.0.0.1/tcp/notaport' is not a multiaddr*"
        Connect-QuDagPeer -Address '/ip4/127.0.0.1/tcp/4001' -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerPeerIdRequired,*'
        "$($errs[0])" | Should -BeLike '*ends in /p2p/<peer id>*'
        Get-QuDagPeer | Should -BeNullOrEmpty
    }

    It 'says "name not resolved: " and the host for a host that does not resolve' {
        Connect-QuDagPeer -PeerId (New-TestPeerId) -Endpoint 'no-such-host.invalid:9000' -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerNameNotResolved,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        "$($errs[0])" | Should -Be 'name not resolved: no-such-host.invalid'
    }

    It 'gives LimitsExceeded at the limit and ObjectNotFound without an address' {
        $peers = 1..2 | ForEach-Object { New-TestPeer }
        $small = New-QuDagSession -MaxConnections 1
        $out = $peers | Connect-QuDagPeer -Session $small -ThrottleLimit 1 -PassThru -ErrorVariable errs -ErrorAction SilentlyContinue
        @($out).Count | Should -Be 1
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerLimitReached,*'
        $errs[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $errs[0].TargetObject | Should -Be $peers[1].PeerId

        Connect-QuDagPeer -PeerId (New-TestPeerId) -ErrorVariable errs2 -ErrorAction SilentlyContinue
        $errs2[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerAddressUnknown,*'
    }

    It 'prints both full ids when a peer answers as another' {
        $peers = 1..2 | ForEach-Object { New-TestPeer }
        Connect-QuDagPeer -PeerId $peers[0].PeerId -Endpoint $peers[1].Endpoint -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerIdentityMismatch,*'
        $errs[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        "$($errs[0])" | Should -BeLike "*expected peer $($peers[0].PeerId), but the remote authenticated as $($peers[1].PeerId)*"
    }

    It 'fails a connect that exceeds -ConnectTimeoutSeconds, and the bare number means seconds' {
        # A TCP listener that accepts and never speaks: the handshake can only time out.
        $silent = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $silent.Start()
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Connect-QuDagPeer -PeerId (New-TestPeerId) -Endpoint "127.0.0.1:$($silent.LocalEndpoint.Port)" -ConnectTimeoutSeconds 1 -ErrorVariable errs -ErrorAction SilentlyContinue
            $clock.Stop()
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerTimeout,*'
            $errs[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.9 # 1 s, not 1 tick
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 9 # and not the session's 10 s
        }
        finally { $silent.Stop() }
    }

    It 'refuses a zero or negative -ConnectTimeoutSeconds at parameter binding' {
        $id = New-TestPeerId
        { Connect-QuDagPeer $id '127.0.0.1:1' -ConnectTimeoutSeconds 0 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,QuDag.PowerShell.Commands.ConnectQuDagPeerCommand'
        { Connect-QuDagPeer $id '127.0.0.1:1' -ConnectTimeoutSeconds -5 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,QuDag.PowerShell.Commands.ConnectQuDagPeerCommand'
    }

    It 'says with -Verbose whether it dialed (with the handshake time) or reused the pool' {
        $peer = New-TestPeer
        $dialed = Connect-QuDagPeer $peer.PeerId $peer.Endpoint -Verbose 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        "$($dialed[-1])" | Should -Match "dialed 127\.0\.0\.1:$($peer.Endpoint.Split(':')[-1]), handshake [\d.]+ ms"
        Disconnect-QuDagPeer $peer.PeerId
        $pooled = Connect-QuDagPeer $peer.PeerId -Verbose 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        "$($pooled[-1])" | Should -Match 'reused a pooled connection'
    }

    It 'says it too under $VerbosePreference = Continue, and -Verbose:$false silences it' {
        # The messages are built only when they show (a large pipeline skips the peer lookups): the preference
        # variable, not only the switch, must turn them on.
        $peer = New-TestPeer
        $VerbosePreference = 'Continue'
        $dialed = Connect-QuDagPeer $peer.PeerId $peer.Endpoint 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        "$($dialed[-1])" | Should -Match 'dialed 127\.0\.0\.1:\d+, handshake [\d.]+ ms'
        Disconnect-QuDagPeer $peer.PeerId
        $quiet = Connect-QuDagPeer $peer.PeerId -Verbose:$false 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        $quiet | Should -BeNullOrEmpty
        $pooled = Connect-QuDagPeer $peer.PeerId 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        "$($pooled[-1])" | Should -Match 'already connected'
        $VerbosePreference = 'SilentlyContinue'
    }
}
