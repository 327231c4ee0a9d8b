using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>The settings New- and Set-QuDagSession share: parameters to <see cref="SessionConfig"/>, and the identity file.</summary>
internal static class SessionSettings
{
    // Parameter name -> core option name, for messages that name what the user typed.
    private static readonly Dictionary<string, string> s_parameterOf = new()
    {
        [nameof(ConnectionManagerOptions.MaxConnections)] = "MaxConnections",
        [nameof(ConnectionManagerOptions.PoolTimeout)] = "PoolTimeoutSeconds",
        [nameof(ConnectionManagerOptions.ConnectTimeout)] = "ConnectTimeoutSeconds",
        [nameof(ConnectionManagerOptions.KeepAliveInterval)] = "KeepAliveSeconds",
        [nameof(ConnectionManagerOptions.KeepAliveTimeout)] = "KeepAliveTimeoutSeconds",
        [nameof(ConnectionManagerOptions.CircuitBreakerFailureThreshold)] = "CircuitBreakerThreshold",
        [nameof(ConnectionManagerOptions.CircuitBreakerBreakDuration)] = "CircuitBreakerSeconds",
        [nameof(ConnectionManagerOptions.RequestTimeout)] = "RequestTimeoutSeconds",
        [nameof(ConnectionManagerOptions.DhtMode)] = "DhtMode",
        [nameof(ConnectionManagerOptions.DhtProtocolId)] = "DhtProtocol",
        ["ProtocolId"] = "DhtProtocol",
        [nameof(ConnectionManagerOptions.DhtBootstrap)] = "Bootstrap",
        ["HeartbeatInterval"] = "GossipHeartbeatSeconds",
        ["GraylistThreshold"] = "GraylistThreshold",
        ["AcceptPXThreshold"] = "AcceptPXThreshold",
        [nameof(ConnectionManagerOptions.LowWater)] = "LowWater",
        [nameof(ConnectionManagerOptions.HighWater)] = "HighWater",
        [nameof(ConnectionManagerOptions.GracePeriod)] = "GracePeriodSeconds",
    };

