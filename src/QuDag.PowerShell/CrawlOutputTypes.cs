using System.Collections.ObjectModel;
using System.Globalization;
using QuDag.Network.Discovery;

namespace QuDag.PowerShell;

/// <summary>
/// A list of strings (addresses, protocols, peer ids) that stays whole in every export: ConvertTo-Json and
/// Export-Clixml write it as a list, and Export-Csv, which writes a value's text, gets the items joined by ';'
/// (nothing in a multiaddr, a protocol id or a peer id contains one) rather than "System.String[]".
/// </summary>
public sealed class QuDagList : ReadOnlyCollection<string>
{
    /// <summary>The separator Export-Csv's text uses.</summary>
    public const char Separator = ';';

    internal QuDagList(IEnumerable<string> items) : base([.. items])
    {
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(Separator, this);
}

/// <summary>One peer as Invoke-QuDagCrawl found it: what Compare-QuDagCrawl and Export-QuDagReport -Crawl read back.</summary>
public sealed class QuDagCrawlResult
{
    internal QuDagCrawlResult(CrawlResult result)
    {
        PeerId = result.PeerId.ToString();
        ShortId = result.PeerId.ToShortString();
        Address = result.DialedAddress?.WithPeerId(result.PeerId).ToString();
        Addresses = new QuDagList(result.Addresses.Select(a => a.WithPeerId(result.PeerId).ToString()));
        Dialable = result.Dialable;
        Error = result.Error.ToString();
        ErrorMessage = result.ErrorMessage;
        AnsweredBy = result.AnsweredBy?.ToString();
        AgentVersion = result.AgentVersion;
        ProtocolVersion = result.ProtocolVersion;
        Protocols = new QuDagList(result.Protocols);
        DhtMode = result.DhtMode.ToString();
        Neighbours = new QuDagList(result.Neighbours.Select(n => n.ToString()));
        NeighbourCount = result.Neighbours.Count;
        RoutingTableComplete = result.RoutingTableComplete;
        Requests = result.Requests;
        ConnectMs = Math.Round(result.ConnectMs, 3);
        CrawlMs = Math.Round(result.CrawlMs, 3);
        CrawledAt = result.CrawledAt;
    }

    /// <summary>The full peer id.</summary>
    public string PeerId { get; }

    /// <summary>The short form tables show (12*Wn8fj).</summary>
    public string ShortId { get; }

    /// <summary>The address that answered (or the last one tried), ending in /p2p/&lt;id&gt;: what Connect-QuDagPeer -Address takes.</summary>
    public string? Address { get; }

    /// <summary>Every address known for the peer (from routing tables and its identify), each ending in /p2p/&lt;id&gt;.</summary>
    public QuDagList Addresses { get; }

    /// <summary>True when a connection was made and secured.</summary>
    public bool Dialable { get; }

    /// <summary>None, Refused, Unreachable, Timeout, IdentityMismatch, HandshakeFailed, ProtocolError, Closed, NoDialableAddress or Other.</summary>
    public string Error { get; }

    /// <summary>The error's own words.</summary>
    public string? ErrorMessage { get; }

    /// <summary>For IdentityMismatch: the peer that answered at the address instead (a restarted node's new id).</summary>
    public string? AnsweredBy { get; }

    /// <summary>The peer's software, as its identify said.</summary>
    public string? AgentVersion { get; }

    /// <summary>The peer's network, as its identify said (/qudag/1.0.0).</summary>
    public string? ProtocolVersion { get; }

    /// <summary>The protocols the peer serves, as its identify said.</summary>
    public QuDagList Protocols { get; }

    /// <summary>Server (serves the DHT: its table was read), Client (does not), or Unknown (not dialed).</summary>
    public string DhtMode { get; }

    /// <summary>The peer ids in its routing table.</summary>
    public QuDagList Neighbours { get; }

    /// <summary>How many peers its routing table holds.</summary>
    public int NeighbourCount { get; }

    /// <summary>True when the whole table was read.</summary>
    public bool RoutingTableComplete { get; }

    /// <summary>FIND_NODE requests it took.</summary>
    public int Requests { get; }

    /// <summary>The successful dial (TCP, security, muxer), in milliseconds; 0 when none succeeded.</summary>
    public double ConnectMs { get; }

    /// <summary>The whole visit, in milliseconds.</summary>
    public double CrawlMs { get; }

    /// <summary>When the visit started.</summary>
    public DateTimeOffset CrawledAt { get; }

    /// <inheritdoc/>
    public override string ToString() => PeerId;
}

/// <summary>One difference between two crawls, as Compare-QuDagCrawl writes it.</summary>
public sealed class QuDagCrawlDifference
{
    internal QuDagCrawlDifference(CrawlDifference difference)
    {
        Change = difference.Change.ToString();
        PeerId = difference.PeerId.ToString();
        PreviousPeerId = difference.PreviousPeerId?.ToString();
        Address = difference.Address?.ToString();
        AgentVersion = difference.AgentVersion;
    }

