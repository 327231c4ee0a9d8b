using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Resources;
using QuDag.P2p.Upgrade;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// Our side of the side-by-side benchmarks: a <see cref="P2pHost"/> in its own process that answers the same JSON-line
/// commands as tests/interop/bench.mjs (listen, setup, ping, bulk, idle, mem, close-all, stop) and serves the same bench
/// protocols, so every workload is timed the same way in the dialer's process. It also holds the bare TCP floors
/// (bare-listen: a 32-byte echo; bare-ping, bare-connect), so they too run across two processes.
/// </summary>
public sealed class OurAgent : IAsyncDisposable
{
    public const string SinkProtocol = "/qudag-bench/sink/1.0.0";
    public const string SourceProtocol = "/qudag-bench/source/1.0.0";
    private const long BulkMax = 4L << 30;

    private readonly P2pHost _host;
    private readonly ManagerAgent _managers;
    private readonly List<P2pConnection> _idle = [];
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _bareListener, _bareSinkListener;
    private Task? _bareAccept, _bareSinkAccept;

    internal OurAgent(string security)
    {
        // Under valgrind (profiling/instructions.sh) the first connection's JIT alone takes longer than any default.
        var timeout = int.TryParse(Environment.GetEnvironmentVariable("QUDAG_TIMEOUT_SECONDS"), out int seconds)
            ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(10);
        _host = new P2pHost(new P2pHostOptions
        {
            Security = [security switch
            {
                "noise" => SecurityProtocols.Noise,
                "tls" => SecurityProtocols.Tls,
                _ => throw new ArgumentException($"--security must be noise or tls, not '{security}'."),
            }],
            // js keeps 4,096 streams per connection in bench.mjs; the yamux default here is js's 1,000.
            // Every dialer here is 127.0.0.1 and the idle-memory phase dials 16 at once: the per-address cap
            // (8 upgrades in progress) would refuse half of them.
            MaxPendingInboundUpgradesPerAddress = 64,
            ConnectTimeout = timeout, // main's one deadline for TCP and upgrade together (perf's agent still named the two)
            StreamNegotiationTimeout = timeout,
            Resources = CountsUnlimited(new ResourceManagerOptions()),
        });
        _managers = new ManagerAgent(security);
        _host.SetStreamHandler(SinkProtocol, ServeSinkAsync);
        _host.SetStreamHandler(SourceProtocol, ServeSourceAsync);
    }

    // The idle phase holds up to 10,000 connections between this one pair of peers: the per-peer connection limit (8,
    // go-libp2p's default) and the system scope's (4,096 on this machine) would refuse all but a few. The benchmark
    // measures connections, not policy: counts are lifted, the memory limits stay, and every scope is still kept.
    private static ResourceManagerOptions CountsUnlimited(ResourceManagerOptions defaults) => defaults with
    {
        System = defaults.System with { ConnectionsInbound = ResourceLimits.Unlimited, ConnectionsOutbound = ResourceLimits.Unlimited, Connections = ResourceLimits.Unlimited },
        PeerDefault = defaults.PeerDefault with { ConnectionsInbound = ResourceLimits.Unlimited, ConnectionsOutbound = ResourceLimits.Unlimited, Connections = ResourceLimits.Unlimited },
    };

