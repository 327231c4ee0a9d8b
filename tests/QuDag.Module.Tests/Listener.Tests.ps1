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
