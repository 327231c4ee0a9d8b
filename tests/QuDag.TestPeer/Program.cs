using System.Net;
using QuDag.Network;

// Usage: QuDag.TestPeer [count]
// Starts <count> nodes (default 1) on 127.0.0.1, prints "<peer id> <port>" per node and then "READY", and runs
// until standard input closes. Each node answers pings (/ipfs/ping/1.0.0) and drains the messages it receives (/qudag-ps/msg/1.0.0).
var count = args.Length > 0 ? int.Parse(args[0]) : 1;
var managers = new List<ConnectionManager>(count);
using var stop = new CancellationTokenSource();
var drains = new List<Task>(count);
for (var i = 0; i < count; i++)
{
    var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 1000 });
    var listener = await manager.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
    managers.Add(manager);
    drains.Add(Drain(manager, stop.Token));
    Console.WriteLine($"{manager.LocalPeerId} {listener.LocalEndPoint.Port}");
}
Console.WriteLine("READY");
Console.Out.Flush();
await Console.In.ReadToEndAsync();
stop.Cancel();
await Task.WhenAll(managers.Select(m => m.DisposeAsync().AsTask()));
await Task.WhenAll(drains);

static async Task Drain(ConnectionManager manager, CancellationToken ct)
{
    try
    {
        await foreach (var _ in manager.ReceiveAllAsync(ct))
        {
        }
    }
    catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
    {
    }
}
