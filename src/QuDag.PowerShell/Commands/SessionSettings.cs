using System.Management.Automation;
using System.Security;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>The settings New- and Set-QuDagSession share: the pool timeout check and the identity file.</summary>
internal static class SessionSettings
{
    /// <summary>Stops the command when <paramref name="poolTimeout"/> is negative.</summary>
    public static void CheckPoolTimeout(PSCmdlet cmdlet, TimeSpan? poolTimeout, string commandId)
    {
        if (poolTimeout < TimeSpan.Zero)
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(
                new ArgumentOutOfRangeException("PoolTimeout", poolTimeout, "PoolTimeout cannot be negative."),
                commandId + "InvalidPoolTimeout", ErrorCategory.InvalidArgument, poolTimeout));
        }
    }

    /// <summary>
    /// <paramref name="basis"/> with the resilience parameters the user gave, checked by the core's own validation so
    /// that a bad value stops the command with an InvalidArgument error instead of breaking the session later.
    /// </summary>
    public static ResilienceSettings Resilience(PSCmdlet cmdlet, ResilienceSettings basis, string commandId)
    {
        var bound = cmdlet.MyInvocation.BoundParameters;
        T Get<T>(string name, T current) => bound.TryGetValue(name, out var value) ? (T)LanguagePrimitives.ConvertTo(value, typeof(T)) : current;
        var settings = basis with
        {
            KeepAliveInterval = Get("KeepAliveInterval", basis.KeepAliveInterval),
            KeepAliveTimeout = Get("KeepAliveTimeout", basis.KeepAliveTimeout),
            AutoReconnect = Get("AutoReconnect", basis.AutoReconnect),
            CircuitBreakerThreshold = Get("CircuitBreakerThreshold", basis.CircuitBreakerThreshold),
            CircuitBreakerDuration = Get("CircuitBreakerDuration", basis.CircuitBreakerDuration),
        };
        try
        {
            settings.ToOptions().Validate();
        }
        catch (ArgumentException ex)
        {
            // Name the cmdlet's parameter, not the core's option.
            var parameter = ex.ParamName switch
            {
                nameof(ConnectionManagerOptions.CircuitBreakerFailureThreshold) => "CircuitBreakerThreshold",
                nameof(ConnectionManagerOptions.CircuitBreakerBreakDuration) => "CircuitBreakerDuration",
                var name => name,
            };
            var message = ex is ArgumentOutOfRangeException { ActualValue: var value }
                ? $"-{parameter} {value}: {ex.Message.Split(" (Parameter")[0].Replace(ex.ParamName ?? "", parameter, StringComparison.Ordinal)}"
                : ex.Message;
            cmdlet.ThrowTerminatingError(new ErrorRecord(new ArgumentException(message, parameter, ex), commandId + "InvalidSetting",
                ErrorCategory.InvalidArgument, parameter));
        }
        return settings;
    }

    /// <summary>The plain text of an optional password.</summary>
    public static string? Plain(SecureString? secure) =>
        secure is null ? null : new System.Net.NetworkCredential(string.Empty, secure).Password;

    /// <summary>Loads the identity at <paramref name="path"/>, or creates one there (owner-only) when the file does not exist.</summary>
    public static NodeIdentity LoadOrCreateIdentity(PSCmdlet cmdlet, string path, string? password, string commandId)
    {
        var full = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
        try
        {
            if (File.Exists(full))
                return NodeIdentity.Load(full, password);
            var identity = NodeIdentity.Create();
            identity.Save(full, password);
            return identity;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(ex, commandId + "InvalidIdentityFile",
                ex is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.InvalidData, full));
            throw; // unreachable: ThrowTerminatingError throws
        }
    }
}
