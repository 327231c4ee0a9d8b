using System.Management.Automation;

namespace QuDag.PowerShell.Tests;

/// <summary>Identity files from script: created owner-only, loaded back, and clear errors for bad ones.</summary>
public sealed class IdentityCmdletTests : IDisposable
{
    private readonly PsHarness _ps = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("qudag-id-").FullName;

    public void Dispose()
    {
        _ps.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void A_new_identity_file_is_owner_only_and_loads_back_as_the_same_peer()
    {
        var path = Path.Combine(_dir, "node.pfx");
        var vars = new Dictionary<string, object?> { ["path"] = path };
        var (created, errors) = _ps.Run("(New-QuDagSession -IdentityPath $path).PeerId", vars);
        Assert.Empty(errors);

        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var (loaded, _) = _ps.Run("(New-QuDagSession -IdentityPath $path).PeerId", vars);
        Assert.Equal(created[0].ToString(), loaded[0].ToString());
    }

    [Theory]
    [InlineData("corrupt")]
    [InlineData("wrong password")]
    public void A_bad_identity_file_stops_the_command_with_InvalidIdentityFile(string problem)
    {
        var path = Path.Combine(_dir, "node.pfx");
        var vars = new Dictionary<string, object?> { ["path"] = path };
        if (problem == "corrupt")
            File.WriteAllBytes(path, [0x30, 0x82, 0x01]);
        else
            _ps.RunClean($"$null = New-QuDagSession -IdentityPath '{path}' -IdentityPassword ([System.Net.NetworkCredential]::new('', 'right').SecurePassword)");
        Assert.True(File.Exists(path));

        var (_, errors) = _ps.Run("New-QuDagSession -IdentityPath $path -IdentityPassword ([securestring]::new())", vars);

        var error = Assert.Single(errors);
        Assert.Equal("NewQuDagSessionInvalidIdentityFile,QuDag.PowerShell.Commands.NewQuDagSessionCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Equal(path, error.TargetObject);
    }
}
