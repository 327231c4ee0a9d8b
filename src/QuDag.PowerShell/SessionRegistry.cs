using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>
/// The sessions of each runspace: a default one created on first use with the seed's defaults, and those
/// made with New-QuDagSession. Closing the runspace or removing the module disposes them all.
/// </summary>
internal static class SessionRegistry
{
    public const int DefaultMaxConnections = 100;
    public static readonly TimeSpan DefaultPoolTimeout = ConnectionManagerOptions.DefaultPoolTimeout;

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

    public static QuDagSession GetDefault(Runspace runspace)
    {
        var sessions = For(runspace);
        lock (sessions)
        {
            if (sessions.Default is { IsDisposed: false } existing)
                return existing;
            var created = new QuDagSession(null, DefaultMaxConnections, DefaultPoolTimeout, NodeIdentity.Create(), null, isDefault: true);
            sessions.Default = created;
            sessions.All.Add(created);
            return created;
        }
    }

    public static QuDagSession Create(Runspace runspace, string? name, int maxConnections, TimeSpan poolTimeout, NodeIdentity identity, string? identityPath,
        ResilienceSettings resilience)
    {
        var session = new QuDagSession(name, maxConnections, poolTimeout, identity, identityPath, isDefault: false, resilience);
        var sessions = For(runspace);
        lock (sessions)
            sessions.All.Add(session);
        return session;
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

    /// <summary>Disposes every session of the runspace.</summary>
    public static void Close(Runspace runspace)
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
            session.Dispose();
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is Runspace runspace && e.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)
            Close(runspace);
    }
}

/// <summary>Remove-Module QuDag disposes the sessions of the runspace that removes it.</summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    /// <inheritdoc/>
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (Runspace.DefaultRunspace is { } runspace)
            SessionRegistry.Close(runspace);
    }
}
