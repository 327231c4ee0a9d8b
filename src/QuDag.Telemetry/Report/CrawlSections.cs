using QuDag.Network.Discovery;

namespace QuDag.Telemetry;

/// <summary>The report's crawl sections: the map, what the peers run, how they answered, and what changed.</summary>
internal sealed partial class ReportBuilder
{
    private void CrawlSections(IReadOnlyList<CrawlResult> crawl)
    {
        var peers = crawl.GroupBy(r => r.PeerId).Select(g => g.First()).ToList();
        Section("Network map", "network-map");
        _html.Append("<div class=\"cards\">\n");
        Card("Peers found", peers.Count.ToString(Invariant));
        Card("Dialable", peers.Count(p => p.Dialable).ToString(Invariant));
        Card("DHT servers / clients", $"{peers.Count(p => p.DhtMode == CrawlDhtMode.Server)} / {peers.Count(p => p.DhtMode == CrawlDhtMode.Client)}");
        Card("Routing-table entries", peers.Sum(p => p.Neighbours.Count).ToString(Invariant));
        if (peers.Count > 0)
            Card("Crawled", $"{peers.Min(p => p.CrawledAt).UtcDateTime.ToString("yyyy-MM-dd HH:mm", Invariant)} UTC");
        _html.Append("</div>\n");
        if (NetworkMap.Render(peers, options.MaxLabelsOnMap) is { } map)
        {
            _html.Append("<p class=\"note\">Each circle is a peer (<span class=\"key server\">DHT server</span>, <span class=\"key client\">client</span>, ")
                .Append("<span class=\"key unknown\">unknown</span>; a red ring: not dialable), each line a routing-table entry. Hover a peer for its id.</p>\n")
                .Append("<figure class=\"map\">").Append(map).Append("</figure>\n");
        }
        else
        {
            _html.Append("<p class=\"empty\">The crawl found no peer.</p>\n");
        }
        _html.Append("</section>\n");

        Section("What the peers run", "crawl-software");
        CountTable("Agent version", peers.Where(p => p.Dialable).GroupBy(p => p.AgentVersion ?? "(identify not answered)"));
        CountTable("Protocol", peers.SelectMany(p => p.Protocols.Distinct().Select(protocol => (protocol, p))).GroupBy(x => x.protocol, x => x.p));
        _html.Append("</section>\n");

        Section("DHT modes and dialability", "crawl-modes");
        CountTable("DHT mode", peers.GroupBy(p => p.DhtMode.ToString()));
        CountTable("Dial outcome", peers.GroupBy(p => p.Dialable ? "dialable" : p.Error.ToString()));
        _html.Append("</section>\n");

        Section("Crawled peers", "crawl-peers");
        CrawlPeerTable(peers);
        _html.Append("</section>\n");
    }

    private void CountTable<T>(string what, IEnumerable<IGrouping<string, T>> groups)
    {
        var rows = groups.Select(g => (Name: g.Key, Count: g.Count())).OrderByDescending(r => r.Count).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
        if (rows.Count == 0)
        {
            _html.Append("<p class=\"empty\">No ").Append(E(what.ToLowerInvariant())).Append(" was seen.</p>\n");
            return;
        }
        _html.Append("<table class=\"counts\">\n<thead><tr><th>").Append(E(what)).Append("</th><th>Peers</th></tr></thead>\n<tbody>\n");
        foreach (var (name, count) in rows)
            _html.Append("<tr><td>").Append(E(name)).Append("</td><td class=\"num\">").Append(count).Append("</td></tr>\n");
        _html.Append("</tbody>\n</table>\n");
    }

    private void CrawlPeerTable(List<CrawlResult> peers)
    {
        _html.Append("<table>\n<thead><tr><th>Peer</th><th>Address</th><th>DHT</th><th>Dial</th><th>Agent</th>")
            .Append("<th>Neighbours</th><th>Connect (ms)</th><th>Crawl (ms)</th></tr></thead>\n<tbody>\n");
        foreach (var p in peers.OrderByDescending(p => p.Dialable).ThenByDescending(p => p.Neighbours.Count).Take(options.MaxPeersInTable))
        {
            _html.Append("<tr><td><code title=\"").Append(E(p.PeerId.ToString())).Append("\">").Append(E(p.PeerId.ToShortString())).Append("</code></td>")
                .Append("<td>").Append(E(p.DialedAddress?.ToString() ?? "")).Append("</td>")
                .Append("<td>").Append(E(p.DhtMode.ToString())).Append("</td>")
                .Append("<td class=\"").Append(p.Dialable ? "status-connected\">dialable" : "status-failed\">" + E(p.Error.ToString())).Append("</td>")
                .Append("<td>").Append(E(p.AgentVersion ?? "")).Append("</td>")
                .Append("<td class=\"num\">").Append(p.Neighbours.Count).Append("</td>")
                .Append("<td class=\"num\">").Append(p.ConnectMs.ToString("0.#", Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(p.CrawlMs.ToString("0.#", Invariant)).Append("</td></tr>\n");
        }
        _html.Append("</tbody>\n</table>\n");
        if (peers.Count > options.MaxPeersInTable)
            _html.Append("<p class=\"note\">").Append(peers.Count - options.MaxPeersInTable).Append(" more peers are not listed.</p>\n");
    }

    private void CrawlChanges(IReadOnlyList<CrawlResult> previous, IReadOnlyList<CrawlResult> current)
    {
        Section("Changes since the previous crawl", "crawl-changes");
        var differences = CrawlComparison.Compare(previous, current);
        _html.Append("<div class=\"cards\">\n");
        foreach (var change in Enum.GetValues<CrawlChange>())
            Card(change.ToString(), differences.Count(d => d.Change == change).ToString(Invariant));
        _html.Append("</div>\n");
        if (differences.Count == 0)
        {
            _html.Append("<p class=\"empty\">The same peers answered at the same addresses.</p>\n</section>\n");
            return;
        }
        _html.Append("<table>\n<thead><tr><th>Change</th><th>Peer</th><th>Before</th><th>Address</th><th>Agent</th></tr></thead>\n<tbody>\n");
        foreach (var d in differences.OrderBy(d => d.Change).Take(options.MaxPeersInTable))
        {
            _html.Append("<tr><td>").Append(E(d.Change.ToString())).Append("</td>")
                .Append("<td><code title=\"").Append(E(d.PeerId.ToString())).Append("\">").Append(E(d.PeerId.ToShortString())).Append("</code></td>")
                .Append("<td>").Append(d.PreviousPeerId is { } before ? $"<code title=\"{E(before.ToString())}\">{E(before.ToShortString())}</code>" : "").Append("</td>")
                .Append("<td>").Append(E(d.Address?.ToString() ?? "")).Append("</td>")
                .Append("<td>").Append(E(d.AgentVersion ?? "")).Append("</td></tr>\n");
        }
        _html.Append("</tbody>\n</table>\n</section>\n");
    }
}
