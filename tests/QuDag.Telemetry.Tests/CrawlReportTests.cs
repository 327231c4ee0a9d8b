using System.Text.RegularExpressions;
using QuDag.Network;
using QuDag.Network.Discovery;
using SkiaSharp;

namespace QuDag.Telemetry.Tests;

/// <summary>
/// The report with a crawl: the network map (MSAGL's layout as inline SVG) shows every peer found and the routing-table
/// edges, with tables of agents, protocols, DHT modes, dialability and the changes since a previous crawl.
/// </summary>
public sealed class CrawlReportTests
{
    /// <summary>A crawl's results as a network of <paramref name="count"/> peers would give them: a tenth clients, a few undialable.</summary>
    internal static List<CrawlResult> Crawl(int count, int seed = 1)
    {
        var random = new Random(seed);
        var ids = Enumerable.Range(0, count).Select(_ => PeerId.FromPublicKey(NodeIdentity.Create().PublicKey)).ToArray();
        return ids.Select((id, i) =>
        {
            bool client = i % 10 == 9, dialable = i % 25 != 24;
            return new CrawlResult
            {
                PeerId = id,
                DialedAddress = Multiaddr.Parse($"/ip4/10.1.{i / 250}.{i % 250}/tcp/4001"),
                Dialable = dialable,
                Error = dialable ? CrawlError.None : CrawlError.Refused,
                AgentVersion = dialable ? (i % 3 == 0 ? "rust-libp2p/0.53.2" : "js-libp2p/3.3.11") : null,
                Protocols = dialable ? (client ? ["/ipfs/id/1.0.0"] : ["/ipfs/id/1.0.0", "/ipfs/kad/1.0.0"]) : [],
                DhtMode = !dialable ? CrawlDhtMode.Unknown : client ? CrawlDhtMode.Client : CrawlDhtMode.Server,
                Neighbours = dialable && !client ? [.. Enumerable.Range(0, 8).Select(_ => ids[random.Next(count)]).Where(n => n != id).Distinct()] : [],
                ConnectMs = 3.5,
                CrawlMs = 12,
                CrawledAt = DateTimeOffset.UtcNow,
            };
        }).ToList();
    }

    [Fact]
    public async Task The_report_maps_every_peer_of_a_crawl_and_tables_what_they_run_and_what_changed()
    {
        await using var node = new ConnectionManager(10);
        var crawl = Crawl(120);
        // Before: one peer more (gone now), and the first peer's address answered for another id.
        var previous = Crawl(2, seed: 2);
        previous[0] = previous[0] with { DialedAddress = crawl[0].DialedAddress };

        var html = QuDagTelemetry.RenderReport(node, new QuDagReportOptions { Crawl = crawl, PreviousCrawl = previous });

        foreach (var title in new[] { "Network map", "What the peers run", "DHT modes and dialability", "Crawled peers", "Changes since the previous crawl" })
            Assert.Contains($"<h2>{title}</h2>", html);
        var mapped = Regex.Matches(html, "data-peer=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(crawl.Select(r => r.PeerId.ToString()).Order(), mapped.Order());
        // One line per routing-table edge between crawled peers (a pair once, whichever side names it).
        int edges = crawl.SelectMany(r => r.Neighbours.Select(n => string.CompareOrdinal(r.PeerId.ToString(), n.ToString()) < 0 ? (r.PeerId, n) : (n, r.PeerId))).Distinct().Count();
        Assert.Equal(edges, Regex.Matches(html, "<line ").Count);
        Assert.Contains("rust-libp2p/0.53.2", html);
        Assert.Contains("/ipfs/kad/1.0.0", html);
        Assert.Contains("<td>Refused</td><td class=\"num\">4</td>", html);
        Assert.Contains("IdentityChanged", html);
        Assert.Contains(previous[0].PeerId.ToShortString(), html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void A_map_of_a_thousand_peers_draws_every_peer_and_no_labels()
    {
        var crawl = Crawl(1_000);
        var svg = NetworkMap.Render(crawl, maxLabels: 150);
        Assert.NotNull(svg);
        Assert.Equal(1_000, Regex.Matches(svg, "<circle ").Count);
        Assert.DoesNotContain("<text", svg); // past 150 peers the labels would be ink
        // How long the layout takes is a benchmark's question, not this test's: a wall-clock bound here failed under load.
    }

    [SkippableFact]
    public async Task Chromium_renders_the_map_with_every_peer_drawn()
    {
        var chromium = External.Require("chromium", "chromium");
        await using var node = new ConnectionManager(10);
        var crawl = Crawl(60);
        using var dir = new TempDir();
        var report = dir.File("crawl.html");
        QuDagTelemetry.WriteReport(node, report, new QuDagReportOptions { Crawl = crawl });

        var (exit, dom, error) = await Chromium.DumpDomAsync(chromium, report, dir.File("profile"));
        Assert.True(exit == 0, $"chromium --dump-dom exited {exit}: {error}");
        foreach (var peer in crawl)
            Assert.Contains($"data-peer=\"{peer.PeerId}\"", dom);

        var png = dir.File("crawl.png");
        await Chromium.ScreenshotAsync(chromium, report, png, dir.File("profile"), 1280, 1600);
        using var bitmap = SKBitmap.Decode(png);
        // The servers' blue (#0969da) and the clients' amber (#bf8700) discs are painted, not just present in the DOM.
        Assert.True(ReportTests.CountNear(bitmap, new SKColor(0x09, 0x69, 0xda)) > 40 * 60, "the servers' discs are drawn");
        Assert.True(ReportTests.CountNear(bitmap, new SKColor(0xbf, 0x87, 0x00)) > 3 * 60, "the clients' discs are drawn");
    }
}
