# Invoke-QuDagRequest, Receive-QuDagRequest and Send-QuDagResponse: QuDAG's /qudag/req/1.0.0 between two nodes.
BeforeAll {
    . $PSScriptRoot/Common.ps1

    # A server node with a listener, and the default session connected to it.
    function New-RequestPair {
        $server = New-QuDagSession
        $listener = Start-QuDagListener -Session $server
        Connect-QuDagPeer $listener.PeerId $listener.Endpoint
        [pscustomobject]@{ Server = $server; PeerId = $listener.PeerId }
    }

    # The runbook's serving loop in a thread job: answers $Count requests with "ack:" + their text, or echoes their
    # bytes, and writes each answered request (-PassThru) for the test to inspect.
    function Start-Server($Server, [int] $Count, [switch] $Echo) {
        Start-ThreadJob {
            param($session, $count, $echo)
            Import-Module $using:Manifest
            Receive-QuDagRequest -Session $session -Count $count -TimeoutSeconds 30 | ForEach-Object {
                if ($echo) { $_ | Send-QuDagResponse -Payload $_.Payload -PassThru }
                else { $_ | Send-QuDagResponse -Payload "ack:$($_.Text)" -PassThru }
            }
        } -ArgumentList $Server, $Count, $Echo.IsPresent
    }

    # A request from $Client to $PeerId in a thread job, so this runspace can play the server.
    function Start-Asker($Client, [string] $PeerId, $Payload) {
        Start-ThreadJob {
            param($session, $peer, $payload)
            Import-Module $using:Manifest
            Invoke-QuDagRequest -Session $session -PeerId $peer -Payload $payload -ErrorAction Continue 2>&1
        } -ArgumentList $Client, $PeerId, $Payload
    }
}

