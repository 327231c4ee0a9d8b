# The connection policy as an operator drives it: watermarks, protection and tags, resource limits and usage, close reasons.
BeforeAll { . $PSScriptRoot/Common.ps1; . $PSScriptRoot/JsNode.ps1 }

Describe 'Connection policy' {
    AfterEach { Clear-TestSessions }

    It 'takes watermarks and a grace period on New- and Set-QuDagSession, applies them in place and checks them' {
        $node = New-QuDagSession -Name policy -LowWater 20 -HighWater 30 -GracePeriodSeconds 5
        $node.LowWater | Should -Be 20
        $node.HighWater | Should -Be 30
        $node.GracePeriodSeconds | Should -Be 5
        $peer = New-TestPeer
        Connect-QuDagPeer -Address $peer.Address -Session $node
        Set-QuDagSession -Session $node -LowWater 2 -HighWater 4 -GracePeriodSeconds (New-TimeSpan -Minutes 2)
        (Get-QuDagSession -Name policy) | Should -Not -BeNullOrEmpty
        $node.LowWater | Should -Be 2
        $node.GracePeriodSeconds | Should -Be 120
        (Get-QuDagPeer $peer.PeerId -Session $node).Status | Should -Be 'Connected' # in place: nothing closed

        { Set-QuDagSession -Session $node -LowWater 10 -HighWater 5 } | Should -Throw -ErrorId 'SetQuDagSessionInvalidSetting,QuDag.PowerShell.Commands.SetQuDagSessionCommand'
        $node.LowWater | Should -Be 2
    }

    It 'protects a peer by tag until its last tag is gone, and shows it on Get-QuDagPeer before it connects' {
        $peer = New-TestPeer
        $shown = Protect-QuDagPeer -PeerId $peer.PeerId -Tag bootstrap -PassThru
        $shown.Protected | Should -BeTrue
        $shown.ProtectionTags | Should -Be @('bootstrap')
        $shown.Status | Should -Be 'Known'
        $peer | Protect-QuDagPeer -Tag validator
        (Get-QuDagPeer $peer.PeerId).ProtectionTags | Should -Be @('bootstrap', 'validator')

        Unprotect-QuDagPeer -PeerId $peer.PeerId -Tag bootstrap -Verbose 4>&1 | Out-String | Should -Match 'still protected by: validator'
        (Get-QuDagPeer $peer.PeerId).Protected | Should -BeTrue
        $after = Unprotect-QuDagPeer -PeerId $peer.PeerId -Tag validator -PassThru
        $after.Protected | Should -BeFalse
        Protect-QuDagPeer -PeerId $peer.PeerId -Tag x -WhatIf
        (Get-QuDagPeer $peer.PeerId).Protected | Should -BeFalse
    }

    It 'sums tag weights into a value, replaces a tag set again, and reports a bad peer id as a non-terminating error' {
        $peer = New-TestPeer
        Set-QuDagPeerTag -PeerId $peer.PeerId -Tag useful -Value 10
        $shown = Set-QuDagPeerTag -PeerId $peer.PeerId -Tag relay -Value 5 -DecaySeconds 3600 -PassThru
        $shown.Value | Should -BeIn 14, 15 # the decaying tag may have lost a point already
        $shown.Tags | Should -Contain 'useful=10'
        Set-QuDagPeerTag -PeerId $peer.PeerId -Tag useful -Value 1
        (Get-QuDagPeer $peer.PeerId).Tags | Should -Contain 'useful=1'

        Set-QuDagPeerTag -PeerId 'not-a-peer' -Tag t -Value 1 -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'SetQuDagPeerTag*,QuDag.PowerShell.Commands.SetQuDagPeerTagCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'trims past the grace period to the low watermark, keeps the protected peer, and says why the others left' {
        $node = New-QuDagSession -Name trimmer -LowWater 1 -HighWater 2 -GracePeriodSeconds 0
        $peers = 1..3 | ForEach-Object { New-TestPeer }
        Protect-QuDagPeer -PeerId $peers[2].PeerId -Tag keep -Session $node
        $peers | ForEach-Object { Connect-QuDagPeer -Address $_.Address -Session $node }
        # The third connection crossed the high watermark of two: trimmed at once down to one, the protected peer.
        Wait-Until { (Get-QuDagMetrics -Session $node).OpenConnections -eq 1 } -Because 'the trim'
        (Get-QuDagPeer $peers[2].PeerId -Session $node).Status | Should -Be 'Connected'
        $trimmed = Get-QuDagPeer -Session $node | Where-Object CloseReason -EQ 'Trimmed'
        $trimmed.Count | Should -Be 2
        $trimmed | ForEach-Object { $_.ClosedAt | Should -Not -BeNullOrEmpty }
        (Get-QuDagMetrics -Session $node).ClosesTrimmed | Should -Be 2
        (Get-QuDagPeer -Session $node | Format-List | Out-String) | Should -Match 'CloseReason\s+: Trimmed'
    }

    It 'sets resource limits live, shows usage beside them, and a refused connect names the scope' {
        $node = New-QuDagSession -Name limits
        $peer = New-TestPeer
        $usage = Set-QuDagResourceLimit -Scope Transient -Session $node -ConnectionsOutbound 0 -PassThru
        $usage.Scope | Should -Be 'Transient'
        $usage.ConnectionsOutboundLimit | Should -Be 0
        Connect-QuDagPeer -Address $peer.Address -Session $node -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'ConnectQuDagPeerLimitReached,QuDag.PowerShell.Commands.ConnectQuDagPeerCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        "$($errs[0])" | Should -Match 'the transient scope is at its limit of 0 outbound connections'
        (Get-QuDagResourceUsage -Scope Transient -Session $node).Blocked | Should -Be 1
        (Get-QuDagPeer $peer.PeerId -Session $node).CloseReason | Should -Be 'Limit'
        (Get-QuDagMetrics -Session $node).BlockedReservations | Should -Be 1

        Set-QuDagResourceLimit -Scope Transient -Session $node -ConnectionsOutbound -1
        (Get-QuDagResourceUsage -Scope Transient -Session $node).ConnectionsOutboundLimit | Should -BeNullOrEmpty
        Connect-QuDagPeer -Address $peer.Address -Session $node
        $system = Get-QuDagResourceUsage System -Session $node
        $system.ConnectionsOutbound | Should -Be 1
        $system.ConnectionsLimit | Should -Be $node.MaxConnections
        $mine = Get-QuDagResourceUsage -Scope Peer -Name $peer.PeerId -Session $node
        $mine.Name | Should -Be $peer.PeerId
        $mine.ConnectionsOutbound | Should -Be 1
        (Get-QuDagResourceUsage -Session $node | Format-Table | Out-String) | Should -Match 'Transient'
    }

    It 'refuses a js peer at MaxConnections before its handshake, counts it in the system scope, and evicts an idle connection for the next' {
        $node = New-QuDagSession -Name full -MaxConnections 1
        $listener = Start-QuDagListener -Session $node
        $first = Start-JsNode
        $second = Start-JsNode
        try {
            Invoke-JsNode $first 'dial' @{ addr = $listener.Address } | Out-Null
            Wait-QuDagPeer -PeerId $first.PeerId -Status Connected -Session $node -TimeoutSeconds 10 | Out-Null

            # Nothing idle: the system scope refuses the second at open, so js's dial fails, and Blocked counts it.
            { Invoke-JsNode $second 'dial' @{ addr = $listener.Address } } | Should -Throw
            Wait-Until { (Get-QuDagResourceUsage -Scope System -Session $node).Blocked -eq 1 } -Because 'the refusal counted'
            $system = Get-QuDagResourceUsage -Scope System -Session $node
            $system.ConnectionsInbound | Should -Be 1
            $system.ConnectionsLimit | Should -Be 1
            (Get-QuDagMetrics -Session $node).FailedInbound | Should -Be 1

            # The first idle in the pool: the second's next dial evicts it (Limit, system) and is admitted.
            Disconnect-QuDagPeer -PeerId $first.PeerId -Session $node
            Invoke-JsNode $second 'dial' @{ addr = $listener.Address } | Out-Null
            Wait-QuDagPeer -PeerId $second.PeerId -Status Connected -Session $node -TimeoutSeconds 10 | Out-Null
            $evicted = Get-QuDagPeer -PeerId $first.PeerId -Session $node
            $evicted.CloseReason | Should -Be 'Limit'
            $evicted.CloseScope | Should -Be 'system'
            (Get-QuDagResourceUsage -Scope System -Session $node).Blocked | Should -Be 1
        }
        finally {
            Stop-JsNode $first
            Stop-JsNode $second
        }
    }

    It 'sets a peer or protocol scope by name, the system connection limit through MaxConnections, and refuses mixed scopes' {
        $node = New-QuDagSession -Name scopes
        $peer = New-TestPeer
        $one = Set-QuDagResourceLimit -Scope Peer -PeerId $peer.PeerId -StreamsInbound 3 -MemoryBytes 1MB -Session $node -PassThru
        $one.Name | Should -Be $peer.PeerId
        $one.StreamsInboundLimit | Should -Be 3
        $one.MemoryBytesLimit | Should -Be 1MB
        $ping = Set-QuDagResourceLimit -Scope Protocol -Protocol /ipfs/ping/1.0.0 -StreamsInbound 8 -Session $node -PassThru
        $ping.StreamsInboundLimit | Should -Be 8
        Set-QuDagResourceLimit -Scope System -Connections 42 -Session $node
        $node.MaxConnections | Should -Be 42
        (Get-QuDagResourceUsage System -Session $node).ConnectionsLimit | Should -Be 42

        { Set-QuDagResourceLimit -Scope System -Protocol /x/1 -StreamsInbound 1 -Session $node } |
            Should -Throw -ErrorId 'SetQuDagResourceLimitInvalidScope,QuDag.PowerShell.Commands.SetQuDagResourceLimitCommand'
        { Set-QuDagResourceLimit -Scope Protocol -StreamsInbound -2 -Session $node } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        Set-QuDagResourceLimit -Scope Peer -StreamsInbound 5 -Session $node -WhatIf
        (Set-QuDagResourceLimit -Scope Peer -Session $node -PassThru).StreamsInboundLimit | Should -Not -Be 5
    }

    It 'writes usage that round-trips through CSV and JSON' {
        $node = New-QuDagSession -Name export
        $peer = New-TestPeer
        Connect-QuDagPeer -Address $peer.Address -Session $node
        $path = Join-Path $TestDrive usage.csv
        Get-QuDagResourceUsage -Session $node | Export-Csv $path
        $rows = Import-Csv $path
        ($rows | Where-Object Scope -EQ System).ConnectionsOutbound | Should -Be '1'
        ($rows | Where-Object Scope -EQ Peer).Name | Should -Be $peer.PeerId
        $json = Get-QuDagResourceUsage System -Session $node | ConvertTo-Json | ConvertFrom-Json
        $json.ConnectionsOutbound | Should -Be 1
        $peerCsv = Join-Path $TestDrive peers.csv
        Get-QuDagPeer -Session $node | Select-Object PeerId, Protected, CloseReason | Export-Csv $peerCsv
        (Import-Csv $peerCsv | Protect-QuDagPeer -Tag imported -Session $node -PassThru).Protected | Should -BeTrue
    }
}
