namespace QuDag.Telemetry.Tests;

/// <summary>Debian's chromium, headless, with nothing that reaches the network or the user's profile.</summary>
internal static class Chromium
{
    private static IEnumerable<string> Flags(string profile) =>
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--hide-scrollbars", $"--user-data-dir={profile}",
    ];

    public static async Task ScreenshotAsync(string chromium, string page, string png, string profile, int width, int height)
    {
        var (exit, _, error) = await External.RunAsync(chromium,
            [.. Flags(profile), $"--screenshot={png}", $"--window-size={width},{height}", new Uri(page).AbsoluteUri], timeout: TimeSpan.FromSeconds(90));
        Assert.True(exit == 0 && File.Exists(png), $"chromium --screenshot exited {exit} without {png}: {error}");
    }

    public static Task<(int ExitCode, string Output, string Error)> DumpDomAsync(string chromium, string page, string profile) =>
        External.RunAsync(chromium, [.. Flags(profile), "--dump-dom", new Uri(page).AbsoluteUri], timeout: TimeSpan.FromSeconds(90));
}
