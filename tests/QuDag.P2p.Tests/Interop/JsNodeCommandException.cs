namespace QuDag.P2p.Tests.Interop;

/// <summary>The js node answered a command with ok=false; the message carries js's error text.</summary>
public sealed class JsNodeCommandException(string command, string error, string stderrTail)
    : Exception($"js node: '{command}' failed: {error}{JsNode.FormatStderr(stderrTail)}")
{
    public string Command { get; } = command;

    /// <summary>The error text js reported (its error's name and message).</summary>
    public string Error { get; } = error;
}
