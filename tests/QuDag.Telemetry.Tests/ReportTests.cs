using System.Net;
using System.Text.RegularExpressions;
using QuDag.Network;
using SkiaSharp;

namespace QuDag.Telemetry.Tests;

/// <summary>The report is one self-contained page; headless Chromium (Debian's package) renders it with its charts drawn.</summary>
public sealed class ReportTests
{
    private static readonly string[] Titles =
        ["Peers", "Ping latency distribution", "Round-trip time by peer", "Connection pool", "Connection failures by reason",
         "Connection closes by reason", "Topics", "Recent connection events"];

    [Fact]
    public async Task The_report_is_self_contained_and_holds_every_section()
    {
        await using var scene = await Scene.BuildAsync();
        var html = QuDagTelemetry.RenderReport(scene.Node);

        foreach (var title in Titles)
            Assert.Contains($"<h2>{title}</h2>", html);
        // Nothing to fetch: no script, no stylesheet link, no image or font URL (SVG's xmlns is a name, not a fetch).
        Assert.DoesNotMatch(new Regex(@"<script|<link|<img|<iframe|@import|url\((?!#)", RegexOptions.IgnoreCase), html);
        // Ids are unique in the page, so each chart clips with its own paths.
        var ids = Regex.Matches(html, @"\bid=""([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=\s*""(https?:)?//", RegexOptions.IgnoreCase), html);
        Assert.Equal(5, Regex.Matches(html, "<svg").Count);
        foreach (var peer in scene.Peers)
            Assert.Contains(peer.ToShortString(), html);
        Assert.Contains("unreachable (outbound)", html); // the failed dial, by reason
        Assert.Contains("<td>local_disconnect</td>", html); // the closed peer's close, in the peer table and the events
        // The topic the node joined, with the message it published to its one subscribed peer.
        Assert.Matches(new Regex(@"<td><code>qudag/report</code></td><td>yes</td><td class=""num"">1</td><td class=""num"">1</td><td class=""num"">1</td>"), html);
    }

    [SkippableFact]
    public async Task Chromium_renders_the_report_with_its_charts_drawn()
    {
        var chromium = External.Require("chromium", "chromium");
        await using var scene = await Scene.BuildAsync();
        using var dir = new TempDir();
        var report = dir.File("report.html");
        QuDagTelemetry.WriteReport(scene.Node, report);

        var png = dir.File("report.png");
        await Chromium.ScreenshotAsync(chromium, report, png, dir.File("profile"), 1280, 2400);
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal(1280, bitmap.Width);
        // Each chart's fill colour covers a real area: the bars and lines were drawn, not just the axes.
        Assert.True(CountNear(bitmap, new SKColor(70, 130, 180)) > 2_000, "the latency histogram's bars (steel blue) are drawn");
        Assert.True(CountNear(bitmap, new SKColor(46, 139, 87)) > 2_000, "the pool chart's bars (sea green) are drawn");
        Assert.True(CountNear(bitmap, new SKColor(205, 92, 92)) > 500, "the failure chart's bar (indian red) is drawn");
        Assert.True(CountNear(bitmap, new SKColor(112, 128, 144)) > 500, "the close chart's bar (slate gray) is drawn");
        Assert.True(CountNear(bitmap, new SKColor(0x1f, 0x77, 0xb4)) + CountNear(bitmap, new SKColor(0xff, 0x7f, 0x0e)) > 200,
            "the RTT-over-time lines (the palette's first colours) are drawn");

        var (exit, dom, error) = await Chromium.DumpDomAsync(chromium, report, dir.File("profile"));
        Assert.True(exit == 0, $"chromium --dump-dom exited {exit}: {error}");
        foreach (var title in Titles)
            Assert.Contains(title, dom);
        Assert.Contains("<svg", dom);
    }

    internal static int CountNear(SKBitmap bitmap, SKColor color)
    {
        var count = 0;
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) + Math.Abs(p.Green - color.Green) + Math.Abs(p.Blue - color.Blue) < 24)
                    count++;
            }
        }
        return count;
    }

    /// <summary>A node with two pinged peers, a failed dial and a disconnect: something in every section.</summary>
    internal sealed class Scene : IAsyncDisposable
    {
        public const string ReportTopic = "qudag/report";

        private readonly List<IAsyncDisposable> _owned = [];

        public required ConnectionManager Node { get; init; }

        public List<PeerId> Peers { get; } = [];

        public static async Task<Scene> BuildAsync(int pings = 30)
        {
            var node = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 10, KeepAliveInterval = TimeSpan.Zero });
            var scene = new Scene { Node = node };
            scene._owned.Add(node);
            node.SubscribeTopic(ReportTopic);
            for (var i = 0; i < 2; i++)
            {
                var peer = new ConnectionManager(10);
                scene._owned.Add(peer);
                if (i == 0)
                    peer.SubscribeTopic(ReportTopic);
                var listener = await peer.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
                await node.ConnectAsync(peer.LocalPeerId, listener.LocalEndPoint);
                scene.Peers.Add(peer.LocalPeerId);
            }
            for (var i = 0; i < pings; i++)
            {
                foreach (var peer in scene.Peers)
                    await node.PingAsync(peer);
            }
            // One message on a topic the first peer also joined (its subscription arrives on its own stream).
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (node.GetTopic(ReportTopic)?.Subscribers.Count != 1 && DateTime.UtcNow < deadline)
                await Task.Delay(10);
            node.PublishTopic(ReportTopic, "report"u8.ToArray());
            await node.DisconnectAsync(scene.Peers[1]);
            var closedPeer = new ConnectionManager(10);
            scene._owned.Add(closedPeer);
            var closedListener = await closedPeer.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            await node.ConnectAsync(closedPeer.LocalPeerId, closedListener.LocalEndPoint);
            await node.DisconnectAsync(closedPeer.LocalPeerId, close: true); // a close, by reason
            scene.Peers.Add(closedPeer.LocalPeerId);
            using (var closed = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
            {
                closed.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, not listening: refuses
                PeerId nobody;
                using (var stranger = NodeIdentity.Create())
                    nobody = stranger.PeerId;
                await Assert.ThrowsAsync<PeerConnectException>(() => node.ConnectAsync(nobody, closed.LocalEndPoint!));
                scene.Peers.Add(nobody);
            }
            return scene;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var owned in _owned)
                await owned.DisposeAsync();
        }
    }
}
