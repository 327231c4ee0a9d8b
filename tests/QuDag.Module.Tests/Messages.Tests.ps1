# Send-, Receive-QuDagMessage and Test-QuDagPeer.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Messages and pings' {
    AfterEach { Clear-TestSessions }

    It 'keeps other peers'' messages in order when a receive filters by peer' {
        $alice = New-QuDagSession -Name alice
        $to = Start-QuDagListener -Session $alice
        $senders = 1..3 | ForEach-Object { $s = New-QuDagSession; Connect-QuDagPeer $to.PeerId $to.Endpoint -Session $s; $s }
        $n = 0
        foreach ($step in @(@(0, 'a1'), @(1, 'b1'), @(0, 'a2'), @(2, 'c1'))) {
            Send-QuDagMessage -Session $senders[$step[0]] -PeerId $to.PeerId -Message $step[1]
            $n++
            Wait-Until { (Get-QuDagMetrics -Session $alice).MessagesReceived -ge $n } -Because "message $n"
        }
        $received = @(
            Receive-QuDagMessage -Session $alice -PeerId $senders[2].PeerId -TimeoutSeconds 10
            Receive-QuDagMessage -Session $alice -PeerId $senders[1].PeerId -TimeoutSeconds 10
            Receive-QuDagMessage -Session $alice -Count 2 -TimeoutSeconds 10
        )
        $received.Text | Should -Be @('c1', 'b1', 'a1', 'a2')
    }

    It 'sends a non-string object as its JSON, never its type name' {
        $bob = New-QuDagSession -Name bob
        $to = Start-QuDagListener -Session $bob
        Connect-QuDagPeer $to.PeerId $to.Endpoint
        Send-QuDagMessage $to.PeerId -Message @{ op = 'announce'; n = 2 }
        Send-QuDagMessage $to.PeerId -Message ([pscustomobject]@{ op = 'ping' })
        $texts = (Receive-QuDagMessage -Session $bob -Count 2 -TimeoutSeconds 10).Text
        $texts[0] | Should -Not -BeLike '*Hashtable*'
        ($texts[0] | ConvertFrom-Json).op | Should -Be 'announce'
        ($texts[0] | ConvertFrom-Json).n | Should -Be 2
        $texts[1] | Should -Be '{"op":"ping"}'
        # A script block is never meant as a payload (its JSON is its syntax tree): refused, not sent.
        { Send-QuDagMessage $to.PeerId -Message { $_.Payload } } |
            Should -Throw -ErrorId 'SendQuDagMessageInvalidMessage,*' -ExpectedMessage '*ScriptBlock cannot be sent*ForEach-Object*'
        Receive-QuDagMessage -Session $bob -TimeoutSeconds 1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'refuses an oversized message in QuDag''s words, without a .NET parameter suffix' {
        $peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        Send-QuDagMessage $peer.PeerId -Message ([byte[]]::new(2MB)) -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'SendQuDagMessageInvalidArgument,*'
        "$($errs[0])" | Should -Be 'A message of 2097152 bytes exceeds the maximum message size of 1048576 bytes.'
        "$($errs[0])" | Should -Not -BeLike "*(Parameter '*"
    }

    It 'answers -Quiet with $true or $false per peer and writes no error' {
        $peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        $answers = Test-QuDagPeer -Quiet $peer.PeerId, (New-TestPeerId), 'garbage', ('e' * 64) -ErrorVariable errs
        $answers | Should -Be @($true, $false, $false, $false) # connected, unknown, a bad short id, not an id
        $errs.Count | Should -Be 0
    }

    It 'times out a receive after -TimeoutSeconds and says how many arrived' {
        Receive-QuDagMessage -Count 2 -TimeoutSeconds 1 -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveQuDagMessageTimeout,*'
        "$($errs[0])" | Should -Be 'Received 0 of 2 messages within 1 s.'
    }

    It 'stops a receive promptly (Ctrl+C)' {
        $result = Stop-WhenWaiting 'Receive-QuDagMessage -TimeoutSeconds 60' -Command Receive-QuDagMessage
        $result.Waiting | Should -BeTrue
        $result.Stopped | Should -BeTrue -Because 'Ctrl+C ends the wait itself'
        $result.State | Should -Be 'Stopped'
    }
}

Describe 'A libp2p peer that is not QuDag.PS (unmodified js-libp2p)' {
    BeforeAll {
        . $PSScriptRoot/JsNode.ps1
        $script:js = Start-JsNode -Listen -Agent 'js-pester/1.0'
    }
    AfterAll {
        if ($js) { Stop-JsNode $js }
        Clear-TestSessions
    }

    It 'connects by multiaddr, pings, learns its identify, and says the peer does not speak our message protocol' {
        $address = @($js.Addresses | Where-Object { $_ -like '/ip4/127.0.0.1/tcp/*' })[0]
        $address | Should -BeLike "*/p2p/$($js.PeerId)"
        $peer = Connect-QuDagPeer -Address $address -PassThru
        $peer.PeerId | Should -Be $js.PeerId
        $peer.Muxer | Should -Be '/yamux/1.0.0'
        $peer.Security | Should -Be '/noise'
        (Test-QuDagPeer $js.PeerId -Count 2).LatencyMs | ForEach-Object { $_ | Should -BeGreaterThan 0 }
        Wait-Until { (Get-QuDagPeer $js.PeerId).AgentVersion } -Because 'the js node''s identify'
        $info = Get-QuDagPeer $js.PeerId
        $info.AgentVersion | Should -Be 'js-pester/1.0'
        $info.Protocols | Should -Contain '/ipfs/ping/1.0.0'
        $info.Protocols | Should -Not -Contain '/qudag-ps/msg/1.0.0'

        Send-QuDagMessage $js.PeerId -Message 'hello js' -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'SendQuDagMessageProtocolNotSupported,QuDag.PowerShell.Commands.SendQuDagMessageCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ProtocolError'
        "$($errs[0])" | Should -BeLike "*$($js.PeerId) does not speak /qudag-ps/msg/1.0.0*"
        (Get-QuDagPeer $js.PeerId).Status | Should -Be 'Connected' # a refused protocol is no reason to drop the peer
    }
}
