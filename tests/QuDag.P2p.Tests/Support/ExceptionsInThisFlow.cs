using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace QuDag.P2p.Tests.Support;

/// <summary>
/// First-chance exceptions thrown in this test's flows, from <see cref="Start"/> on: the sessions' loops start inside
/// the test, so they carry its ExecutionContext and its marker; other tests running meanwhile do not.
/// </summary>
internal sealed class ExceptionsInThisFlow : IDisposable
{
    private readonly AsyncLocal<object?> _scope = new();
    private readonly object _marker = new();
    private volatile bool _counting;

    public ExceptionsInThisFlow()
    {
        _scope.Value = _marker;
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
    }

    public ConcurrentQueue<string> Thrown { get; } = new();

    public void Start() => _counting = true;

    private void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
    {
        if (_counting && ReferenceEquals(_scope.Value, _marker))
            Thrown.Enqueue(e.Exception.GetType().Name + ": " + e.Exception.Message + Environment.NewLine + new StackTrace(1, false));
    }

    public void Dispose() => AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;
}
