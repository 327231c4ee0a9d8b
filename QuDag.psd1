@{
    # Development layout: build.ps1 -Task Build fills module/bin; -Task Package writes the shipping layout.
    RootModule           = 'module/bin/QuDag.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '6f0c7a53-2b1e-4d8e-9a51-3c0d2f4e7b19'
    Author               = 'QuDag.PS'
    CompanyName          = 'QuDag.PS'
    Copyright            = '(c) QuDag.PS. MIT License.'
    Description          = 'Drive a QuDAG (libp2p) network from PowerShell: connections over TCP with Noise or TLS and yamux, ping, identify and QuDAG requests, an idle pool, limits, policy and real metrics.'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('module/QuDag.Format.ps1xml')
    CmdletsToExport      = @(
        'Connect-QuDagPeer', 'Disconnect-QuDagPeer', 'Set-QuDagPeerStatus', 'Get-QuDagPeer', 'Wait-QuDagPeer',
        'Get-QuDagMetrics', 'Start-QuDagListener', 'Stop-QuDagListener',
        'Send-QuDagMessage', 'Receive-QuDagMessage', 'Test-QuDagPeer',
        'Invoke-QuDagRequest', 'Receive-QuDagRequest', 'Send-QuDagResponse',
        'Get-QuDagPool', 'Clear-QuDagPool', 'Block-QuDagPeer', 'Unblock-QuDagPeer',
        'Get-QuDagSession', 'New-QuDagSession', 'Set-QuDagSession', 'Reset-QuDagSession', 'Remove-QuDagSession',
        'Start-QuDagMetricsExporter', 'Stop-QuDagMetricsExporter', 'Watch-QuDagMetrics', 'Export-QuDagReport',
        'Register-QuDagTopic', 'Unregister-QuDagTopic', 'Get-QuDagTopic',
        'Find-QuDagPeer', 'Invoke-QuDagCrawl', 'Compare-QuDagCrawl',
        'Protect-QuDagPeer', 'Unprotect-QuDagPeer', 'Set-QuDagPeerTag', 'Set-QuDagResourceLimit', 'Get-QuDagResourceUsage'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('QuDAG', 'P2P', 'TLS', 'Networking', 'ConnectionPool')
            ProjectUri = 'https://example.invalid/qudag-ps'
        }
    }
}
