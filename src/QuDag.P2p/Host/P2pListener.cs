using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Host;

/// <summary>A TCP listener whose accepted sockets the host upgrades. Dispose it to stop accepting.</summary>
public sealed class P2pListener : IAsyncDisposable
{
    private readonly Func<P2pListener, ValueTask> _onDispose;
    private int _disposed;
    private long _accepted;
    private long _refused;

    internal P2pListener(IPEndPoint localEndPoint, PeerId peerId, Func<P2pListener, ValueTask> onDispose)
    {
        LocalEndPoint = localEndPoint;
        _onDispose = onDispose;
        Addresses = ExpandAddresses(localEndPoint).Select(a => a.WithPeerId(peerId)).ToArray();
    }

    /// <summary>The bound address and port (port 0 resolved to the one the system picked).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The multiaddrs a remote dials to reach this listener, each ending in /p2p/&lt;id&gt;.</summary>
    public IReadOnlyList<Multiaddr> Addresses { get; }

    /// <summary>TCP connections accepted so far (before their upgrade).</summary>
    public long AcceptedCount => Interlocked.Read(ref _accepted);

    internal void CountAccepted() => Interlocked.Increment(ref _accepted);

    /// <summary>Accepted sockets closed before their handshake because a limit refused them: their subnet's share of
    /// upgrades in progress, its count or rate, the transient or the system scope, the process memory bound.</summary>
    public long RefusedCount => Interlocked.Read(ref _refused);

    internal void CountRefused() => Interlocked.Increment(ref _refused);

    /// <summary>Stops accepting; connections already accepted stay open.</summary>
    public ValueTask DisposeAsync()
        => Interlocked.Exchange(ref _disposed, 1) == 0 ? _onDispose(this) : ValueTask.CompletedTask;

    /// <summary>A wildcard bind is reachable at every local address of its family.</summary>
    internal static IEnumerable<Multiaddr> ExpandAddresses(IPEndPoint bound)
    {
        if (!bound.Address.Equals(IPAddress.Any) && !bound.Address.Equals(IPAddress.IPv6Any))
            return [Multiaddr.FromEndPoint(bound)];
        var family = bound.Address.AddressFamily;
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == family || (family == AddressFamily.InterNetworkV6 && a.AddressFamily == AddressFamily.InterNetwork))
            .Where(a => !a.IsIPv6LinkLocal)
            .Distinct()
            .Select(a => Multiaddr.FromEndPoint(new IPEndPoint(a, bound.Port)))
            .ToArray();
        return addresses.Length > 0 ? addresses : [Multiaddr.FromEndPoint(bound)];
    }

    public override string ToString() => string.Join(", ", Addresses);
}
