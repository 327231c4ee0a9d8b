using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using System.Text.Json.Nodes;
using QuDag.Host;
using QuDag.Network;
using QuDag.P2p.Identity;
using QuDag.P2p.Upgrade;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// What the manager and the module add to the stack's ping (issue 21), for js-compare's agents: a ConnectionManager's
/// <c>PingAsync</c> and the module's <c>Test-QuDagPeer</c>, each beside the stack's own ping (the manager's P2pHost
/// pinging the very same connection), in one process (both managers here) and across two (a manager in each agent).
/// Commands: manager-listen; manager-ping {peer, port, n}; inproc-ping {n}; cmdlet-ping {peer, port, n}.
/// </summary>
internal sealed class ManagerAgent(string security) : IAsyncDisposable
{
    // Pings in blocks, the two ways alternating, so drift (the JIT's tiers, the machine's other work) hits both alike.
    private const int Block = 100;

    private ConnectionManager? _manager;
    private System.Management.Automation.Runspaces.Runspace? _runspace;

    private ConnectionManager Manager => _manager ??= Create();

    private ConnectionManager Create() => new(new ConnectionManagerOptions
    {
        Security = [security == "tls" ? QuDag.P2p.Host.SecurityProtocols.Tls : QuDag.P2p.Host.SecurityProtocols.Noise],
    });

