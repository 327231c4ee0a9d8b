using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace QuDag.Network.Tests;

/// <summary>Real peers in a child process (tests/QuDag.TestPeer): killable, freezable, and with their own file descriptors.</summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private PeerProcess(Process process, IReadOnlyList<(PeerId Id, IPEndPoint EndPoint)> peers)
    {
        _process = process;
        Peers = peers;
    }

    public IReadOnlyList<(PeerId Id, IPEndPoint EndPoint)> Peers { get; }

    public int Pid => _process.Id;

    public static async Task<PeerProcess> StartAsync(int count = 1)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "QuDag.TestPeer.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(count.ToString());
        var process = Process.Start(start)!;
        var peers = new List<(PeerId, IPEndPoint)>(count);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line && line != "READY")
        {
            var parts = line.Split(' ');
            peers.Add((PeerId.Parse(parts[0]), new IPEndPoint(IPAddress.Loopback, int.Parse(parts[1]))));
        }
        Assert.Equal(count, peers.Count);
        return new PeerProcess(process, peers);
    }

    /// <summary>SIGKILL: the kernel closes its sockets, nothing of the peer's code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP: the process freezes with its sockets open; the kernel still acknowledges TCP, the peer never answers.</summary>
    public void Freeze() => Assert.Equal(0, Signal(_process.Id, 19));

    /// <summary>SIGCONT.</summary>
    public void Thaw() => Assert.Equal(0, Signal(_process.Id, 18));

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Signal(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal(_process.Id, 18);
            _process.StandardInput.Close(); // the peer ends when its input closes
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
        }
        _process.Dispose();
    }
}