    public static async Task<int> RunAsync(string security)
    {
        await using var agent = new OurAgent(security);
        var stdout = Console.Out;
        stdout.WriteLine(JsonSerializer.Serialize(new { @event = "ready", peerId = agent._host.LocalPeerId.ToString() }));
        stdout.Flush();
        // One command at a time, in order, as bench.mjs: a timing never shares the process with another command.
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
                continue;
            JsonNode? id = null;
            JsonObject answer;
            bool stop = false;
            try
            {
                var msg = JsonNode.Parse(line)!.AsObject();
                id = msg["id"]?.DeepClone();
                string cmd = (string)msg["cmd"]!;
                stop = cmd == "stop";
                answer = await agent.RunCommandAsync(cmd, msg).ConfigureAwait(false);
                answer["ok"] = true;
            }
            catch (Exception ex)
            {
                answer = new JsonObject { ["ok"] = false, ["error"] = $"{ex.GetType().Name}: {ex.Message}" };
            }
            answer["id"] = id;
            stdout.WriteLine(answer.ToJsonString());
            stdout.Flush();
            if (stop)
                break;
        }
        return 0;
    }

    internal async Task<JsonObject> RunCommandAsync(string cmd, JsonObject msg)
    {
        var ct = _stopping.Token;
        switch (cmd)
        {
            case "listen":
            {
                var listener = await _host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), ct).ConfigureAwait(false);
                return new JsonObject { ["addrs"] = new JsonArray(listener.Addresses.Select(a => (JsonNode)a.ToString()).ToArray()) };
            }
            case "setup":
            {
                var address = Multiaddr.Parse((string)msg["addr"]!);
                int n = (int)msg["n"]!;
                var us = new JsonArray();
                for (int i = 0; i < n; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    var connection = await _host.DialAsync(address, ct).ConfigureAwait(false);
                    us.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                    await connection.CloseAsync(ct).ConfigureAwait(false);
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
                return new JsonObject { ["us"] = us };
            }
            case "ping":
            {
                await using var connection = await _host.DialAsync(Multiaddr.Parse((string)msg["addr"]!), ct).ConfigureAwait(false);
                int n = (int)msg["n"]!;
                var us = new JsonArray();
                for (int i = 0; i < n; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    await _host.PingAsync(connection, ct).ConfigureAwait(false);
                    us.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                }
                await connection.CloseAsync(ct).ConfigureAwait(false);
                return new JsonObject { ["us"] = us };
            }
            case "bulk":
            {
                await using var connection = await _host.DialAsync(Multiaddr.Parse((string)msg["addr"]!), ct).ConfigureAwait(false);
                long bytes = (long)msg["bytes"]!;
                bool send = (string)msg["dir"]! == "send";
                long t0 = Stopwatch.GetTimestamp();
                bool match;
                await using (var stream = await connection.OpenStreamAsync(send ? SinkProtocol : SourceProtocol, ct).ConfigureAwait(false))
                {
                    if (send)
                    {
                        await BulkPattern.WriteAsync(stream, bytes, ct).ConfigureAwait(false);
                        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
                        var answer = new byte[9];
                        await stream.ReadExactlyAsync(answer, ct).ConfigureAwait(false);
                        match = BinaryPrimitives.ReadInt64BigEndian(answer) == bytes && answer[8] == 1;
                    }
                    else
                    {
                        var header = new byte[8];
                        BinaryPrimitives.WriteInt64BigEndian(header, bytes);
                        await stream.WriteAsync(header, ct).ConfigureAwait(false);
                        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
                        var (received, ok) = await BulkPattern.ReadAsync(stream, bytes, ct).ConfigureAwait(false);
                        match = ok && received == bytes;
                    }
                }
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                await connection.CloseAsync(ct).ConfigureAwait(false);
                return new JsonObject { ["ms"] = ms, ["match"] = match };
            }
            case "idle":
            {
                var address = Multiaddr.Parse((string)msg["addr"]!);
                int n = (int)msg["n"]!;
                int next = 0;
                async Task Worker()
                {
                    while (Interlocked.Increment(ref next) <= n)
                    {
                        var connection = await _host.DialAsync(address, ct).ConfigureAwait(false);
                        lock (_idle)
                            _idle.Add(connection);
                    }
                }
                await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Worker())).ConfigureAwait(false);
                return new JsonObject { ["opened"] = _idle.Count };
            }
            case "mem":
            {
                var (managed, rss) = ProcessMemory.Measure();
                return new JsonObject { ["rss"] = rss, ["managed"] = managed, ["connections"] = _host.Connections.Count };
            }
            case "dump":
                HeapDiff.DumpSelf((string)msg["path"]!);
                return new JsonObject { ["connections"] = _host.Connections.Count };
            case "close-all":
            {
                P2pConnection[] all;
                lock (_idle)
                {
                    all = [.. _idle];
                    _idle.Clear();
                }
                await Task.WhenAll(all.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
                return [];
            }
            case "bare-listen":
            {
                _bareListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                _bareListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                _bareListener.Listen(1024);
                _bareAccept = BareAcceptLoopAsync(_bareListener, BareEchoAsync, ct);
                // The bulk floor's other end: reads to the end, answers the 8-byte count.
                _bareSinkListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                _bareSinkListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                _bareSinkListener.Listen(16);
                _bareSinkAccept = BareAcceptLoopAsync(_bareSinkListener, BareSinkAsync, ct);
                return new JsonObject
                {
                    ["port"] = ((IPEndPoint)_bareListener.LocalEndPoint!).Port,
                    ["sinkPort"] = ((IPEndPoint)_bareSinkListener.LocalEndPoint!).Port,
                };
            }
            case "bare-bulk":
            {
                // The bulk floor: the same bytes as a bulk send (64 KiB writes of the pattern), over a bare socket, not
                // checked (the floor is the kernel's loopback TCP between two processes on the same cores, nothing else).
                using var socket = await BareConnectAsync((int)msg["port"]!, ct).ConfigureAwait(false);
                long bytes = (long)msg["bytes"]!;
                long t0 = Stopwatch.GetTimestamp();
                for (long offset = 0; offset < bytes;)
                {
                    var piece = BulkPattern.At(offset, (int)Math.Min(BulkPattern.ChunkSize, bytes - offset));
                    await socket.SendAsync(piece, SocketFlags.None, ct).ConfigureAwait(false);
                    offset += piece.Length;
                }
                socket.Shutdown(SocketShutdown.Send);
                var answer = new byte[8];
                for (int got = 0; got < 8;)
                {
                    int r = await socket.ReceiveAsync(answer.AsMemory(got), SocketFlags.None, ct).ConfigureAwait(false);
                    if (r == 0)
                        throw new IOException("The bare sink closed before its count.");
                    got += r;
                }
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                return new JsonObject { ["ms"] = ms, ["match"] = BinaryPrimitives.ReadInt64BigEndian(answer) == bytes };
            }
            case "bare-ping":
            {
                using var socket = await BareConnectAsync((int)msg["port"]!, ct).ConfigureAwait(false);
                int n = (int)msg["n"]!;
                var data = new byte[32];
                var back = new byte[32];
                var us = new JsonArray();
                for (int i = 0; i < n; i++)
                {
                    Random.Shared.NextBytes(data);
                    long t0 = Stopwatch.GetTimestamp();
                    await socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
                    for (int got = 0; got < 32;)
                    {
                        int r = await socket.ReceiveAsync(back.AsMemory(got), SocketFlags.None, ct).ConfigureAwait(false);
                        if (r == 0)
                            throw new IOException("The bare echo closed.");
                        got += r;
                    }
                    us.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                    if (!back.AsSpan().SequenceEqual(data))
                        throw new InvalidDataException("The bare echo differs.");
                }
                return new JsonObject { ["us"] = us };
            }
            case "bare-connect":
            {
                int n = (int)msg["n"]!;
                var us = new JsonArray();
                for (int i = 0; i < n; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    using var socket = await BareConnectAsync((int)msg["port"]!, ct).ConfigureAwait(false);
                    us.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                }
                return new JsonObject { ["us"] = us };
            }
            case "manager-listen" or "manager-ping" or "inproc-ping" or "cmdlet-ping":
                return await _managers.RunAsync(cmd, msg, ct).ConfigureAwait(false);
            case "stop":
                return [];
            default:
                throw new ArgumentException($"unknown command '{cmd}'");
        }
    }

    private static async Task<Socket> BareConnectAsync(int port, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task BareAcceptLoopAsync(Socket listener, Func<Socket, CancellationToken, Task> serve, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync(ct).ConfigureAwait(false);
                socket.NoDelay = true;
                _ = serve(socket, ct);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task BareEchoAsync(Socket socket, CancellationToken ct)
    {
        using (socket)
        {
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false)) > 0)
                    await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
            }
        }
    }

    private static async Task BareSinkAsync(Socket socket, CancellationToken ct)
    {
        using (socket)
        {
            var buffer = new byte[BulkPattern.ChunkSize];
            long received = 0;
            try
            {
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false)) > 0)
                    received += n;
                var answer = new byte[8];
                BinaryPrimitives.WriteInt64BigEndian(answer, received);
                await socket.SendAsync(answer, SocketFlags.None, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
            }
        }
    }

    // The sink: read to the end checking every byte; answer the 8-byte count and 1 byte (1 = every byte matched).
    private static async Task ServeSinkAsync(MuxedStream stream, P2pConnection connection, CancellationToken ct)
    {
        var (received, match) = await BulkPattern.ReadAsync(stream, BulkMax, ct).ConfigureAwait(false);
        var answer = new byte[9];
        BinaryPrimitives.WriteInt64BigEndian(answer, received);
        answer[8] = match ? (byte)1 : (byte)0;
        await stream.WriteAsync(answer, ct).ConfigureAwait(false);
        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
    }

    // The source: an 8-byte length, then that many pattern bytes.
    private static async Task ServeSourceAsync(MuxedStream stream, P2pConnection connection, CancellationToken ct)
    {
        var header = new byte[8];
        await stream.ReadExactlyAsync(header, ct).ConfigureAwait(false);
        long n = BinaryPrimitives.ReadInt64BigEndian(header);
        if (n < 0 || n > BulkMax)
            throw new InvalidDataException($"A source length of {n} is outside 0..{BulkMax}.");
        await BulkPattern.WriteAsync(stream, n, ct).ConfigureAwait(false);
        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _bareListener?.Dispose();
        _bareSinkListener?.Dispose();
        foreach (var accepting in new[] { _bareAccept, _bareSinkAccept })
            if (accepting is not null)
                await accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _host.DisposeAsync().ConfigureAwait(false);
        await _managers.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