Describe 'Requests' {
    AfterEach {
        Get-Job | Remove-Job -Force
        Clear-TestSessions
    }

    It 'gets the answer of a runbook loop (Receive-QuDagRequest | Send-QuDagResponse) with text, ids and latency' {
        $pair = New-RequestPair
        $job = Start-Server $pair.Server -Count 1
        $response = Invoke-QuDagRequest $pair.PeerId -Payload 'hello' -RequestId 'r-42'
        $served = $job | Receive-TestJob -ErrorAction Stop

        $response | Should -BeOfType QuDag.PowerShell.QuDagResponse
        $response.PeerId | Should -Be $pair.PeerId
        $response.RequestId | Should -Be 'r-42'
        $response.Text | Should -Be 'ack:hello'
        [Text.Encoding]::UTF8.GetString($response.Payload) | Should -Be 'ack:hello'
        $response.LatencyMs | Should -BeOfType double
        $response.LatencyMs | Should -BeGreaterThan 0
        $served.RequestId | Should -Be 'r-42'
        $served.Text | Should -Be 'hello'
        $served.PeerId | Should -Be (Get-QuDagSession).PeerId
        $served.IsCompleted | Should -BeTrue
    }

    It 'sends bytes as they are, a string as UTF-8 and any other object as its JSON' {
        $pair = New-RequestPair
        $job = Start-Server $pair.Server -Count 3 -Echo
        $bytes = Invoke-QuDagRequest $pair.PeerId -Payload ([byte[]](0, 255, 1, 128))
        $text = Invoke-QuDagRequest $pair.PeerId -Payload 'héllo ✓'
        $json = Invoke-QuDagRequest $pair.PeerId -Payload ([ordered]@{ op = 'announce'; n = 2 })
        $null = $job | Receive-TestJob -ErrorAction Stop

        $bytes.Payload | Should -Be ([byte[]](0, 255, 1, 128))
        $bytes.Text | Should -BeNullOrEmpty -Because 'the bytes are not UTF-8'
        $text.Text | Should -Be 'héllo ✓'
        $text.Payload | Should -Be ([Text.Encoding]::UTF8.GetBytes('héllo ✓'))
        $json.Text | Should -Be '{"op":"announce","n":2}'
        $bytes.RequestId | Should -Not -Be $text.RequestId -Because 'ids the session picks are unique'
    }

    It 'sends an empty payload (an empty string or byte array) and answers with one, as Send-QuDagMessage sends an empty message' {
        $pair = New-RequestPair
        $job = Start-Server $pair.Server -Count 2 -Echo
        $fromText = Invoke-QuDagRequest $pair.PeerId -Payload '' -ErrorAction Stop
        $fromBytes = Invoke-QuDagRequest $pair.PeerId -Payload ([byte[]]::new(0)) -ErrorAction Stop
        $served = $job | Wait-Job -Timeout 60 | Receive-Job -ErrorAction Stop

        $served.Count | Should -Be 2
        $served | ForEach-Object { $_.Payload.Length | Should -Be 0; $_.Text | Should -Be '' }
        foreach ($response in $fromText, $fromBytes) {
            $response.Payload.Length | Should -Be 0
            $response.Text | Should -Be ''
        }
        # The same empty inputs on /qudag-ps/msg/1.0.0 arrive as empty messages.
        Send-QuDagMessage $pair.PeerId -Message '' -ErrorAction Stop
        Send-QuDagMessage $pair.PeerId -Message ([byte[]]::new(0)) -ErrorAction Stop
        $messages = Receive-QuDagMessage -Session $pair.Server -Count 2 -TimeoutSeconds 10 -ErrorAction Stop
        $messages | ForEach-Object { $_.Length | Should -Be 0 }
    }

    It 'takes peer ids from the pipeline, by value and by property name, and its output pipes to ConvertTo-Json' {
        $pair = New-RequestPair
        $job = Start-Server $pair.Server -Count 2
        $responses = @(
            $pair.PeerId | Invoke-QuDagRequest -Payload 'by value'
            [pscustomobject]@{ PeerId = $pair.PeerId } | Invoke-QuDagRequest -Payload 'by name'
        )
        $served = $job | Receive-TestJob -ErrorAction Stop

        $responses.Text | Should -Be @('ack:by value', 'ack:by name')
        $back = $responses[0] | ConvertTo-Json | ConvertFrom-Json
        $back.PeerId | Should -Be $pair.PeerId
        $back.Text | Should -Be 'ack:by value'
        $back.LatencyMs | Should -Be $responses[0].LatencyMs
        $request = $served[0] | ConvertTo-Json -Depth 2 | ConvertFrom-Json
        $request.PSObject.Properties.Name | Should -Be @('PeerId', 'ShortId', 'RequestId', 'Payload', 'Text', 'ReceivedAt', 'IsCompleted')
        $request.Text | Should -Be 'by value'
    }

    It 'serves in this runspace while a thread job asks, and refuses to answer twice' {
        $pair = New-RequestPair
        $asker = Start-Asker (Get-QuDagSession) $pair.PeerId 'once'
        $request = Receive-QuDagRequest -Session $pair.Server -TimeoutSeconds 10
        $request | Should -BeOfType QuDag.PowerShell.QuDagRequest
        $request | Send-QuDagResponse -Payload 'first' -WhatIf
        $request.IsCompleted | Should -BeFalse -Because '-WhatIf answers nothing'
        $request | Send-QuDagResponse -Payload 'first'
        $request | Send-QuDagResponse -Payload 'second' -ErrorVariable errs -ErrorAction SilentlyContinue
        $answer = $asker | Receive-TestJob

        $answer.Text | Should -Be 'first'
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'SendQuDagResponseAlreadyAnswered,*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        "$($errs[0])" | Should -BeLike "*request '$($request.RequestId)'*already answered*"
    }

    It 'answers by PeerId and RequestId from any object, as a CSV row or a JSON object carries them' {
        $pair = New-RequestPair
        $askers = 'a', 'b', 'c' | ForEach-Object { Start-Asker (Get-QuDagSession) $pair.PeerId $_ }
        $requests = Receive-QuDagRequest -Session $pair.Server -Count 3 -TimeoutSeconds 10
        # Plain objects: what a mock, Import-Csv or ConvertFrom-Json gives. No QuDagRequest among them.
        $plain = $requests | Select-Object PeerId, RequestId, Text | ConvertTo-Json | ConvertFrom-Json
        $plain | Should -Not -BeOfType QuDag.PowerShell.QuDagRequest
        $answered = $plain | ForEach-Object { $_ | Send-QuDagResponse -Session $pair.Server -Payload "ack:$($_.Text)" -PassThru }
        $answers = $askers | Wait-Job -Timeout 60 | Receive-Job

        $answered.RequestId | Should -Be $requests.RequestId
        $answered.IsCompleted | Should -Be @($true, $true, $true)
        $answers.Text | Sort-Object | Should -Be @('ack:a', 'ack:b', 'ack:c')
        # Answered once: the same ids again find nothing waiting; so does an id never received.
        $plain[0] | Send-QuDagResponse -Session $pair.Server -Payload 'again' -ErrorVariable errs -ErrorAction SilentlyContinue
        Send-QuDagResponse -Session $pair.Server -PeerId $requests[0].PeerId -RequestId 'never-sent' -Payload 'x' -ErrorVariable errs2 -ErrorAction SilentlyContinue
        foreach ($e in $errs[0], $errs2[0]) {
            $e.FullyQualifiedErrorId | Should -BeLike 'SendQuDagResponseRequestNotFound,*'
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }
        "$($errs2[0])" | Should -BeLike "No request 'never-sent' from 12*waits for an answer in session*"
    }

    It 'refuses to answer a request whose asker stopped waiting' {
        # The asker gives up first (1 s), then the server (2 s, counted from a later start): no race on who resets.
        $server = New-QuDagSession -RequestTimeoutSeconds 2
        $listener = Start-QuDagListener -Session $server
        $client = New-QuDagSession -RequestTimeoutSeconds 1
        Connect-QuDagPeer $listener.PeerId $listener.Endpoint -Session $client
        $asker = Start-Asker $client $listener.PeerId 'late'
        $request = Receive-QuDagRequest -Session $server -TimeoutSeconds 10
        $failure = $asker | Receive-TestJob
        Wait-Until { $request.IsCompleted } -Because 'the server side to give the request up'
        $request | Send-QuDagResponse -Payload 'too late' -ErrorVariable errs -ErrorAction SilentlyContinue

        $failure.FullyQualifiedErrorId | Should -BeLike 'InvokeQuDagRequestTimeout,*'
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'SendQuDagResponseAlreadyAnswered,*'
    }

    It 'times out after the session''s -RequestTimeoutSeconds, or the call''s -TimeoutSeconds, per peer' {
        $server = New-QuDagSession
        $listener = Start-QuDagListener -Session $server
        $client = New-QuDagSession -RequestTimeoutSeconds 1
        $client.RequestTimeoutSeconds | Should -Be 1
        Connect-QuDagPeer $listener.PeerId $listener.Endpoint -Session $client
        Connect-QuDagPeer $listener.PeerId $listener.Endpoint

        Invoke-QuDagRequest -Session $client $listener.PeerId -Payload 'nobody answers' -ErrorVariable sessionErrs -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        Invoke-QuDagRequest $listener.PeerId -Payload 'nobody answers' -TimeoutSeconds 1 -ErrorVariable callErrs -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty

        $sessionErrs.Count | Should -Be 1
        $sessionErrs[0].FullyQualifiedErrorId | Should -BeLike 'InvokeQuDagRequestTimeout,*'
        $sessionErrs[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        "$($sessionErrs[0])" | Should -BeLike '*did not answer request*within 1 s*'
        $callErrs.Count | Should -Be 1
        $callErrs[0].FullyQualifiedErrorId | Should -BeLike 'InvokeQuDagRequestTimeout,*'
        "$($callErrs[0])" | Should -BeLike '*did not answer within 1 s*'
    }

    It 'changes the request timeout with Set-QuDagSession in place: the node and its connections stay' {
        $peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        $before = (Get-QuDagSession).Manager
        $session = Set-QuDagSession -RequestTimeoutSeconds 3 -PassThru
        [object]::ReferenceEquals($before, $session.Manager) | Should -BeTrue
        (Get-QuDagPeer -PeerId $peer.PeerId).Status | Should -Be 'Connected'
        $session.RequestTimeoutSeconds | Should -Be 3
        $session.Manager.Options.RequestTimeout | Should -Be ([timespan]::FromSeconds(3))
        (New-QuDagSession).RequestTimeoutSeconds | Should -Be 10
    }

    It 'writes a not-connected error for that peer and still asks the others' {
        $pair = New-RequestPair
        $other = New-TestPeer
        Connect-QuDagPeer $other.PeerId $other.Endpoint
        Disconnect-QuDagPeer $other.PeerId
        $job = Start-Server $pair.Server -Count 1
        $responses = Invoke-QuDagRequest $other.PeerId, $pair.PeerId, ('e' * 64) -Payload 'x' -ErrorVariable errs -ErrorAction SilentlyContinue
        $null = $job | Receive-TestJob -ErrorAction Stop

        @($responses).Count | Should -Be 1
        $responses.PeerId | Should -Be $pair.PeerId
        $errs.Count | Should -Be 2
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'InvokeQuDagRequestNotConnected,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $errs[0].TargetObject | Should -Be $other.PeerId
        $errs[1].FullyQualifiedErrorId | Should -BeLike 'InvokeQuDagRequestInvalidPeerId,*'
    }

    It 'writes ProtocolNotSupported for a libp2p peer that does not serve /qudag/req/1.0.0' {
        # A bare libp2p host of the module's own core (ping and identify only), from the module's load context.
        $context = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext((Get-QuDagSession).Manager.GetType().Assembly)
        $hostType = ($context.Assemblies | Where-Object { $_.GetName().Name -eq 'QuDag.P2p' }).GetType('QuDag.P2p.Host.P2pHost', $true)
        $bare = [Activator]::CreateInstance($hostType, @($null))
        try {
            $listener = $bare.ListenAsync([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0), [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            $peerId = $bare.LocalPeerId.ToString()
            Connect-QuDagPeer $peerId "127.0.0.1:$($listener.LocalEndPoint.Port)"
            Invoke-QuDagRequest $peerId -Payload 'anyone?' -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'InvokeQuDagRequestProtocolNotSupported,*'
            $errs[0].CategoryInfo.Category | Should -Be 'ProtocolError'
            "$($errs[0])" | Should -BeLike '*does not speak /qudag/req/1.0.0*'
            $errs[0].TargetObject | Should -Be $peerId
        }
        finally { $bare.DisposeAsync().AsTask().GetAwaiter().GetResult() }
    }

    It 'keeps other peers'' requests queued when a receive filters by peer' {
        $server = New-QuDagSession
        $listener = Start-QuDagListener -Session $server
        $clients = 1..2 | ForEach-Object { $c = New-QuDagSession; Connect-QuDagPeer $listener.PeerId $listener.Endpoint -Session $c; $c }
        $askers = $clients | ForEach-Object { Start-Asker $_ $listener.PeerId "from $($_.Name)" }
        $second = Receive-QuDagRequest -Session $server -PeerId $clients[1].PeerId -TimeoutSeconds 10
        $first = Receive-QuDagRequest -Session $server -TimeoutSeconds 10
        $second, $first | ForEach-Object { $_ | Send-QuDagResponse -Payload "ack:$($_.Text)" }
        $answers = $askers | Receive-TestJob

        $second.Text | Should -Be "from $($clients[1].Name)"
        $first.Text | Should -Be "from $($clients[0].Name)"
        $answers.Text | Sort-Object | Should -Be @("ack:from $($clients[0].Name)", "ack:from $($clients[1].Name)")
    }

    It 'times out a receive after -TimeoutSeconds and says how many arrived' {
        Receive-QuDagRequest -Count 2 -TimeoutSeconds 1 -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveQuDagRequestTimeout,*'
        "$($errs[0])" | Should -Be 'Received 0 of 2 requests within 1 s.'
    }

    It 'stops a receive promptly (Ctrl+C)' {
        $result = Stop-WhenWaiting 'Receive-QuDagRequest -TimeoutSeconds 60' -Command Receive-QuDagRequest
        $result.Waiting | Should -BeTrue
        $result.Stopped | Should -BeTrue -Because 'Ctrl+C ends the wait itself'
        $result.State | Should -Be 'Stopped'
    }

    It 'shows requests and responses in tables that fit 80 columns, with short peer ids' {
        $pair = New-RequestPair
        $asker = Start-Asker (Get-QuDagSession) $pair.PeerId ('a long request text ' * 10)
        $request = Receive-QuDagRequest -Session $pair.Server -TimeoutSeconds 10
        $request | Send-QuDagResponse -Payload ('a long answer text ' * 10)
        $response = $asker | Receive-TestJob

        foreach ($item in $request, $response) {
            $lines = ($item | Out-String -Width 80) -split "`r?`n" | Where-Object { $_ }
            $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
            $lines[0] | Should -Match '^PeerId\s+RequestId\s+'
            $lines[2] | Should -BeLike "$([WildcardPattern]::Escape($item.ShortId)) *"
            $lines[2] | Should -Match 'a long (request|answer) text'
        }
        ($response | Out-String -Width 80) | Should -Match 'LatencyMs'
        ($request | Out-String -Width 80) | Should -Match 'ReceivedAt'
    }
}
