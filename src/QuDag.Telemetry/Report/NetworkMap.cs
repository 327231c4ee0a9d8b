using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Msagl.Core.Geometry;
using Microsoft.Msagl.Core.Geometry.Curves;
using Microsoft.Msagl.Core.Layout;
using Microsoft.Msagl.Core.Routing;
using Microsoft.Msagl.Layout.MDS;
using Microsoft.Msagl.Miscellaneous;
using QuDag.Network.Discovery;

namespace QuDag.Telemetry;

/// <summary>
/// Draws a crawl as a graph: one circle per peer found, one line per routing-table edge (a and b joined when either
/// names the other), placed by Microsoft's Automatic Graph Layout (MSAGL, managed, 1.6 MB, no native parts) with its
/// pivot MDS layout, which stays near-linear for thousands of peers, and written as inline SVG by hand so the page
/// needs no script. Colours say the DHT mode; a red ring says the peer could not be dialed.
/// </summary>
internal static class NetworkMap
{
    private const double Radius = 7, Margin = 24;
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The map's SVG, or null for an empty crawl. Peers are labelled (short ids) up to <paramref name="maxLabels"/>.</summary>
    public static string? Render(IReadOnlyList<CrawlResult> crawl, int maxLabels)
    {
        var peers = crawl.GroupBy(r => r.PeerId).Select(g => g.First()).ToList();
        if (peers.Count == 0)
            return null;
        var graph = new GeometryGraph();
        var nodes = new Dictionary<PeerId, Node>();
        foreach (var peer in peers)
        {
            var node = new Node(CurveFactory.CreateCircle(Radius, new Point()), peer.PeerId);
            nodes[peer.PeerId] = node;
            graph.Nodes.Add(node);
        }
        var edges = Edges(peers, nodes);
        foreach (var (a, b) in edges)
            graph.Edges.Add(new Edge(nodes[a], nodes[b]));
        var settings = new MdsLayoutSettings
        {
            RemoveOverlaps = true,
            NodeSeparation = Radius * 2,
            // Lines are drawn centre to centre below; routing splines around thousands of nodes would only cost time.
            EdgeRoutingSettings = { EdgeRoutingMode = EdgeRoutingMode.None },
        };
        LayoutHelpers.CalculateLayout(graph, settings, null);

        var box = graph.BoundingBox;
        double width = box.Width + 2 * Margin, height = box.Height + 2 * Margin;
        string X(Point p) => (p.X - box.Left + Margin).ToString("0.#", Invariant);
        string Y(Point p) => (box.Top - p.Y + Margin).ToString("0.#", Invariant); // MSAGL's y grows upwards, SVG's down

        var svg = new StringBuilder();
        svg.Append("<svg class=\"network-map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ")
            .Append(width.ToString("0", Invariant)).Append(' ').Append(height.ToString("0", Invariant))
            .Append("\" width=\"").Append(Math.Min(width, 1100).ToString("0", Invariant)).Append("\" role=\"img\" aria-label=\"")
            .Append(peers.Count).Append(" peers, ").Append(edges.Count).Append(" routing-table edges\">\n<g class=\"edges\">\n");
        foreach (var (a, b) in edges)
        {
            Point p = nodes[a].Center, q = nodes[b].Center;
            svg.Append("<line x1=\"").Append(X(p)).Append("\" y1=\"").Append(Y(p)).Append("\" x2=\"").Append(X(q)).Append("\" y2=\"").Append(Y(q)).Append("\"/>\n");
        }
        svg.Append("</g>\n<g class=\"peers\">\n");
        bool labels = peers.Count <= maxLabels;
        foreach (var peer in peers)
        {
            var c = nodes[peer.PeerId].Center;
            string mode = peer.DhtMode.ToString().ToLowerInvariant();
            svg.Append("<circle class=\"").Append(mode).Append(peer.Dialable ? "" : " undialable").Append("\" data-peer=\"").Append(peer.PeerId)
                .Append("\" cx=\"").Append(X(c)).Append("\" cy=\"").Append(Y(c)).Append("\" r=\"").Append(Radius.ToString(Invariant)).Append("\"><title>")
                .Append(E($"{peer.PeerId} · {peer.DhtMode} · {(peer.Dialable ? "dialable" : peer.Error.ToString())} · {peer.AgentVersion} · {peer.Neighbours.Count} neighbours"))
                .Append("</title></circle>\n");
            if (labels)
            {
                svg.Append("<text x=\"").Append(X(c)).Append("\" y=\"").Append((box.Top - c.Y + Margin - Radius - 3).ToString("0.#", Invariant))
                    .Append("\">").Append(E(peer.PeerId.ToShortString())).Append("</text>\n");
            }
        }
        svg.Append("</g>\n</svg>");
        return svg.ToString();
    }

    /// <summary>Routing-table edges between peers of the crawl, each pair once.</summary>
    private static List<(PeerId, PeerId)> Edges(List<CrawlResult> peers, Dictionary<PeerId, Node> nodes)
    {
        var seen = new HashSet<(PeerId, PeerId)>();
        var edges = new List<(PeerId, PeerId)>();
        foreach (var peer in peers)
        {
            foreach (var neighbour in peer.Neighbours)
            {
                if (neighbour == peer.PeerId || !nodes.ContainsKey(neighbour))
                    continue;
                var key = string.CompareOrdinal(peer.PeerId.ToString(), neighbour.ToString()) < 0 ? (peer.PeerId, neighbour) : (neighbour, peer.PeerId);
                if (seen.Add(key))
                    edges.Add(key);
            }
        }
        return edges;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
