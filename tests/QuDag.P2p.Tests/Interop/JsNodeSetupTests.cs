namespace QuDag.P2p.Tests.Interop;

/// <summary>The harness without js installed: it must say what to run, never skip silently.</summary>
public sealed class JsNodeSetupTests
{
    [Fact]
    public async Task Missing_packages_fail_with_the_command_that_installs_them()
    {
        string empty = Directory.CreateTempSubdirectory("qudag-interop-").FullName;
        try
        {
            var error = await Assert.ThrowsAsync<JsNodeException>(
                () => JsNode.StartAsync(JsNodeOptions.Listener(), empty, CancellationToken.None));
            Assert.Contains("npm ci --prefix tests/interop", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
