using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QuDag.Host;

// qudag-host [-File] <script.ps1> [args] | -Command "<text>" | (nothing: interactive prompt)
// Runs PowerShell with the QuDag module imported, for machines without pwsh.
var redirected = Console.IsOutputRedirected;
var host = new TextHost(Console.Out, Console.Error, redirected ? 160 : Math.Max(Console.WindowWidth, 80), Console.In, plainText: redirected);
Runspace runspace;
try
{
    runspace = QuDagRunspace.Open(host, plainText: redirected);
}
catch (Exception ex)
{
    Console.Error.WriteLine($"qudag-host: {ex.Message}");
    return 2;
}

using (runspace)
{
    if (args.Length == 0)
        return Interactive(runspace, host);
    if (args[0] is "-Command" or "-c")
        return Run(runspace, host, ps => ps.AddScript(string.Join(' ', args.Skip(1))));
    if (args[0] is "-h" or "-?" or "--help")
    {
        Console.WriteLine("usage: qudag-host [-File] <script.ps1> [args...] | -Command \"<text>\"");
        return 0;
    }
    var rest = args[0] is "-File" or "-f" ? args.Skip(1).ToArray() : args;
    if (rest.Length == 0 || !File.Exists(rest[0]))
    {
        Console.Error.WriteLine($"qudag-host: no script file '{rest.FirstOrDefault()}'");
        return 2;
    }
    return Run(runspace, host, ps =>
    {
        ps.AddCommand(Path.GetFullPath(rest[0]));
        foreach (var arg in rest.Skip(1))
            ps.AddArgument(arg);
    });
}

static int Run(Runspace runspace, TextHost host, Action<PowerShell> build)
{
    using var ps = PowerShell.Create(runspace);
    build(ps);
    ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
    ps.AddCommand("Out-Default");
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        ps.BeginStop(null, null);
    };
    try
    {
        ps.Invoke();
    }
    catch (PipelineStoppedException)
    {
        return 130;
    }
    catch (RuntimeException ex)
    {
        Console.Error.WriteLine(ex.ErrorRecord.ToString());
        Console.Error.WriteLine($"    + {ex.ErrorRecord.InvocationInfo?.PositionMessage}");
        return host.ExitCode is > 0 ? host.ExitCode.Value : 1;
    }
    if (host.ExitCode is { } code)
        return code;
    return runspace.SessionStateProxy.GetVariable("LASTEXITCODE") is int last ? last : 0;
}

static int Interactive(Runspace runspace, TextHost host)
{
    Console.WriteLine("QuDag host (PowerShell 7.6 engine). Type 'exit' to quit.");
    while (true)
    {
        Console.Write("QuDag> ");
        var line = Console.ReadLine();
        if (line is null || line.Trim() is "exit" or "quit")
            return 0;
        if (line.Trim().Length > 0)
            Run(runspace, host, ps => ps.AddScript(line));
        if (host.ExitCode is { } code)
            return code;
    }
}
