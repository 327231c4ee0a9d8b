# Tab completion as PowerShell's own TabExpansion2 gives it: peers by the short ids the tables show, session names,
# listener ports and known peers' multiaddrs (never file names).
BeforeAll {
    . $PSScriptRoot/Common.ps1

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

Describe 'Tab completion' {
    BeforeAll {
        $script:relay = New-QuDagSession -Name relay
        $script:listener = Start-QuDagListener -Session $relay
        Connect-QuDagPeer -Address $listener.Address
        $script:other = New-TestPeer
        Connect-QuDagPeer -Address $other.Address
        $script:id = $listener.PeerId
        $script:shortId = (Get-QuDagPeer $id).ShortId # 12*<last 6>, as the tables show it
        # A file named like a peer id's start, so completing file names instead would show.
        Push-Location $TestDrive
        $null = New-Item -ItemType File -Path (Join-Path $TestDrive '12Dfile.txt'), (Join-Path $TestDrive 'relay-notes.txt')
    }
    AfterAll {
        Pop-Location
        Clear-TestSessions
    }

    It 'completes -PeerId <form> with the peer''s full id' -ForEach @(
        @{ form = 'the short id (12*Y3kHBc)'; word = { $shortId } }
        @{ form = 'a leading wildcard (*LBnHM)'; word = { '*' + $id.Substring(47) } }
        @{ form = 'the last characters (LBnHM)'; word = { $id.Substring(47) } }
        @{ form = 'the first characters and a wildcard (12D3KooW*)'; word = { $id.Substring(0, 12) + '*' } }
    ) {
        $found = Get-Completion "Get-QuDagPeer -PeerId $(& $word)"
        $found.CompletionText | Should -Be @($id)
        $found[0].ListItemText | Should -Be $shortId
        $found[0].ToolTip | Should -BeLike "$shortId Connected 127.0.0.1:*"
    }

    It 'completes -PeerId 12* with every known peer and no file' {
        $texts = (Get-Completion 'Test-QuDagPeer -PeerId 12*').CompletionText
        $texts | Sort-Object | Should -Be (@($id, $other.PeerId) | Sort-Object)
    }

    It 'completes session names for Get-QuDagSession -Name and -Session' {
        (Get-Completion 'Get-QuDagSession -Name re').CompletionText | Should -Be @('relay')
        (Get-Completion 'Get-QuDagPeer -Session rel').CompletionText | Should -Be @('relay')
        (Get-Completion 'Remove-QuDagSession -Name ').CompletionText | Should -Contain 'relay'
    }

    It 'completes Stop-QuDagListener -Port with the listeners'' ports of the session named on the line' {
        $port = "$(([uri]"tcp://$($listener.Endpoint)").Port)"
        (Get-Completion 'Stop-QuDagListener -Session relay -Port ').CompletionText | Should -Be @($port)
        (Get-Completion "Stop-QuDagListener -Session relay -Port $($port.Substring(0, 2))").CompletionText | Should -Be @($port)
        (Get-Completion "Stop-QuDagListener -Session `$relay -Port ").CompletionText | Should -Be @($port)
    }

    It 'completes Connect-QuDagPeer -Address with known peers'' multiaddrs, by start, address or short id' {
        $all = (Get-Completion 'Connect-QuDagPeer -Address ').CompletionText
        $all | Should -Contain $listener.Address
        $all | Should -Contain $other.Address
        $all | Should -Not -Contain '12Dfile.txt'
        (Get-Completion 'Connect-QuDagPeer -Address /ip4/127').CompletionText | Should -Contain $listener.Address
        (Get-Completion "Connect-QuDagPeer -Address $shortId").CompletionText | Should -Be @($listener.Address)
    }
}
