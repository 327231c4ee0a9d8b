using System.Diagnostics;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>
/// Background work on a timer: one run at a time (a slow run is not stacked up by the next tick), failures traced,
/// and disposal waits for the run in progress (which the owner's stopping token has cancelled). The DHT's refresh,
/// re-replication and republish each run as one.
/// </summary>
internal sealed class PeriodicJob : IAsyncDisposable
{
    private readonly string _name;
    private readonly Func<CancellationToken, Task> _work;
    private readonly CancellationToken _stopping;
    private readonly ITimer _timer;
    private Task _running = Task.CompletedTask;
    private int _busy;

    public PeriodicJob(string name, Func<CancellationToken, Task> work, TimeSpan interval, TimeProvider time, CancellationToken stopping)
    {
        _name = name;
        _work = work;
        _stopping = stopping;
        _timer = time.CreateTimer(_ => Tick(), null, interval, interval);
    }

    public Task Running => Volatile.Read(ref _running);

    private void Tick()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            return;
        Volatile.Write(ref _running, Task.Run(async () =>
        {
            try
            {
                await _work(_stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                // Stopping.
            }
            catch (Exception ex)
            {
                Trace.TraceWarning("QuDag.P2p: a DHT {0} failed: {1}", _name, ex.Message);
            }
            finally
            {
                Volatile.Write(ref _busy, 0);
            }
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
