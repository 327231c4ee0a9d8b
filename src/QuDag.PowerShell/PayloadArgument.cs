using System.Collections;
using System.Management.Automation;
using System.Text;

namespace QuDag.PowerShell;

/// <summary>
/// A -Payload as bytes on the wire, as Send-QuDagMessage encodes its -Message: a string as UTF-8, bytes as they are,
/// any other object as its compact JSON (ConvertTo-Json -Depth 16), never its type name.
/// </summary>
internal static class PayloadArgument
{
    private static readonly ScriptBlock s_toJson = ScriptBlock.Create("param($o) ConvertTo-Json -InputObject $o -Depth 16 -Compress");

    /// <summary>The bytes; a value ConvertTo-Json cannot write stops the command with <c>&lt;Cmdlet&gt;&lt;problem&gt;</c>.</summary>
    public static byte[] Encode(PSCmdlet cmdlet, object payload, string commandId, string problem = "InvalidPayload")
    {
        var value = payload is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : payload;
        switch (value)
        {
            case string s:
                return Encoding.UTF8.GetBytes(s);
            case char c:
                return Encoding.UTF8.GetBytes(c.ToString());
            case byte[] bytes:
                return bytes;
            case object[] items when items.Length > 0 && items.All(i => (i is PSObject p ? p.BaseObject : i) is byte):
                return items.Select(i => (byte)(i is PSObject p ? p.BaseObject : i)).ToArray();
        }
        // A script block would go as its JSON (its AST, megabytes of it): it is never what was meant, such as
        // -Payload { $_.Payload } where delay-bind does not apply.
        var json = value is ScriptBlock ? [] : cmdlet.SessionState.InvokeCommand.InvokeScript(false, s_toJson, null, payload);
        var text = json.Count == 1 ? json[0]?.BaseObject as string : null;
        if (text is null)
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(
                new ArgumentException($"A {value.GetType().Name} cannot be sent: give a string, bytes, or an object ConvertTo-Json accepts{(value is ScriptBlock ? " (write -Payload $_.Payload inside ForEach-Object, not -Payload { ... })" : "")}."),
                commandId + problem, ErrorCategory.InvalidArgument, payload));
        }
        cmdlet.WriteVerbose($"Sending the {(value is IDictionary ? "hashtable" : value.GetType().Name)} as JSON: {text}");
        return Encoding.UTF8.GetBytes(text!);
    }
}
