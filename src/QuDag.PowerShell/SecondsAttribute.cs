using System.Globalization;
using System.Management.Automation;

namespace QuDag.PowerShell;

/// <summary>
/// Lets an int *Seconds parameter also take a TimeSpan where it reads well (-TimeoutSeconds (New-TimeSpan -Minutes 2),
/// or '00:02:00'); a bare number stays seconds. Only whole seconds convert; anything else is left to the binder,
/// which then reports it.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SecondsAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc/>
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        TimeSpan? span = value switch
        {
            TimeSpan t => t,
            string s when s.Contains(':') && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };
        if (span is not { } whole)
            return inputData;
        if (whole.Ticks % TimeSpan.TicksPerSecond != 0 || whole.TotalSeconds > int.MaxValue)
            throw new ArgumentTransformationMetadataException($"{whole} is not a whole number of seconds.");
        return (int)whole.TotalSeconds;
    }
}
