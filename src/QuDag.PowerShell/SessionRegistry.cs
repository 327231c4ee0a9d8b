using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>
/// The sessions of each runspace: a default one created on first use with the seed's defaults, and those
/// made with New-QuDagSession, by unique name. Closing the runspace or removing the module disposes them all.
/// </summary>
internal static class SessionRegistry
{
    private static readonly ConditionalWeakTable<Runspace, RunspaceSessions> s_byRunspace = new();

    private sealed class RunspaceSessions
    {
        public QuDagSession? Default;
        public readonly List<QuDagSession> All = [];
    }

    private static RunspaceSessions For(Runspace runspace) =>
        s_byRunspace.GetValue(runspace, static r =>
        {
            r.StateChanged += OnRunspaceStateChanged;
            return new RunspaceSessions();
        });

    /// <summary>
    /// The session a command works in: <paramref name="given"/> (its -Session) or the runspace's default. A closed one
    /// stops the command with a SessionClosed error.
    /// </summary>
    public static QuDagSession Resolve(PSCmdlet cmdlet, QuDagSession? given, string commandId)
    {
        var session = given ?? GetDefault(Runspace.DefaultRunspace);
        if (session.IsDisposed)
            cmdlet.ThrowTerminatingError(Errors.SessionClosed(commandId, session));
        return session;
    }

    public static QuDagSession GetDefault(Runspace runspace)
    {
        var sessions = For(runspace);
        lock (sessions)
        {
            if (sessions.Default is { IsDisposed: false } existing)
                return existing;
            sessions.All.RemoveAll(s => s.IsDisposed);
            var name = "Default";
            for (var n = 2; sessions.All.Any(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase)); n++)
                name = $"Default{n}";
            var created = new QuDagSession(name, new SessionConfig(), NodeIdentity.Create(), null, isDefault: true);
            sessions.Default = created;
            sessions.All.Add(created);
            return created;
        }
    }

    /// <summary>A new session, or null when <paramref name="name"/> is taken by an open session of the runspace.</summary>
    public static QuDagSession? Create(Runspace runspace, string? name, SessionConfig config, NodeIdentity identity, string? identityPath)
    {
        var sessions = For(runspace);
        lock (sessions)
        {
            sessions.All.RemoveAll(s => s.IsDisposed);
            if (name is not null && sessions.All.Any(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
                return null;
            name ??= UniqueName(sessions);
            var session = new QuDagSession(name, config, identity, identityPath, isDefault: false);
            sessions.All.Add(session);
            return session;
        }
    }

    private static string UniqueName(RunspaceSessions sessions)
    {
        for (var n = QuDagSession.PeekNextId(); ; n++)
        {
            var name = $"Session{n}";
            if (!sessions.All.Any(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
                return name;
        }
    }

    public static bool IsNameTaken(Runspace runspace, string name)
    {
        var sessions = For(runspace);
        lock (sessions)
            return sessions.All.Any(s => !s.IsDisposed && s.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The open sessions named <paramref name="name"/> (names are unique per runspace): <paramref name="runspace"/>'s if
    /// it has one, else those of every runspace of the process (a thread job naming its parent's session).
    /// </summary>
    public static IReadOnlyList<QuDagSession> FindByName(Runspace? runspace, string name)
    {
        if (runspace is not null && List(runspace).FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } own)
            return [own];
        var found = new List<QuDagSession>();
        foreach (var (_, sessions) in s_byRunspace)
        {
            lock (sessions)
                found.AddRange(sessions.All.Where(s => !s.IsDisposed && s.Name.Equals(name, StringComparison.OrdinalIgnoreCase)));
        }
        return found;
    }

    public static IReadOnlyList<QuDagSession> List(Runspace runspace)
    {
        var sessions = For(runspace);
        lock (sessions)
        {
            sessions.All.RemoveAll(s => s.IsDisposed);
            return sessions.All.ToArray();
        }
    }

    /// <summary>Closes one session and forgets it; the next use of the default creates a new one.</summary>
    public static void Remove(Runspace runspace, QuDagSession session)
    {
        var sessions = For(runspace);
        lock (sessions)
        {
            sessions.All.Remove(session);
            if (ReferenceEquals(sessions.Default, session))
                sessions.Default = null;
        }
        session.Close(SessionCloseReason.Removed);
    }

    /// <summary>Closes every session of the runspace.</summary>
    public static void Close(Runspace runspace, SessionCloseReason reason)
    {
        if (!s_byRunspace.TryGetValue(runspace, out var sessions))
            return;
        QuDagSession[] all;
        lock (sessions)
        {
            all = sessions.All.ToArray();
            sessions.All.Clear();
            sessions.Default = null;
        }
        foreach (var session in all)
            session.Close(reason);
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is Runspace runspace && e.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)
            Close(runspace, SessionCloseReason.RunspaceClosed);
    }
}

/// <summary>Remove-Module QuDag disposes the sessions of the runspace that removes it.</summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    /// <inheritdoc/>
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (Runspace.DefaultRunspace is { } runspace)
            SessionRegistry.Close(runspace, SessionCloseReason.ModuleRemoved);
    }
}
