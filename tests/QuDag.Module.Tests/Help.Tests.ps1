# The module as a whole: manifest, exports, help for every cmdlet and parameter, about_QuDag.
BeforeDiscovery {
    $expected = @(
        'Connect-QuDagPeer', 'Disconnect-QuDagPeer', 'Set-QuDagPeerStatus', 'Get-QuDagPeer', 'Wait-QuDagPeer',
        'Get-QuDagMetrics', 'Start-QuDagListener', 'Stop-QuDagListener', 'Send-QuDagMessage', 'Receive-QuDagMessage',
        'Test-QuDagPeer', 'Invoke-QuDagRequest', 'Receive-QuDagRequest', 'Send-QuDagResponse', 'Get-QuDagPool', 'Clear-QuDagPool',
        'Block-QuDagPeer', 'Unblock-QuDagPeer', 'Get-QuDagSession', 'New-QuDagSession', 'Set-QuDagSession', 'Reset-QuDagSession',
        'Remove-QuDagSession', 'Start-QuDagMetricsExporter', 'Stop-QuDagMetricsExporter', 'Watch-QuDagMetrics', 'Export-QuDagReport',
        'Register-QuDagTopic', 'Unregister-QuDagTopic', 'Get-QuDagTopic',
        'Find-QuDagPeer', 'Invoke-QuDagCrawl', 'Compare-QuDagCrawl',
        'Protect-QuDagPeer', 'Unprotect-QuDagPeer', 'Set-QuDagPeerTag', 'Set-QuDagResourceLimit', 'Get-QuDagResourceUsage'
    )
}
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Common = [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'The module' -ForEach @(@{ Cmdlets = $expected }) {
    It 'has a valid manifest that exports exactly the cmdlets and carries the one version' {
        $manifest = Test-ModuleManifest -Path $Manifest
        $version = ([xml](Get-Content -Raw (Join-Path $RepoRoot 'Directory.Build.props'))).Project.PropertyGroup.Version | Where-Object { $_ }
        "$($manifest.Version)" | Should -Be "$version".Trim()
        (Get-Command -Module QuDag).Name | Sort-Object | Should -Be ($Cmdlets | Sort-Object)
        (Get-Module QuDag).ExportedFunctions.Keys | Should -BeNullOrEmpty
        (Get-Module QuDag).ExportedAliases.Keys | Should -BeNullOrEmpty
        Join-Path $RepoRoot 'module/bin/System.Management.Automation.dll' | Should -Not -Exist
    }

    It 'declares the output of <_>, takes -Session, and takes peers and endpoints as strings' -ForEach $Cmdlets {
        $command = Get-Command $_
        $command.OutputType | Should -Not -BeNullOrEmpty
        if ($_ -notin 'New-QuDagSession', 'Remove-QuDagSession') { $command.Parameters.Keys | Should -Contain 'Session' }
        foreach ($name in 'PeerId', 'Endpoint', 'Address') {
            if ($command.Parameters[$name]) { $command.Parameters[$name].ParameterType | Should -BeIn @([string], [string[]]) }
        }
        foreach ($p in $command.Parameters.Values | Where-Object { $_.Name -like '*Timeout*' -or $_.Name -like '*Seconds' -or $_.Name -like 'KeepAlive*' }) {
            $p.Name | Should -BeLike '*Seconds'
            $p.ParameterType | Should -Be ([int])
        }
    }

    It 'documents <_> with a synopsis, examples and every parameter (Get-Help -Full)' -ForEach $Cmdlets {
        $help = Get-Help $_ -Full
        $help.Synopsis.Trim() | Should -Not -BeLike "$_*"
        $help.Synopsis.Trim() | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterThan 0
        $documented = @($help.parameters.parameter.name)
        $declared = (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $Common }
        foreach ($p in $declared) { $documented | Should -Contain $p }
        $documented | Where-Object { $_ -notin $declared } | Should -BeNullOrEmpty # nothing stale
        # Case-sensitive: the C# namespace QuDag.Network. must not leak, the instrument qudag.network.io may be named.
        (Get-Help $_ -Full | Out-String) | Should -Not -MatchExactly 'QuDag\.Network\.|-Timeout 00:|as ticks|PeerInfo|\.pfx|\.p12'
        # Nothing of the retired wire: HELLO/PING frames, PKCS#12 identities, 64-hex ids (case matters: 'hello' is fine).
        (Get-Help $_ -Full | Out-String) | Should -Not -MatchExactly 'PKCS|IdentityPassword|HELLO|PING|PONG|\b[0-9a-f]{64}\b'
    }

    It 'explains the model in about_QuDag' {
        $about = Get-Help about_QuDag | Out-String
        $about | Should -Match 'pool'
        $about | Should -Match 'MaxConnections'
        $about | Should -Match 'Remove-QuDagSession'
        $about | Should -Match 'TimeoutSeconds'
        # The libp2p model: ids, multiaddrs, the security and muxer protocols, identify, the key file.
        foreach ($term in '12D3KooW', '/ip4/127.0.0.1/tcp/', '/p2p/', '/noise', '/tls/1.0.0', '/yamux/1.0.0', '/ipfs/ping/1.0.0', '/ipfs/id/1.0.0', 'AgentVersion', 'chmod 600') {
            $about | Should -Match ([regex]::Escape($term)) -Because "about_QuDag explains $term"
        }
        $about | Should -Not -MatchExactly 'PKCS|HELLO|PING|SHA-256 hash|IdentityPassword|64\s+hexadecimal|DATA frame|\.p12'
    }

    It 'has a runbook example that calls only commands that exist' {
        $path = Join-Path $RepoRoot 'module/examples/Runbook.Tests.ps1'
        $tokens = $errors = $null
        $ast = [Management.Automation.Language.Parser]::ParseFile($path, [ref] $tokens, [ref] $errors)
        $errors | Should -BeNullOrEmpty
        $defined = $ast.FindAll({ $args[0] -is [Management.Automation.Language.FunctionDefinitionAst] }, $true).Name
        $called = $ast.FindAll({ $args[0] -is [Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.GetCommandName() } | Where-Object { $_ } | Sort-Object -Unique
        $pester = 'BeforeAll', 'AfterAll', 'BeforeEach', 'AfterEach', 'Describe', 'Context', 'It', 'Should', 'Mock'
        foreach ($name in $called | Where-Object { $_ -notin $pester -and $_ -notin $defined }) {
            Get-Command $name -ErrorAction Ignore | Should -Not -BeNullOrEmpty -Because "'$name' is called by the runbook"
        }
        $called | Should -Contain 'Start-QuDagListener'
    }
}
