using System.Management.Automation;

namespace QuDag.PowerShell;

/// <summary>
/// The base of every QuDag cmdlet: resolves the session (-Session or the runspace's default) and owns a
/// cancellation token that <see cref="StopProcessing"/> cancels, so Ctrl+C ends a connect or a wait at once.
/// </summary>
public abstract class QuDagCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private QuDagSession? _resolved;

    /// <summary>
    /// The session to work in, as an object or by its name (names are unique; <see cref="QuDagSession.Parse"/> finds
    /// it); the runspace's default session when omitted.
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(SessionNameCompleter))]
    public QuDagSession? Session { get; set; }

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken StopToken => _stopping.Token;

    /// <summary>The session this call works in.</summary>
    protected QuDagSession CurrentSession
    {
        get
        {
            return _resolved ??= SessionRegistry.Resolve(this, Session, CommandId);
        }
    }

    /// <summary>
    /// True when <see cref="Cmdlet.WriteVerbose"/> shows its message (-Verbose, or the caller's $VerbosePreference):
    /// a message that needs a lookup or a rich object is built only then, not for every item of a large pipeline.
    /// </summary>
    protected bool VerboseWanted => _verbose ??= MyInvocation.BoundParameters.TryGetValue("Verbose", out var given)
        ? given is SwitchParameter { IsPresent: true }
        // A script's own "$VerbosePreference = 'Continue'" makes a new variable that holds the string, as the engine reads it.
        : LanguagePrimitives.TryConvertTo(GetVariableValue("VerbosePreference"), out ActionPreference preference)
            && preference is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);

    private bool? _verbose;

    /// <summary>The cmdlet's name without the dash, the prefix of its error ids (ConnectQuDagPeer…).</summary>
    protected string CommandId => MyInvocation.MyCommand.Name.Replace("-", "", StringComparison.Ordinal);

    /// <summary>Waits for a task on the pipeline thread; Ctrl+C ends the wait with <see cref="PipelineStoppedException"/>.</summary>
    protected T Await<T>(Task<T> task)
    {
        AnnounceWait(task);
        try
        {
            return task.WaitAsync(StopToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <inheritdoc cref="Await{T}(Task{T})"/>
    protected void Await(Task task)
    {
        AnnounceWait(task);
        try
        {
            task.WaitAsync(StopToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    // Says on the debug stream, right before the pipeline thread blocks, that it does: -Debug then shows what a
    // command that seems to hang waits on, and a test knows when a stop (Ctrl+C) meets the wait itself.
    private void AnnounceWait(Task task)
    {
        if (!task.IsCompleted)
            WriteDebug($"{MyInvocation.MyCommand.Name} waits (Ctrl+C stops it).");
    }

    /// <summary>Writes a non-terminating error for one item; the pipeline goes on.</summary>
    protected void WriteError(Exception exception, object? target) => WriteError(Errors.From(Explain(exception), CommandId, target));

    /// <summary>Stops the command because its session closed under it (the core threw ObjectDisposedException).</summary>
    protected void ThrowSessionClosed(ObjectDisposedException exception) =>
        ThrowTerminatingError(Errors.From(Explain(exception), CommandId, _resolved));

    // The core says only "ConnectionManager" when its manager is gone: name the session, and why it closed.
    private Exception Explain(Exception exception) =>
        exception is ObjectDisposedException and not QuDagSessionClosedException && _resolved is { IsDisposed: true } session
            ? session.ClosedException()
            : exception;

    /// <summary>Writes a non-terminating error with an explicit id suffix and category.</summary>
    protected void WriteError(Exception exception, string problem, ErrorCategory category, object? target) =>
        WriteError(new ErrorRecord(exception, CommandId + problem, category, target));

    /// <summary>
    /// The peer a -PeerId string names (a full id, or a short id the session knows), or null after writing an error
    /// that says what is wrong with it; the pipeline goes on.
    /// </summary>
    protected PeerId? ResolvePeer(string text)
    {
        try
        {
            return PeerIdArgument.Resolve(text, CurrentSession);
        }
        catch (QuDagArgumentException ex)
        {
            WriteError(ex, text);
            return null;
        }
    }

    /// <summary>The peer a -PeerId string names when the session knows it; otherwise writes the error and returns null.</summary>
    protected PeerId? ResolveKnownPeer(string text)
    {
        if (ResolvePeer(text) is not { } peer)
            return null;
        if (IsKnown(peer))
            return peer;
        WriteError(Errors.PeerNotFound(CommandId, peer));
        return null;
    }

    /// <summary>True when the session knows <paramref name="peer"/>, without building the whole description
    /// <see cref="QuDag.Network.ConnectionManager.GetPeer"/> returns.</summary>
    protected bool IsKnown(PeerId peer) => CurrentSession.Manager.KnowsPeer(peer);

    /// <summary>The peer as output objects carry it.</summary>
    protected QuDagPeer? DescribePeer(PeerId peer) =>
        CurrentSession.Manager.GetPeer(peer) is { } info ? new QuDagPeer(info) : null;

    /// <inheritdoc/>
    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>Ends the call: cancels <see cref="StopToken"/> first, so work a cmdlet left running (a pipeline stopped
    /// downstream by Select-Object -First never calls <see cref="StopProcessing"/>) stops with it.</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
