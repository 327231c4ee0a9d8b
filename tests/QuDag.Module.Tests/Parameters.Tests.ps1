# Parameters every cmdlet shares: *Seconds ranges checked at binding, and -Session by object or by name.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Seconds parameters' {
    BeforeAll {
        # Every *Seconds parameter of every cmdlet, with the range its attribute allows.
        $script:secondsParameters = foreach ($command in Get-Command -Module QuDag -CommandType Cmdlet) {
            foreach ($parameter in $command.Parameters.Values | Where-Object Name -like '*Seconds') {
                $range = $parameter.Attributes | Where-Object { $_ -is [QuDag.PowerShell.SecondsAttribute] }
                @{ Command = $command.Name; Parameter = $parameter.Name; Range = $range }
            }
        }
    }
    AfterEach { Clear-TestSessions }

    It 'finds the *Seconds parameters to check' {
        $secondsParameters.Count | Should -BeGreaterThan 15
        $secondsParameters | ForEach-Object { "$($_.Command) -$($_.Parameter)" } | Should -Contain 'Invoke-QuDagRequest -TimeoutSeconds'
    }

    It 'checks every *Seconds parameter at binding, with a range a .NET timer can run and the range in the message' {
        foreach ($p in $secondsParameters) {
            $p.Range | Should -Not -BeNullOrEmpty -Because "$($p.Command) -$($p.Parameter) needs the Seconds attribute"
            $p.Range.Maximum | Should -BeLessOrEqual ([uint32]::MaxValue / 1000) -Because 'CancelAfter and Task.Delay take at most 2^32-2 ms'
            $arguments = @{ $p.Parameter = [int]::MaxValue }
            $e = $null
            try { & $p.Command @arguments -ErrorAction Stop } catch { $e = $_ }
            $e | Should -Not -BeNullOrEmpty -Because "$($p.Command) -$($p.Parameter) 2147483647 must be refused"
            $e.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentTransformationError,*' -Because "$($p.Command) -$($p.Parameter)"
            "$e" | Should -BeLike "*'$($p.Parameter)'*2147483647 is out of range: give $($p.Range.Minimum) to $($p.Range.Maximum) seconds (*)*"
            "$e" | Should -Not -BeLike "*(Parameter 'delay')*"
        }
    }

    It 'says each range in the help' {
        foreach ($p in $secondsParameters) {
            $text = (Get-Help $p.Command -Parameter $p.Parameter).description.Text -join ' '
            $text | Should -BeLike "*$($p.Range.Minimum) to $($p.Range.Maximum)*" -Because "$($p.Command) -$($p.Parameter)'s help must say its range"
        }
    }

    It 'refuses the values the issue found: <_>' -ForEach @(
        'Invoke-QuDagRequest -TimeoutSeconds', 'Connect-QuDagPeer -ConnectTimeoutSeconds', 'New-QuDagSession -RequestTimeoutSeconds'
    ) {
        $command, $parameter = $_ -split ' -'
        $arguments = @{ $parameter = [int]::MaxValue }
        { & $command @arguments } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*' -ExpectedMessage '*out of range: give 1 to *'
    }

    It 'runs with each bound: a connect, a request and a wait at their longest' {
        $server = New-QuDagSession -RequestTimeoutSeconds 86400 -ConnectTimeoutSeconds 3600 -PoolTimeoutSeconds 2592000 `
            -KeepAliveSeconds 86400 -KeepAliveTimeoutSeconds 3600 -CircuitBreakerSeconds 86400
        $listener = Start-QuDagListener -Session $server
        $job = Start-ThreadJob {
            param($session)
            Import-Module $using:Manifest
            Receive-QuDagRequest -Session $session -TimeoutSeconds 2592000 | ForEach-Object { $_ | Send-QuDagResponse -Payload $_.Payload -PassThru }
        } -ArgumentList $server
        Set-QuDagSession -RequestTimeoutSeconds 86400 -ConnectTimeoutSeconds 3600
        Connect-QuDagPeer -Address $listener.Address -ConnectTimeoutSeconds 3600 -ErrorAction Stop
        (Invoke-QuDagRequest $listener.PeerId 'at the bound' -TimeoutSeconds 86400 -ErrorAction Stop).Text | Should -Be 'at the bound'
        Wait-QuDagPeer $listener.PeerId -Status Connected -TimeoutSeconds 2592000 -ErrorAction Stop
        ($job | Wait-Job -Timeout 60 | Receive-Job -ErrorAction Stop).Text | Should -Be 'at the bound'
    }
}

Describe '-Session by name' {
    AfterEach {
        Get-Job | Remove-Job -Force
        Clear-TestSessions
    }

    It 'binds a session name wherever a session object goes, on every cmdlet' {
        $relay = New-QuDagSession -Name relay
        $listener = Start-QuDagListener -Session relay
        $listener.PeerId | Should -Be $relay.PeerId
        (Get-QuDagSession -Session relay).Id | Should -Be $relay.Id
        (Get-QuDagSession -Session RELAY).Id | Should -Be $relay.Id -Because 'names are unique regardless of case'
        Connect-QuDagPeer -Address (Start-QuDagListener).Address -Session relay
        (Get-QuDagPeer -Session relay).Status | Should -Be 'Connected'
        (Get-QuDagMetrics -Session relay).Connections | Should -Be 1
        Set-QuDagSession -Session relay -MaxConnections 7
        $relay.MaxConnections | Should -Be 7
        # Every cmdlet but New-QuDagSession takes -Session typed QuDagSession, which a name converts to.
        foreach ($command in Get-Command -Module QuDag -CommandType Cmdlet | Where-Object Name -ne 'New-QuDagSession') {
            $command.Parameters['Session'].ParameterType | Should -BeIn @([QuDag.PowerShell.QuDagSession], [QuDag.PowerShell.QuDagSession[]]) -Because $command.Name
        }
        Remove-QuDagSession relay
        $relay.IsDisposed | Should -BeTrue
    }

    It 'says which sessions are open when no session has the name' {
        $null = New-QuDagSession -Name relay
        $e = $null
        try { Get-QuDagPeer -Session nope } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike '*,QuDag.PowerShell.Commands.GetQuDagPeerCommand'
        "$e" | Should -BeLike "*No open QuDag session is named 'nope'; open sessions: *relay*"
    }

    It 'lets a thread job name a session of the runspace that started it' {
        $relay = New-QuDagSession -Name relay-job
        $job = Start-ThreadJob { Import-Module $using:Manifest; (Get-QuDagSession -Session relay-job).PeerId }
        $job | Wait-Job -Timeout 60 | Receive-Job -ErrorAction Stop | Should -Be $relay.PeerId
    }
}
