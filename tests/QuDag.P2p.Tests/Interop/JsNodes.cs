using System.Text.Json;

namespace QuDag.P2p.Tests.Interop;

/// <summary>Helpers for tests that run several js nodes.</summary>
public static class JsNodes
{
    /// <summary>Starts the nodes concurrently; if any fails to start, disposes the others and rethrows.</summary>
    public static async Task<JsNode[]> StartAllAsync(IReadOnlyList<JsNodeOptions> options, CancellationToken ct)
    {
        Task<JsNode>[] starts = [.. options.Select(o => JsNode.StartAsync(o, ct))];
        try
        {
            return await Task.WhenAll(starts);
        }
        catch
        {
            await DisposeAllAsync(starts.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            throw;
        }
    }

    /// <summary>Disposes every node concurrently (each stops, then is killed if it lingers).</summary>
    public static async Task DisposeAllAsync(IEnumerable<JsNode> nodes) =>
        await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));

    /// <summary>The "peer" field of an event line, or null.</summary>
    public static string? PeerOf(JsonElement e) =>
        e.TryGetProperty("peer", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
