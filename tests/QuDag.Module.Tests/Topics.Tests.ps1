# Gossipsub topics from script, against unmodified js-libp2p gossipsub nodes (@libp2p/gossipsub 17.1.1, one process).
BeforeAll {
    . $PSScriptRoot/Common.ps1
    . $PSScriptRoot/JsNode.ps1
}

Describe 'Topics against js gossipsub nodes' {
    BeforeAll {
        $script:topic = 'qudag/pester'
        $script:mesh = Start-JsGossipMesh -Nodes 4 -Topic $topic
        $script:jsNodes = @($mesh.Ready.nodes)
        $null = Invoke-JsNode $mesh 'lattice' @{ degree = 1 } 60
    }
    AfterAll {
        Stop-JsNode $mesh
        Clear-TestSessions
    }

    It 'joins a topic, meshes with the js peers, publishes to all of them and receives theirs' {
        $joined = Register-QuDagTopic -Topic $topic -PassThru
        $joined.Subscribed | Should -BeTrue
        foreach ($i in 0, 2) { $null = Connect-QuDagPeer -Address $jsNodes[$i].addrs[0] }
        Wait-Until { $t = Get-QuDagTopic $topic; $t.MeshPeers -eq 2 -and $t.Subscribers -eq 2 } 30 'a mesh of the two js peers'
        $figures = Get-QuDagTopic -Topic $topic
        $figures.MeshPeerIds | Should -Contain $jsNodes[0].peerId
        $figures.SubscriberIds | Should -Contain $jsNodes[2].peerId

        $sent = 1..10 | ForEach-Object { "probe-$_" } | Send-QuDagMessage -Topic $topic -PassThru
        $sent.Count | Should -Be 10
        $sent | ForEach-Object { $_.Peers | Should -BeGreaterOrEqual 1; $_.MessageId | Should -Not -BeNullOrEmpty }
        Wait-Until { @((Invoke-JsNode $mesh 'stats' @{ topic = $topic }).nodes | Where-Object received -eq 10).Count -eq 4 } 20 'all four js nodes got the 10 probes'
        (Invoke-JsNode $mesh 'stats' @{ topic = $topic }).nodes | ForEach-Object { $_.invalid | Should -Be 0 }
        (Get-QuDagTopic $topic).Published | Should -Be 10

        $null = Invoke-JsNode $mesh 'publish' @{ node = 1; topic = $topic; data = [Convert]::ToHexString([Text.Encoding]::UTF8.GetBytes('from-js')) }
        $message = Receive-QuDagMessage -Topic $topic -TimeoutSeconds 10
        $message.Text | Should -Be 'from-js'
        $message.From | Should -Be $jsNodes[1].peerId
        $message.Topic | Should -Be $topic
        $message.LatencyMs | Should -BeNullOrEmpty # a js author's sequence number is no stamp of ours
        (Get-QuDagTopic $topic).Received | Should -Be 1
    }

    It 'publishes objects as JSON, and a topic object round-trips through JSON' {
        $null = Send-QuDagMessage -Topic $topic -Payload @{ height = 42 }
        Wait-Until {
            @((Invoke-JsNode $mesh 'received' @{ topic = $topic }).nodes[0].messages | Where-Object {
                [Text.Encoding]::UTF8.GetString([Convert]::FromHexString($_.data)) -eq '{"height":42}' }).Count -eq 1
        } 20 'js node 0 got the JSON payload'
        $copy = Get-QuDagTopic $topic | ConvertTo-Json | ConvertFrom-Json
        $copy.Topic | Should -Be $topic
        $copy.MeshPeers | Should -Be 2
    }

    It 'says what is wrong: <Case>' -ForEach @(
        @{ Case = 'receive on a topic not joined'; Id = 'ReceiveQuDagMessageNotSubscribed'; Script = { Receive-QuDagMessage -Topic 'not/joined' -TimeoutSeconds 1 -ErrorAction Stop } }
        @{ Case = 'publish where nobody subscribes'; Id = 'SendQuDagMessageInsufficientPeers'; Script = { Send-QuDagMessage -Topic 'nobody/here' -Payload 'x' -ErrorAction Stop } }
        @{ Case = 'leave a topic not joined'; Id = 'UnregisterQuDagTopicNotSubscribed'; Script = { Unregister-QuDagTopic -Topic 'not/joined' -ErrorAction Stop } }
        @{ Case = 'an unknown topic'; Id = 'GetQuDagTopicTopicNotFound'; Script = { Get-QuDagTopic -Topic 'not/known' -ErrorAction Stop } }
    ) {
        { & $Script } | Should -Throw -ErrorId "$Id*"
    }

    It 'leaves the topic: the js peers drop it from their subscribers' {
        Unregister-QuDagTopic -Topic $topic -WhatIf
        (Get-QuDagTopic $topic).Subscribed | Should -BeTrue
        Unregister-QuDagTopic -Topic $topic
        (Get-QuDagTopic $topic).Subscribed | Should -BeFalse
        $me = (Get-QuDagSession).PeerId
        Wait-Until { @((Invoke-JsNode $mesh 'stats' @{ topic = $topic }).nodes | Where-Object { $_.subscribers -contains $me }).Count -eq 0 } 10 'no js node lists us'
    }
}

Describe 'The topic-health runbook' {
    BeforeAll {
        $script:topic = 'qudag/health'
        $script:mesh = Start-JsGossipMesh -Nodes 3 -Topic $topic
        $script:jsNodes = @($mesh.Ready.nodes)
        $null = Invoke-JsNode $mesh 'lattice' @{ degree = 1 } 60
        $script:runbook = Join-Path $RepoRoot 'module/examples/topic-health.ps1'
    }
    AfterAll {
        Stop-JsNode $mesh
        Clear-TestSessions
    }

    It 'reports a mesh below D_lo, probes that reached the js peers, and a QuDag.PS publisher''s latency' {
        # Another QuDag.PS node in the mesh publishes while the runbook listens: its messages carry their publish time.
        $other = New-QuDagSession -Name other
        $null = Register-QuDagTopic -Topic $topic -Session $other
        $null = Connect-QuDagPeer -Address $jsNodes[1].addrs[0] -Session $other
        $job = Start-ThreadJob -ArgumentList $other, $topic, (Get-Module QuDag).Path -ScriptBlock {
            param($session, $topic, $module)
            Import-Module $module
            for ($i = 0; $i -lt 40; $i++) {
                Send-QuDagMessage -Topic $topic -Payload "tick-$i" -Session $session -ErrorAction SilentlyContinue
                Start-Sleep -Milliseconds 100
            }
        }
        try {
            $report = & $runbook -Topic $topic -Address $jsNodes[0].addrs[0], $jsNodes[2].addrs[0] -Probes 5 -WarmUpSeconds 3 -ListenSeconds 3
        }
        finally { $job | Wait-Job -Timeout 30 | Remove-Job -Force }
        $report.MeshPeers | Should -Be 2
        $report.Healthy | Should -BeFalse
        $report.Verdict | Should -BeLike 'mesh below D_lo*'
        $report.ProbesSent | Should -Be 5
        $report.ProbesFailed | Should -Be 0
        $report.MinPeersReached | Should -BeGreaterOrEqual 1
        $report.Received | Should -BeGreaterThan 0
        $report.LatencySamples | Should -BeGreaterThan 0
        $report.LatencyP95Ms | Should -BeGreaterThan 0
        $report.InvalidDelta | Should -Be 0
        Wait-Until { @((Invoke-JsNode $mesh 'stats' @{ topic = $topic }).nodes | Where-Object received -ge 5).Count -eq 3 } 20 'every js node has the probes'
    }
}
