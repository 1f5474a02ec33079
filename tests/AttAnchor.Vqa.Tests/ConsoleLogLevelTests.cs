using System.Globalization;
using System.Text.Json;
using AttAnchor.Vqa;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// The console's <c>--log-level</c>: silent by default; at a level, the library's log goes to stderr one line per
/// entry, and stdout keeps only the report or the one JSON object.
/// </summary>
public sealed class ConsoleLogLevelTests
{
    private static readonly string[] Ask =
        ["--image", ShapesModel.ExampleImage, "--question", "What color is the circle?", "--device", "cpu", "--json"];

    [Fact]
    public async Task WithoutTheOption_StderrStaysEmpty()
    {
        var (code, stdout, stderr) = await VqaConsole.Run(Ask);
        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        Assert.Equal("Red.", JsonDocument.Parse(stdout).RootElement.GetProperty("answer").GetString());
    }

    [Theory]
    [InlineData("none", new int[0])]
    [InlineData("warning", new int[0])]
    [InlineData("info", new[] { 4, 6 })]
    [InlineData("Information", new[] { 4, 6 })]
    [InlineData("debug", new[] { 1, 2, 4, 3, 6, 10, 12 })]
    [InlineData("trace", new[] { 1, 2, 4, 3, 6, 10, 11, 11, 11, 11, 12 })]
    public async Task TheLog_GoesToStderr_AtTheLevelAsked(string level, int[] events)
    {
        var (code, stdout, stderr) = await VqaConsole.Run([.. Ask, "--log-level", level]);
        Assert.True(code == 0, stderr);
        using JsonDocument json = JsonDocument.Parse(stdout); // stdout is still exactly one JSON object
        Assert.Equal("Red.", json.RootElement.GetProperty("answer").GetString());

        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(events, lines.Select(l => int.Parse(l[(l.IndexOf('[', StringComparison.Ordinal) + 1)..l.IndexOf(']', StringComparison.Ordinal)], CultureInfo.InvariantCulture)));
        Assert.All(lines, l => Assert.Matches(@"^(trce|dbug|info): AttAnchor\.OnnxRuntime\.VisionLanguageModel\[\d+\] ", l));
        if (events.Contains(4))
        {
            Assert.Contains("info: AttAnchor.OnnxRuntime.VisionLanguageModel[4] Execution provider: cpu (asked for)", lines);
        }

        if (events.Contains(10))
        {
            int anchors = json.RootElement.GetProperty("anchors").GetArrayLength();
            Assert.Contains(lines, l => l.Contains($": {anchors} copies of ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AnUnknownLevel_IsAUsageError()
    {
        var (code, stdout, stderr) = await VqaConsole.Run([.. Ask, "--log-level", "loud"]);
        Assert.Equal(VqaApp.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("--log-level: 'loud' is not a level; use none, error, warning, information, debug or trace.", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