    /// <summary>New, Gone or IdentityChanged.</summary>
    public string Change { get; }

    /// <summary>The peer now (for Gone, the peer that went).</summary>
    public string PeerId { get; }

    /// <summary>For IdentityChanged: the peer that answered at the address before.</summary>
    public string? PreviousPeerId { get; }

    /// <summary>The address concerned, without /p2p.</summary>
    public string? Address { get; }

    /// <summary>The peer's software, as its identify said.</summary>
    public string? AgentVersion { get; }
}

/// <summary>
/// Reads crawl results back into the core's form from whatever carries them: Invoke-QuDagCrawl's own objects, or what
/// Import-Csv, ConvertFrom-Json and Import-Clixml make of them (text, arrays, lists, deserialized objects).
/// </summary>
internal static class CrawlRecords
{
    /// <summary>Every record that reads as a crawl result; each one that does not is reported (id <paramref name="errorId"/>, InvalidData) and left out.</summary>
    public static List<CrawlResult> ReadAll(IEnumerable<System.Management.Automation.PSObject> items, string errorId,
        Action<System.Management.Automation.ErrorRecord> writeError)
    {
        var results = new List<CrawlResult>();
        foreach (var item in items)
        {
            if (TryRead(item, out var problem) is { } result)
                results.Add(result);
            else
                writeError(new(new FormatException(problem), errorId, System.Management.Automation.ErrorCategory.InvalidData, item));
        }
        return results;
    }

    public static CrawlResult? TryRead(object? item, out string? problem)
    {
        problem = null;
        if (item is null)
        {
            problem = "A crawl result cannot be null.";
            return null;
        }
        // Our own objects and imported ones alike are read by property name.
        var o = System.Management.Automation.PSObject.AsPSObject(item);
        if (!QuDag.P2p.Identity.PeerId.TryParse(Text(o, "PeerId"), out var peer))
        {
            problem = $"'{Text(o, "PeerId")}' is not a peer id: a crawl result needs a PeerId property.";
            return null;
        }
        return new CrawlResult
        {
            PeerId = peer,
            DialedAddress = Address(Text(o, "Address")),
            Addresses = [.. List(o, "Addresses").Select(Address).OfType<Multiaddr>()],
            Dialable = Bool(Text(o, "Dialable")),
            Error = Enum.TryParse<CrawlError>(Text(o, "Error"), ignoreCase: true, out var error) ? error : CrawlError.None,
            ErrorMessage = Text(o, "ErrorMessage"),
            AnsweredBy = QuDag.P2p.Identity.PeerId.TryParse(Text(o, "AnsweredBy"), out var answered) ? answered : null,
            AgentVersion = Text(o, "AgentVersion"),
            ProtocolVersion = Text(o, "ProtocolVersion"),
            Protocols = List(o, "Protocols"),
            DhtMode = Enum.TryParse<CrawlDhtMode>(Text(o, "DhtMode"), ignoreCase: true, out var mode) ? mode : CrawlDhtMode.Unknown,
            Neighbours = [.. List(o, "Neighbours").Select(n => QuDag.P2p.Identity.PeerId.TryParse(n, out var id) ? id : (PeerId?)null).OfType<PeerId>()],
            RoutingTableComplete = Bool(Text(o, "RoutingTableComplete")),
            Requests = int.TryParse(Text(o, "Requests"), CultureInfo.InvariantCulture, out var requests) ? requests : 0,
            ConnectMs = Number(Text(o, "ConnectMs")),
            CrawlMs = Number(Text(o, "CrawlMs")),
            CrawledAt = DateTimeOffset.TryParse(Text(o, "CrawledAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : default,
        };
    }

    private static object? Raw(System.Management.Automation.PSObject o, string name)
    {
        var value = o.Properties[name]?.Value;
        return value is System.Management.Automation.PSObject p ? p.BaseObject : value;
    }

    private static string? Text(System.Management.Automation.PSObject o, string name) => Raw(o, name) switch
    {
        null => null,
        DateTimeOffset at => at.ToString("o", CultureInfo.InvariantCulture),
        DateTime at => at.ToString("o", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var v => v.ToString() is { Length: > 0 } s ? s : null,
    };

    /// <summary>A list as any export leaves it: a collection, or Export-Csv's text joined by ';'.</summary>
    private static string[] List(System.Management.Automation.PSObject o, string name) => Raw(o, name) switch
    {
        null => [],
        string s => s.Split([QuDagList.Separator, ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        System.Collections.IEnumerable items => [.. items.Cast<object?>().Select(i => (i is System.Management.Automation.PSObject p ? p.BaseObject : i)?.ToString()).OfType<string>()],
        var v => [v.ToString()!],
    };

    private static Multiaddr? Address(string? text) =>
        text is not null && Multiaddr.TryParse(text, out var address, out _) ? address.WithoutPeerId() : null;

    private static bool Bool(string? text) => bool.TryParse(text, out var b) && b;

    private static double Number(string? text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : 0;
}