    /// <summary>
    /// <paramref name="basis"/> with the settings the user gave, checked by the core's own validation so that a bad
    /// combination stops the command with an InvalidArgument error instead of breaking the session later.
    /// </summary>
    public static SessionConfig Merge(PSCmdlet cmdlet, SessionConfig basis, string commandId)
    {
        var bound = cmdlet.MyInvocation.BoundParameters;
        TimeSpan Seconds(string name, TimeSpan current) => bound.TryGetValue(name, out var v) ? TimeSpan.FromSeconds(Convert.ToInt32(v)) : current;
        double Number(string name, double current) => bound.TryGetValue(name, out var v) ? Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture) : current;
        var config = basis with
        {
            MaxConnections = bound.TryGetValue("MaxConnections", out var max) ? Convert.ToInt32(max) : basis.MaxConnections,
            PoolTimeout = Seconds("PoolTimeoutSeconds", basis.PoolTimeout),
            ConnectTimeout = Seconds("ConnectTimeoutSeconds", basis.ConnectTimeout),
            KeepAliveInterval = Seconds("KeepAliveSeconds", basis.KeepAliveInterval),
            KeepAliveTimeout = Seconds("KeepAliveTimeoutSeconds", basis.KeepAliveTimeout),
            AutoReconnect = bound.TryGetValue("AutoReconnect", out var auto) ? ((SwitchParameter)auto).IsPresent : basis.AutoReconnect,
            CircuitBreakerThreshold = bound.TryGetValue("CircuitBreakerThreshold", out var threshold) ? Convert.ToInt32(threshold) : basis.CircuitBreakerThreshold,
            CircuitBreakerDuration = Seconds("CircuitBreakerSeconds", basis.CircuitBreakerDuration),
            RequestTimeout = Seconds("RequestTimeoutSeconds", basis.RequestTimeout),
            DhtMode = bound.TryGetValue("DhtMode", out var mode) ? Enum.Parse<P2p.Protocols.Kad.KadMode>((string)mode, ignoreCase: true) : basis.DhtMode,
            DhtProtocol = bound.TryGetValue("DhtProtocol", out var protocol) ? (string)protocol : basis.DhtProtocol,
            Bootstrap = bound.TryGetValue("Bootstrap", out var bootstrap) ? ParseBootstrap(cmdlet, (string[])bootstrap, commandId) : basis.Bootstrap,
            GossipHeartbeat = Seconds("GossipHeartbeatSeconds", basis.GossipHeartbeat),
            GossipMessageId = bound.TryGetValue("GossipMessageId", out var messageId) ? Canonical((string)messageId) : basis.GossipMessageId,
            GossipThresholds = basis.GossipThresholds with
            {
                GossipThreshold = Number("GossipThreshold", basis.GossipThresholds.GossipThreshold),
                PublishThreshold = Number("PublishThreshold", basis.GossipThresholds.PublishThreshold),
                GraylistThreshold = Number("GraylistThreshold", basis.GossipThresholds.GraylistThreshold),
                AcceptPXThreshold = Number("AcceptPXThreshold", basis.GossipThresholds.AcceptPXThreshold),
                OpportunisticGraftThreshold = Number("OpportunisticGraftThreshold", basis.GossipThresholds.OpportunisticGraftThreshold),
            },
            GossipPeerExchange = bound.TryGetValue("GossipPeerExchange", out var px) ? ((SwitchParameter)px).IsPresent : basis.GossipPeerExchange,
            TrustedGossipPeers = bound.TryGetValue("TrustedGossipPeer", out var trusted) ? ParsePeerIds(cmdlet, (string[])trusted, commandId) : basis.TrustedGossipPeers,
            LowWater = bound.TryGetValue("LowWater", out var low) ? Convert.ToInt32(low) : basis.LowWater,
            HighWater = bound.TryGetValue("HighWater", out var high) ? Convert.ToInt32(high) : basis.HighWater,
            GracePeriod = Seconds("GracePeriodSeconds", basis.GracePeriod),
        };
        try
        {
            config.ToOptions().Validate();
        }
        catch (ArgumentException ex)
        {
            var parameter = ex.ParamName is { } name && s_parameterOf.TryGetValue(name, out var p) ? p : ex.ParamName ?? "settings";
            var reason = Errors.Message(ex) ?? ex.Message;
            if (ex.ParamName is { } option)
                reason = reason.Replace(option, parameter, StringComparison.Ordinal);
            var value = bound.TryGetValue(parameter, out var given) ? $" {given}" : "";
            cmdlet.ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-{parameter}{value}: {reason.Split(Environment.NewLine)[0]}", ex),
                commandId + "InvalidSetting", ErrorCategory.InvalidArgument, parameter));
        }
        return config;
    }

    /// <summary>"rust", "JS" and so on as the session shows them: Rust, Js, Go.</summary>
    private static string Canonical(string messageId) => char.ToUpperInvariant(messageId[0]) + messageId[1..].ToLowerInvariant();

    /// <summary>Peer ids (or multiaddrs ending in /p2p/&lt;id&gt;); a bad one stops the command with InvalidArgument.</summary>
    private static PeerId[] ParsePeerIds(PSCmdlet cmdlet, string[] texts, string commandId)
    {
        var list = new List<PeerId>();
        foreach (var text in texts)
        {
            if (PeerId.TryParse(text, out var id, out _))
                list.Add(id);
            else if (Multiaddr.TryParse(text, out var address, out _) && address.PeerId is { } named)
                list.Add(named);
            else
                cmdlet.ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-TrustedGossipPeer {text}: not a peer id (12D3KooW...) or a multiaddr ending in /p2p/<peer id>"),
                    commandId + "InvalidSetting", ErrorCategory.InvalidArgument, "TrustedGossipPeer"));
        }
        return list.Distinct().ToArray();
    }

    /// <summary>Bootstrap multiaddrs, each ending in /p2p/&lt;id&gt;; a bad one stops the command with InvalidArgument.</summary>
    private static Multiaddr[] ParseBootstrap(PSCmdlet cmdlet, string[] texts, string commandId)
    {
        var list = new List<Multiaddr>();
        foreach (var text in texts)
        {
            string? problem = null;
            if (!Multiaddr.TryParse(text, out var address, out var error))
                problem = error;
            else if (address.PeerId is null)
                problem = "it must end in /p2p/<peer id>";
            if (problem is not null)
                cmdlet.ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-Bootstrap {text}: {problem}"),
                    commandId + "InvalidSetting", ErrorCategory.InvalidArgument, "Bootstrap"));
            list.Add(address!);
        }
        return list.ToArray();
    }

    /// <summary>
    /// Loads the node key at <paramref name="path"/> (the libp2p protobuf private key, as rust-libp2p writes it), or
    /// creates one there (owner-only) when the file does not exist. A file group or others may read is refused
    /// unless <paramref name="force"/>, as ssh refuses such a key.
    /// </summary>
    public static NodeIdentity LoadOrCreateIdentity(PSCmdlet cmdlet, string path, bool force, string commandId)
    {
        var full = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
        string? problem = null;
        var category = ErrorCategory.InvalidData;
        var id = "InvalidIdentityFile";
        try
        {
            if (!File.Exists(full))
            {
                // A missing folder is not created for the user (a typo would scatter key files): say which folder.
                if (Path.GetDirectoryName(full) is { Length: > 0 } folder && !Directory.Exists(folder))
                    throw new DirectoryNotFoundException(folder);
                var created = NodeIdentity.Create();
                created.Save(full);
                return created;
            }
            return NodeIdentity.Load(full, allowInsecurePermissions: force);
        }
        catch (DirectoryNotFoundException)
        {
            var folder = Path.GetDirectoryName(full) ?? full;
            cmdlet.ThrowTerminatingError(new ErrorRecord(new ItemNotFoundException(
                    $"Cannot create the identity file '{full}': the folder '{folder}' does not exist. Create it first (New-Item -ItemType Directory '{folder}'), or give a path in an existing folder."),
                commandId + "IdentityFolderNotFound", ErrorCategory.ObjectNotFound, folder));
        }
        catch (InvalidIdentityFileException ex) when (ex.Message.Contains("chmod", StringComparison.Ordinal))
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(new UnauthorizedAccessException(
                    $"{ex.Message} (or pass -Force to use it anyway)"),
                commandId + "IdentityFilePermissions", ErrorCategory.PermissionDenied, full));
        }
        catch (InvalidIdentityFileException ex)
        {
            problem = ex.Message;
        }
        catch (UnauthorizedAccessException ex)
        {
            problem = $"access denied ({ex.Message})";
            category = ErrorCategory.PermissionDenied;
        }
        catch (IOException ex)
        {
            problem = ex.Message;
        }
        cmdlet.ThrowTerminatingError(new ErrorRecord(new InvalidDataException($"Cannot use the identity file '{full}': {problem?.TrimEnd('.')}."),
            commandId + id, category, full));
        throw new InvalidOperationException(); // unreachable: ThrowTerminatingError throws
    }
}
