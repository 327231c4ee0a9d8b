namespace QuDag.P2p.Resources;

/// <summary>
/// A reservation would pass a limit: the connection or stream is refused (or the stream reset). The message names
/// the scope and the limit, as kubo learned to (#9432: "system: cannot reserve inbound connection" told operators
/// nothing they could change).
/// </summary>
public sealed class ResourceLimitExceededException : P2pException
{
    public ResourceLimitExceededException(ResourceScopeKind scope, string scopeName, string resource, long inUse, long limit)
        : base(Describe(scope, scopeName, resource, inUse, limit))
    {
        Scope = scope;
        ScopeName = scopeName;
        Resource = resource;
        InUse = inUse;
        Limit = limit;
    }

    /// <summary>The kind of scope whose limit refused.</summary>
    public ResourceScopeKind Scope { get; }

    /// <summary>The peer id, protocol id or subnet; empty for the system and transient scopes.</summary>
    public string ScopeName { get; }

    /// <summary>What ran out: "inbound connections", "inbound streams", "bytes of memory", ...</summary>
    public string Resource { get; }

    /// <summary>How much was in use when the reservation came.</summary>
    public long InUse { get; }

    /// <summary>The limit it would have passed.</summary>
    public long Limit { get; }

    /// <summary>The scope in short: "system", "peer 12D3KooW...", "protocol /ipfs/ping/1.0.0", "subnet 10.0.0.7/32".</summary>
    public string ScopeLabel => string.IsNullOrEmpty(ScopeName) ? Lower(Scope) : $"{Lower(Scope)} {ScopeName}";

    /// <summary>"the protocol scope /ipfs/ping/1.0.0", "the system scope", ...</summary>
    public string ScopeText => ScopeTextOf(Scope, ScopeName);

    internal static string ScopeTextOf(ResourceScopeKind scope, string name) =>
        string.IsNullOrEmpty(name) ? $"the {Lower(scope)} scope" : $"the {Lower(scope)} scope {name}";

    private static string Lower(ResourceScopeKind scope) => scope.ToString().ToLowerInvariant();

    private static string Describe(ResourceScopeKind scope, string name, string resource, long inUse, long limit) =>
        scope == ResourceScopeKind.Process
            ? $"Resource limit: the process uses {inUse} bytes of memory, over its limit of {limit} (MaxProcessMemoryBytes); refused."
            : $"Resource limit: {ScopeTextOf(scope, name)} is at its limit of {limit} {resource} ({inUse} in use); refused.";
}
