using Google.Protobuf;

namespace QuDag.Telemetry.Tests;

/// <summary>
/// Decodes the few fields of an OTLP ExportMetricsServiceRequest the tests check, with Google.Protobuf's wire reader
/// (no package serves the OTLP message types). Field numbers from opentelemetry-proto, metrics/v1/metrics.proto,
/// common/v1/common.proto and resource/v1/resource.proto; every other field is skipped.
/// </summary>
internal static class OtlpReader
{
    public sealed record DataPoint(Dictionary<string, string> Attributes, double? Value, ulong? Count, double? Sum);

    public sealed record Metric(string Name, string Unit, string Kind, List<DataPoint> Points);

    public sealed record Export(Dictionary<string, string> Resource, List<Metric> Metrics);

    // ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
    public static List<Export> Read(byte[] body)
    {
        var exports = new List<Export>();
        ForEachField(body, (field, input) =>
        {
            if (field == 1)
                exports.Add(ReadResourceMetrics(input.ReadBytes()));
            else
                return false;
            return true;
        });
        return exports;
    }

    // ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
    // Resource { repeated KeyValue attributes = 1; }   ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
    private static Export ReadResourceMetrics(ByteString bytes)
    {
        var resource = new Dictionary<string, string>();
        var metrics = new List<Metric>();
        ForEachField(bytes, (field, input) =>
        {
            switch (field)
            {
                case 1:
                    ForEachField(input.ReadBytes(), (f, r) => { if (f != 1) return false; AddKeyValue(resource, r.ReadBytes()); return true; });
                    return true;
                case 2:
                    ForEachField(input.ReadBytes(), (f, r) => { if (f != 2) return false; metrics.Add(ReadMetric(r.ReadBytes())); return true; });
                    return true;
                default:
                    return false;
            }
        });
        return new Export(resource, metrics);
    }

    // Metric { string name = 1; string description = 2; string unit = 3; Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; }
    // Gauge, Sum and Histogram all keep their data points in field 1.
    private static Metric ReadMetric(ByteString bytes)
    {
        string name = "", unit = "", kind = "";
        var points = new List<DataPoint>();
        ForEachField(bytes, (field, input) =>
        {
            switch (field)
            {
                case 1: name = input.ReadString(); return true;
                case 3: unit = input.ReadString(); return true;
                case 5 or 7 or 9:
                    kind = field switch { 5 => "gauge", 7 => "sum", _ => "histogram" };
                    var histogram = field == 9;
                    ForEachField(input.ReadBytes(), (f, r) =>
                    {
                        if (f != 1) return false;
                        points.Add(histogram ? ReadHistogramPoint(r.ReadBytes()) : ReadNumberPoint(r.ReadBytes()));
                        return true;
                    });
                    return true;
                default:
                    return false;
            }
        });
        return new Metric(name, unit, kind, points);
    }

    // NumberDataPoint { fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; double as_double = 4; sfixed64 as_int = 6; repeated KeyValue attributes = 7; }
    private static DataPoint ReadNumberPoint(ByteString bytes)
    {
        var attributes = new Dictionary<string, string>();
        double? value = null;
        ForEachField(bytes, (field, input) =>
        {
            switch (field)
            {
                case 4: value = input.ReadDouble(); return true;
                case 6: value = input.ReadSFixed64(); return true;
                case 7: AddKeyValue(attributes, input.ReadBytes()); return true;
                default: return false;
            }
        });
        return new DataPoint(attributes, value, null, null);
    }

    // HistogramDataPoint { fixed64 count = 4; optional double sum = 5; repeated KeyValue attributes = 9; }
    private static DataPoint ReadHistogramPoint(ByteString bytes)
    {
        var attributes = new Dictionary<string, string>();
        ulong? count = null;
        double? sum = null;
        ForEachField(bytes, (field, input) =>
        {
            switch (field)
            {
                case 4: count = input.ReadFixed64(); return true;
                case 5: sum = input.ReadDouble(); return true;
                case 9: AddKeyValue(attributes, input.ReadBytes()); return true;
                default: return false;
            }
        });
        return new DataPoint(attributes, null, count, sum);
    }

    // KeyValue { string key = 1; AnyValue value = 2; }  AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
    private static void AddKeyValue(Dictionary<string, string> into, ByteString bytes)
    {
        string key = "", value = "";
        ForEachField(bytes, (field, input) =>
        {
            if (field == 1)
            {
                key = input.ReadString();
                return true;
            }
            if (field != 2)
                return false;
            ForEachField(input.ReadBytes(), (f, r) =>
            {
                switch (f)
                {
                    case 1: value = r.ReadString(); return true;
                    case 2: value = r.ReadBool() ? "true" : "false"; return true;
                    case 3: value = r.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture); return true;
                    case 4: value = r.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture); return true;
                    default: return false;
                }
            });
            return true;
        });
        into[key] = value;
    }

    /// <summary>Calls <paramref name="read"/> for each field; when it returns false (a field not needed), the field is skipped.</summary>
    private static void ForEachField(ByteString bytes, Func<int, CodedInputStream, bool> read) => ForEachField(bytes.ToByteArray(), read);

    private static void ForEachField(byte[] bytes, Func<int, CodedInputStream, bool> read)
    {
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (!read(WireFormat.GetTagFieldNumber(tag), input))
                input.SkipLastField();
        }
    }
}
