using System.Management.Automation;

namespace QuDag.PowerShell;

/// <summary>
/// For Connect-QuDagPeer's -PeerId: an object piped without a PeerId property (an Import-Csv row or a JSON object
/// that carries only an Address) would otherwise bind by value as its text, "@{Address=...}", after -Address bound
/// by name. Such an object names no peer id of its own: its Address (bound to -Address already) must name the peer.
/// Strings, and objects with a PeerId property, pass through unchanged.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PeerOrAddressAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc/>
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData) => inputData switch
    {
        object[] items => items.Where(i => !IsRowWithoutPeerId(i)).ToArray(),
        _ when IsRowWithoutPeerId(inputData) => Array.Empty<string>(),
        _ => inputData,
    };

    private static bool IsRowWithoutPeerId(object? item) =>
        item is PSObject { BaseObject: PSCustomObject } row && row.Properties["PeerId"] is null
        && (row.Properties["Address"] ?? row.Properties["Endpoint"]) is not null;
}
