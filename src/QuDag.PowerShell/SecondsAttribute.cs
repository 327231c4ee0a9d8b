using System.Globalization;
using System.Management.Automation;

namespace QuDag.PowerShell;

/// <summary>
/// The one attribute of every int *Seconds parameter: it checks the range at binding, naming the valid range in the
/// message, and lets the parameter also take a TimeSpan where it reads well (-TimeoutSeconds (New-TimeSpan -Minutes 2),
/// or '00:02:00'); a bare number stays seconds. Only whole seconds convert; a value that is no number at all is left
/// to the binder, which then reports it.
/// </summary>
/// <remarks>
/// The bounds are real ones: a .NET timer (Task.Delay, CancelAfter) takes at most 2^32-2 ms, about 49.7 days, so no
/// bound here goes past <see cref="Month"/>; within that, each parameter gets what makes sense for it (a connect or a
/// ping within an hour, a request, a keepalive interval or a breaker's break within a day).
/// </remarks>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SecondsAttribute : ArgumentTransformationAttribute
{
    /// <summary>One hour: the bound of a single connect, ping or keepalive wait.</summary>
    public const int Hour = 3600;

    /// <summary>One day: the bound of a request, a keepalive interval, a breaker's open time.</summary>
    public const int Day = 86_400;

    /// <summary>30 days: the bound of waits that may be omitted to wait without end, and of the pool timeout.</summary>
    public const int Month = 30 * Day;

    /// <param name="minimum">The smallest value allowed (0 where 0 turns a feature off).</param>
    /// <param name="maximum">The largest value allowed.</param>
    public SecondsAttribute(int minimum, int maximum)
    {
        if (minimum < 0 || maximum < minimum || maximum > Month)
            throw new ArgumentOutOfRangeException(nameof(maximum), $"A seconds range must lie within 0..{Month}.");
        Minimum = minimum;
        Maximum = maximum;
    }

    /// <summary>The smallest value allowed.</summary>
    public int Minimum { get; }

    /// <summary>The largest value allowed.</summary>
    public int Maximum { get; }

    /// <inheritdoc/>
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        double seconds;
        switch (value)
        {
            case TimeSpan span:
                seconds = WholeSeconds(span);
                break;
            case string s when s.Contains(':') && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var parsed):
                seconds = WholeSeconds(parsed);
                break;
            default:
                // What the binder would make of it, so "5", 5L and 5.0 are checked the same way as 5.
                if (value is null || value is bool || !LanguagePrimitives.TryConvertTo(value, CultureInfo.InvariantCulture, out seconds))
                    return inputData;
                seconds = Math.Round(seconds, MidpointRounding.ToEven);
                break;
        }
        if (seconds < Minimum || seconds > Maximum)
            throw new ArgumentTransformationMetadataException($"{seconds.ToString(CultureInfo.InvariantCulture)} is out of range: give {Range}.");
        return (int)seconds;
    }

    /// <summary>"1 to 86400 seconds (1 day)".</summary>
    public string Range => $"{Minimum} to {Maximum} seconds ({Describe(Maximum)})";

    private static double WholeSeconds(TimeSpan span) =>
        span.Ticks % TimeSpan.TicksPerSecond == 0
            ? span.TotalSeconds
            : throw new ArgumentTransformationMetadataException($"{span} is not a whole number of seconds.");

    private static string Describe(int seconds) => seconds switch
    {
        _ when seconds % Day == 0 => seconds == Day ? "1 day" : $"{seconds / Day} days",
        _ when seconds % Hour == 0 => seconds == Hour ? "1 hour" : $"{seconds / Hour} hours",
        _ when seconds % 60 == 0 => $"{seconds / 60} minutes",
        _ => $"{seconds} seconds",
    };
}
