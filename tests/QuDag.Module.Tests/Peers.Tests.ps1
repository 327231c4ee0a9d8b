# Get-QuDagPeer, Set-QuDagPeerStatus, Wait-QuDagPeer: statuses, short ids, wildcards, completion, stopping a wait.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Peers, statuses and waits' {
    AfterEach { Clear-TestSessions }

    It 'sets a status with a reason and waits for a status' {
        $peers = 1..2 | ForEach-Object { New-TestPeer }
        $set = Set-QuDagPeerStatus -PeerId $peers[0].PeerId -Status Failed -Reason 'maintenance' -PassThru
        $set.Status | Should -Be 'Failed'
        $set.LastError | Should -Be 'maintenance'

        Connect-QuDagPeer $peers[0].PeerId $peers[0].Endpoint
        $waited = Wait-QuDagPeer -PeerId $peers[0].PeerId -Status Connected -TimeoutSeconds 10
        $waited.PeerId | Should -Be $peers[0].PeerId
    }

    It 'keeps an inbound peer''s direction, security and endpoint after it disconnects' {
        $node = New-QuDagSession -Name node
        $listener = Start-QuDagListener -Session $node
        $visitor = New-QuDagSession -Name visitor
        Connect-QuDagPeer -Address $listener.Address -Session $visitor
        Wait-Until { (Get-QuDagPeer -Session $node | Where-Object PeerId -EQ $visitor.PeerId).Status -eq 'Connected' } -Because 'the node to adopt the visitor'
        $while = Get-QuDagPeer $visitor.PeerId -Session $node
        Disconnect-QuDagPeer $node.PeerId -Force -Session $visitor
        Wait-Until { (Get-QuDagPeer $visitor.PeerId -Session $node).Status -ne 'Connected' } -Because 'the node to see the visitor go'
        $after = Get-QuDagPeer $visitor.PeerId -Session $node
        $after.Inbound | Should -BeTrue
        $after.Security | Should -Be $while.Security
        $after.Security | Should -Not -BeNullOrEmpty
        $after.Endpoint | Should -Be $while.Endpoint
        $after.Endpoint | Should -Not -BeNullOrEmpty
    }

    It 'times out a wait after -TimeoutSeconds (a bare number is seconds)' {
        $peer = New-TestPeer
        Set-QuDagPeerStatus $peer.PeerId Disconnected
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Wait-QuDagPeer -PeerId $peer.PeerId -Status Connected -Timeout 1 -ErrorVariable errs -ErrorAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.9
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'WaitQuDagPeerTimeout,*'
        $errs[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
    }

    It 'accepts a TimeSpan where it reads well and refuses zero' {
        $peer = New-TestPeer
        Set-QuDagPeerStatus $peer.PeerId Disconnected
        Wait-QuDagPeer $peer.PeerId -TimeoutSeconds (New-TimeSpan -Seconds 1) -ErrorVariable errs -ErrorAction SilentlyContinue
        "$($errs[0])" | Should -BeLike '*within 1 s*'
        { Wait-QuDagPeer $peer.PeerId -TimeoutSeconds 0 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }

    It 'says at once that a peer is unknown instead of waiting' {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Wait-QuDagPeer -PeerId (New-TestPeerId) -ErrorVariable errs -ErrorAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'WaitQuDagPeerPeerNotFound,*'
    }

    It 'takes the short id of the tables when it is unambiguous' {
        $peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        $short = (Get-QuDagPeer $peer.PeerId).ShortId
        $short | Should -Be ($peer.PeerId.Substring(0, 2) + '*' + $peer.PeerId.Substring($peer.PeerId.Length - 6)) # go-libp2p's 12*Wn8fj
        (Get-QuDagPeer -PeerId $short).PeerId | Should -Be $peer.PeerId
        (Test-QuDagPeer $short -Count 1).PeerId | Should -Be $peer.PeerId
        # At least 4 first or last characters also name it, when no other known peer shares them.
        (Get-QuDagPeer -PeerId $peer.PeerId.Substring($peer.PeerId.Length - 6)).PeerId | Should -Be $peer.PeerId
        (Get-QuDagPeer -PeerId $peer.PeerId.Substring(0, 12)).PeerId | Should -Be $peer.PeerId
        Disconnect-QuDagPeer $short -PassThru | ForEach-Object Status | Should -Be 'Disconnected'
    }

    It 'refuses an ambiguous short id and says why' {
        # Every Ed25519 peer id starts with 12D3KooW, so that prefix names no single peer.
        Set-QuDagPeerStatus (New-TestPeerId) Disconnected
        Set-QuDagPeerStatus (New-TestPeerId) Disconnected
        Get-QuDagPeer -PeerId '12D3KooW' -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'GetQuDagPeerAmbiguousPeerId,*'
        "$($errs[0])" | Should -BeLike "*matches more than one known peer*"
    }

    It 'filters with wildcards and by status' {
        $failed, $down = (New-TestPeerId), (New-TestPeerId)
        Set-QuDagPeerStatus $failed Failed
        Set-QuDagPeerStatus $down Disconnected
        (Get-QuDagPeer "*$($failed.Substring(40))").PeerId | Should -Be $failed
        @(Get-QuDagPeer '12D3KooW*').Count | Should -Be 2
        @(Get-QuDagPeer '*').Count | Should -Be 2
        Get-QuDagPeer 'Qm*' | Should -BeNullOrEmpty # a pattern that matches nothing is no error
        (Get-QuDagPeer -Status Failed).PeerId | Should -Be $failed
        (Get-QuDagPeer | Where-Object Status -EQ 'Disconnected').PeerId | Should -Be $down
    }

    It 'completes known peer ids with TabExpansion2' {
        $peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        $line = "Get-QuDagPeer -PeerId $($peer.PeerId.Substring(0, 10))"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @($peer.PeerId)
    }

    It 'stops a wait promptly (Ctrl+C)' {
        $result = Stop-WhenWaiting '$id = (New-QuDagSession).PeerId; Set-QuDagPeerStatus $id Disconnected; Wait-QuDagPeer -PeerId $id -Status Connected -TimeoutSeconds 60' -Command Wait-QuDagPeer
        $result.Waiting | Should -BeTrue
        $result.Stopped | Should -BeTrue -Because 'Ctrl+C ends the wait itself'
        $result.State | Should -Be 'Stopped'
    }
}
