using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Reads or creates the identity file behind -IdentityPath, for New- and Set-QuDagSession.</summary>
internal static class SessionSettings
{
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