    public async Task<JsonObject> RunAsync(string cmd, JsonObject msg, CancellationToken ct)
    {
        switch (cmd)
        {
            case "manager-listen":
            {
                var listener = await Manager.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), ct).ConfigureAwait(false);
                return new JsonObject { ["peerId"] = Manager.LocalPeerId.ToString(), ["port"] = listener.LocalEndPoint.Port };
            }
            case "manager-ping":
            {
                var peer = PeerId.Parse((string)msg["peer"]!);
                await Manager.ConnectAsync(peer, new IPEndPoint(IPAddress.Loopback, (int)msg["port"]!), ct).ConfigureAwait(false);
                try
                {
                    return await CompareAsync(Manager, peer, (int)msg["n"]!, ct).ConfigureAwait(false);
                }
                finally
                {
                    await Manager.DisconnectAsync(peer, close: true, ct).ConfigureAwait(false);
                }
            }
            case "inproc-ping":
            {
                await using var listener = Create();
                await using var dialer = Create();
                var endPoint = (await listener.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), ct).ConfigureAwait(false)).LocalEndPoint;
                await dialer.ConnectAsync(listener.LocalPeerId, endPoint, ct).ConfigureAwait(false);
                return await CompareAsync(dialer, listener.LocalPeerId, (int)msg["n"]!, ct).ConfigureAwait(false);
            }
            case "cmdlet-ping":
                return CmdletPing((string)msg["peer"]!, (int)msg["port"]!, (int)msg["n"]!);
            default:
                throw new ArgumentException($"unknown command '{cmd}'");
        }
    }

    /// <summary>n round trips each way on one connection: the manager's PingAsync, and its host's ping on the same
    /// connection (what the stack alone costs), in alternating blocks; the samples of each, in microseconds.</summary>
    private static async Task<JsonObject> CompareAsync(ConnectionManager manager, PeerId peer, int n, CancellationToken ct)
    {
        P2pConnection connection = manager.Host.Connections.Single(c => c.RemotePeer == peer);
        var viaManager = new JsonArray();
        var viaHost = new JsonArray();
        for (int i = 0; i < Block; i++)
        {
            // Warm-up: the ping stream opens, both paths reach their steady code.
            await manager.PingAsync(peer, ct).ConfigureAwait(false);
            await manager.Host.PingAsync(connection, ct).ConfigureAwait(false);
        }
        long managerBytes = 0, hostBytes = 0;
        for (int done = 0; done < n; done += Block)
        {
            long a0 = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Block; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                await manager.PingAsync(peer, ct).ConfigureAwait(false);
                viaManager.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            }
            long a1 = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Block; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                await manager.Host.PingAsync(connection, ct).ConfigureAwait(false);
                viaHost.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            }
            long a2 = GC.GetTotalAllocatedBytes(precise: true);
            managerBytes += a1 - a0;
            hostBytes += a2 - a1;
        }
        // Bytes this process allocated per ping (both ends, when both are here), the JSON of the samples included alike.
        return new JsonObject
        {
            ["manager"] = viaManager, ["host"] = viaHost,
            ["managerBytes"] = managerBytes / (double)viaManager.Count, ["hostBytes"] = hostBytes / (double)viaHost.Count,
        };
    }

    /// <summary>
    /// Test-QuDagPeer in a hosted engine with the module imported, as a script would call it: its wall time per ping
    /// for calls of 100 pings (the cmdlet's own work per ping included), and, in alternating blocks on the same
    /// connection, the session manager's PingAsync and the stack's ping (its host's), each timed per ping.
    /// </summary>
    private JsonObject CmdletPing(string peer, int port, int n)
    {
        _runspace ??= QuDagRunspace.Open(new TextHost(TextWriter.Null, TextWriter.Null));
        using var ps = PowerShell.Create(_runspace);
        Run(ps, "param($p, $e) Connect-QuDagPeer -PeerId $p -Endpoint $e | Out-Null",
            new() { ["p"] = peer, ["e"] = $"127.0.0.1:{port}" });
        // The session's manager, for the same pings without the cmdlet (the module's default session of this runspace).
        var manager = (ConnectionManager)Run(ps, "(Get-QuDagSession).Manager", [])[0].BaseObject;
        var id = PeerId.Parse(peer);
        P2pConnection connection = manager.Host.Connections.Single(c => c.RemotePeer == id);
        var perCall = new JsonArray();
        var oneCall = new JsonArray();
        var viaManager = new JsonArray();
        var viaHost = new JsonArray();
        Run(ps, "param($p, $n) Test-QuDagPeer -PeerId $p -Count $n | Out-Null", new() { ["p"] = peer, ["n"] = Block });
        for (int done = 0; done < n; done += Block)
        {
            long t0 = Stopwatch.GetTimestamp();
            var results = Run(ps, "param($p, $n) Test-QuDagPeer -PeerId $p -Count $n", new() { ["p"] = peer, ["n"] = Block });
            perCall.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds / Block);
            if (results.Count != Block)
                throw new InvalidOperationException($"Test-QuDagPeer answered {results.Count} of {Block} pings.");
            // The call's fixed cost (a new pipeline: script, binding, session and peer), for the per-ping cost beyond it.
            long t2 = Stopwatch.GetTimestamp();
            Run(ps, "param($p, $n) Test-QuDagPeer -PeerId $p -Count $n", new() { ["p"] = peer, ["n"] = 1 });
            oneCall.Add(Stopwatch.GetElapsedTime(t2).TotalMicroseconds);
            // The same pings from this thread without the cmdlet: through the manager, and the stack's own on the same
            // connection (each awaited from this thread, as the cmdlet awaited them before it ran them ahead).
            for (int i = 0; i < Block; i++)
            {
                long t1 = Stopwatch.GetTimestamp();
                manager.PingAsync(id).GetAwaiter().GetResult();
                viaManager.Add(Stopwatch.GetElapsedTime(t1).TotalMicroseconds);
            }
            for (int i = 0; i < Block; i++)
            {
                long t1 = Stopwatch.GetTimestamp();
                manager.Host.PingAsync(connection).GetAwaiter().GetResult();
                viaHost.Add(Stopwatch.GetElapsedTime(t1).TotalMicroseconds);
            }
        }
        manager.DisconnectAsync(id, close: true).GetAwaiter().GetResult();
        return new JsonObject { ["cmdletPerPing"] = perCall, ["cmdletOneCall"] = oneCall, ["manager"] = viaManager, ["host"] = viaHost };
    }

    private static System.Collections.ObjectModel.Collection<PSObject> Run(PowerShell ps, string script, Dictionary<string, object> parameters) =>
        QuDag.Benchmarks.HostedScript.Invoke(ps, script, parameters);

    public async ValueTask DisposeAsync()
    {
        _runspace?.Dispose();
        if (_manager is not null)
            await _manager.DisposeAsync().ConfigureAwait(false);
    }
}
