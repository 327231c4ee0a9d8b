using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Measures PING/PONG round trips to connected peers; -Quiet answers $true or $false per peer.</summary>
[Cmdlet(VerbsDiagnostic.Test, "QuDagPeer")]
[OutputType(typeof(QuDagPingResult), typeof(bool))]
public sealed class TestQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to ping; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Round trips per peer. Default 4 (1 with -Quiet).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 4;

    /// <summary>Writes $true when every ping of a peer was answered, else $false, and no errors.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        var count = Quiet && !MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? 1 : Count;
        foreach (var text in PeerId)
        {
            PeerId? resolved;
            if (Quiet)
            {
                resolved = PeerIdArgument.TryResolveQuietly(text, CurrentSession);
                if (resolved is null || manager.GetPeer(resolved.Value) is null)
                {
                    WriteObject(false);
                    continue;
                }
            }
            else
            {
                resolved = ResolveKnownPeer(text);
            }
            if (resolved is not { } peer)
                continue;
            try
            {
                for (var i = 1; i <= count; i++)
                {
                    var result = new QuDagPingResult(peer, i, Await(manager.PingAsync(peer, StopToken)));
                    if (!Quiet)
                        WriteObject(result);
                }
                if (Quiet)
                    WriteObject(true);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                if (Quiet)
                    WriteObject(false);
                else
                    WriteError(ex, text);
            }
        }
    }
}
