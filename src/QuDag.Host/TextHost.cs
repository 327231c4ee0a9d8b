using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Internal;
using System.Security;

namespace QuDag.Host;

/// <summary>
/// A minimal PowerShell host that writes to text writers: formatted output only exists through a host, so
/// Out-Default renders the module's views into it. Used by the console host and by the tests.
/// </summary>
public sealed class TextHost(TextWriter output, TextWriter error, int width = 120, TextReader? input = null, bool plainText = true) : PSHost
{
    private readonly TextHostUI _ui = new(output, error, width, input, plainText);

    /// <summary>The exit code a script asked for with <c>exit</c>, if any.</summary>
    public int? ExitCode { get; private set; }

    public override string Name => "QuDag.Host";
    public override Version Version => typeof(TextHost).Assembly.GetName().Version ?? new Version(0, 1);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;
    public override void EnterNestedPrompt() => throw new NotSupportedException("Nested prompts are not supported.");
    public override void ExitNestedPrompt() => throw new NotSupportedException("Nested prompts are not supported.");
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }

    private sealed class TextHostUI(TextWriter output, TextWriter error, int width, TextReader? input, bool plainText) : PSHostUserInterface
    {
        private readonly TextRawUI _raw = new(width);

        // The formatter decorates headers with ANSI codes; a host writing to a file or a pipe strips them.
        private string Text(string value) => plainText ? new StringDecorated(value).ToString(OutputRendering.PlainText) : value;

        public override bool SupportsVirtualTerminal => !plainText;

        public override PSHostRawUserInterface RawUI => _raw;
        public override string ReadLine() => input?.ReadLine() ?? "";
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("Secure input is not supported by this host.");
        public override void Write(string value) => output.Write(Text(value));
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => output.Write(Text(value));
        public override void WriteLine(string value) => output.WriteLine(Text(value));
        public override void WriteErrorLine(string value) => error.WriteLine(Text(value));
        public override void WriteDebugLine(string message) => output.WriteLine("DEBUG: " + Text(message));
        public override void WriteVerboseLine(string message) => output.WriteLine("VERBOSE: " + Text(message));
        public override void WriteWarningLine(string message) => output.WriteLine("WARNING: " + Text(message));
        public override void WriteProgress(long sourceId, ProgressRecord record) { } // no progress bar in text output

        public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) =>
            throw new NotSupportedException("Prompting is not supported by this host; pass the parameters.");

        public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) =>
            throw new NotSupportedException("Prompting is not supported by this host; use -Confirm:$false.");

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            throw new NotSupportedException("Prompting is not supported by this host.");

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
            throw new NotSupportedException("Prompting is not supported by this host.");
    }

    private sealed class TextRawUI(int width) : PSHostRawUserInterface
    {
        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
        public override Size BufferSize { get; set; } = new(width, 3000);
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override bool KeyAvailable => false;
        public override Size MaxPhysicalWindowSize => new(width, 3000);
        public override Size MaxWindowSize => new(width, 3000);
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get; set; } = new(width, 50);
        public override string WindowTitle { get; set; } = "QuDag";
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) => throw new NotSupportedException();
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) => throw new NotSupportedException();
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) => throw new NotSupportedException();
    }
}
