using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using QuDag.Host;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Group 6: peers piped into Connect-QuDagPeer in the hosted engine, against the script an operator would
/// write without the module (TcpClient + SslStream per peer, one by one). Both keep their connections open.
/// </summary>
internal static class CmdletPipeline
{
    private const string ScriptWay = """
        $key = [Security.Cryptography.ECDsa]::Create([Security.Cryptography.ECCurve+NamedCurves]::nistP256)
        $request = [Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=script', $key, [Security.Cryptography.HashAlgorithmName]::SHA256)
        $cert = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(1))
        $opened = [Collections.Generic.List[object]]::new()
        foreach ($row in $rows) {
            $address, $port = $row.Endpoint -split ':'
            $tcp = [Net.Sockets.TcpClient]::new()
            $tcp.Connect($address, [int]$port)
            $ssl = [Net.Security.SslStream]::new($tcp.GetStream(), $false, { $true })
            $certs = [Security.Cryptography.X509Certificates.X509CertificateCollection]::new()
            $null = $certs.Add($cert)
            $ssl.AuthenticateAsClient('qudag', $certs, [Security.Authentication.SslProtocols]::Tls13, $false)
            $opened.Add($ssl)
        }
        $opened
        """;

    public static int Run(int count)
    {
        var nodes = Enumerable.Range(0, count).Select(_ => new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 4 })).ToArray();
        var rows = nodes.Select(n =>
        {
            var listener = n.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0)).Result;
            var row = new PSObject();
            row.Properties.Add(new PSNoteProperty("PeerId", n.LocalPeerId.ToString()));
            row.Properties.Add(new PSNoteProperty("Endpoint", listener.LocalEndPoint.ToString()));
            return row;
        }).ToArray();
        using var runspace = QuDagRunspace.Open(new TextHost(TextWriter.Null, Console.Error));
        runspace.SessionStateProxy.SetVariable("rows", rows);
        try
        {
            // The session exists before timing starts; the default limit of 100 is too small for this run.
            Invoke(runspace, $"$s = New-QuDagSession -MaxConnections {count}");
            var cmdlet = Time(runspace, "$rows | Connect-QuDagPeer -Session $s -ThrottleLimit 64");
            var connected = (int)Invoke(runspace, "(Get-QuDagMetrics -Session $s).Connections")[0].BaseObject;
            var script = Time(runspace, "$script:held = & { " + ScriptWay + " }");
            var held = (int)Invoke(runspace, "$script:held.Count")[0].BaseObject;
            Console.WriteLine($"peers={count} cores={Environment.ProcessorCount}");
            Console.WriteLine($"Connect-QuDagPeer pipeline : {cmdlet.TotalSeconds:0.000} s ({connected} connected, {count / cmdlet.TotalSeconds:0} peers/s)");
            Console.WriteLine($"TcpClient+SslStream script : {script.TotalSeconds:0.000} s ({held} connected, {count / script.TotalSeconds:0} peers/s)");
            Console.WriteLine($"speed-up = {script / cmdlet:0.00}x");
            Invoke(runspace, "$script:held | ForEach-Object { $_.Dispose() }");
            return connected == count && held == count ? 0 : 1;
        }
        finally
        {
            foreach (var node in nodes)
                node.DisposeAsync().AsTask().Wait();
        }
    }

    private static TimeSpan Time(System.Management.Automation.Runspaces.Runspace runspace, string script)
    {
        var watch = Stopwatch.StartNew();
        Invoke(runspace, script);
        return watch.Elapsed;
    }

    private static System.Collections.ObjectModel.Collection<PSObject> Invoke(System.Management.Automation.Runspaces.Runspace runspace, string script)
    {
        using var ps = System.Management.Automation.PowerShell.Create(runspace);
        var output = ps.AddScript(script).Invoke();
        if (ps.Streams.Error.Count > 0)
            throw new InvalidOperationException(string.Join("\n", ps.Streams.Error.Take(3)));
        return output;
    }
}
