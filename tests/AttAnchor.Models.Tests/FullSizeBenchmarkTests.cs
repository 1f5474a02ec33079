using System.Text.Json;
using AttAnchor.Tests.Shared;

namespace AttAnchor.Models.Tests;

/// <summary>
/// The full-size benchmark console (benchmarks/AttAnchor.FullSize) on the committed fixture, ONNX Runtime systems only
/// (CI has no PyTorch): it writes its report, and the peer — the plain ONNX Runtime loop — generates the same greedy
/// tokens as the library with AttAnchor off, so the two are compared on the same work.
/// </summary>
public sealed class FullSizeBenchmarkTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("attanchor-fullsize-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void Run_OnTheFixture_WritesTheReport_AndThePeerAgreesWithOurs()
    {
        string configuration = Dotnet.ConfigurationOf(typeof(FullSizeBenchmarkTests).Assembly);
        string program = Path.Combine(Fixtures.RepositoryRoot, "benchmarks", "AttAnchor.FullSize", "bin", configuration, "net10.0", "AttAnchor.FullSize.dll");
        Assert.True(File.Exists(program), $"{program} is not built");

        string stdout = Dotnet.Run(Fixtures.RepositoryRoot, TimeSpan.FromMinutes(5),
            program, "run", "--model", Path.Combine("models", "fixtures", "tiny-336-gqa"), "--runs", "2", "--skip-pytorch", "--out", _out);

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, "benchmarks-fullsize.json")));
        JsonElement[] rows = [.. Rows(json.RootElement)];
        JsonElement plain = Assert.Single(rows, r => r.GetProperty("system").GetString() == "plain-ort");
        JsonElement off = Assert.Single(rows, r => r.GetProperty("system").GetString() == "ours" && r.GetProperty("setting").GetString() == "off");
        Assert.Equal(3, rows.Count(r => r.GetProperty("system").GetString() == "ours"));

        int[] Tokens(JsonElement row, int run) => [.. row.GetProperty("runs")[run].GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32())];
        Assert.Equal(2, plain.GetProperty("runs").GetArrayLength());
        Assert.NotEmpty(Tokens(off, 0));
        Assert.Equal(Tokens(off, 0), Tokens(plain, 0));
        Assert.Equal(Tokens(off, 1), Tokens(plain, 1));
        Assert.Equal(off.GetProperty("prefill_positions").GetInt32(), plain.GetProperty("prefill_positions").GetInt32());
        Assert.All(rows, r => Assert.All(r.GetProperty("runs").EnumerateArray(), run => Assert.True(run.GetProperty("total_ms").GetDouble() > 0)));

        string markdown = File.ReadAllText(Path.Combine(_out, "benchmarks-fullsize.md"));
        Assert.Contains("| plain-ort |", markdown, StringComparison.Ordinal);
        Assert.Contains("| ours off |", markdown, StringComparison.Ordinal);
        Assert.Contains("plain-ort = ours (off)", markdown, StringComparison.Ordinal);
        Assert.Equal(markdown.Trim(), stdout.Trim());
        using var chart = SkiaSharp.SKBitmap.Decode(Path.Combine(_out, "benchmarks-fullsize.png"));
        Assert.True(chart is { Width: > 200, Height: > 100 }, "the chart is not a readable PNG");
    }

    /// <summary>The rows of the JSON report, wherever the report keeps them (an array, or an object with one).</summary>
    private static IEnumerable<JsonElement> Rows(JsonElement root) => root.ValueKind == JsonValueKind.Array
        ? root.EnumerateArray()
        : root.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array).SelectMany(p => p.Value.EnumerateArray()).Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("system", out _));
}
