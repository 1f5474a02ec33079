using System.Text.Json;

namespace AttAnchor.FullSize.Tests;

/// <summary>
/// The full-size benchmark console (benchmarks/AttAnchor.FullSize) on the committed fixture, ONNX Runtime systems only
/// (CI has no PyTorch): it writes its report, and the peer — the plain ONNX Runtime loop — generates the same greedy
/// tokens as the library with AttAnchor off, so the two are compared on the same work. Its six-questions measure
/// answers the same six questions from scratch and from an image session, with the same tokens.
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
            program, "run", "--model", Path.Combine("models", "fixtures", "tiny-336-gqa"), "--runs", "2", "--skip-pytorch", "--out", _out, "--six-runs", "2", "--six-new-tokens", "3");

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

        // Six questions about one image: off, τ = 0.12 and the 10 % τ, each from scratch and from an image session.
        JsonElement[] six = [.. json.RootElement.GetProperty("six_questions").EnumerateArray()];
        Assert.Equal(6, six.Length);
        Assert.All(six, line => Assert.Equal("six", line.GetProperty("measure").GetString()));
        string[] settings = [.. six.Select(l => l.GetProperty("setting").GetString()!).Distinct()];
        Assert.Equal(3, settings.Length);
        Assert.Equal("off", settings[0]);
        int shared = six[0].GetProperty("shared_prefix_positions").GetInt32();
        Assert.Equal(4 + 576, shared); // the template before <image> is 4 tokens with BOS here, then the 576 image tokens
        foreach (string setting in settings)
        {
            JsonElement scratch = Assert.Single(six, l => l.GetProperty("setting").GetString() == setting && l.GetProperty("mode").GetString() == "from scratch");
            JsonElement session = Assert.Single(six, l => l.GetProperty("setting").GetString() == setting && l.GetProperty("mode").GetString() == "image session");
            Assert.Equal(3, session.GetProperty("max_new_tokens").GetInt32());
            Assert.Equal(6, session.GetProperty("questions").GetArrayLength());
            for (int run = 0; run < 2; run++)
            {
                JsonElement[] fromScratch = [.. scratch.GetProperty("runs")[run].GetProperty("answers").EnumerateArray()];
                JsonElement[] fromSession = [.. session.GetProperty("runs")[run].GetProperty("answers").EnumerateArray()];
                Assert.Equal(6, fromSession.Length);
                for (int q = 0; q < 6; q++)
                {
                    int[] expected = [.. fromScratch[q].GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32())];
                    Assert.Equal(3, expected.Length);
                    Assert.Equal(expected, fromSession[q].GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32()));
                    Assert.Equal(0, fromScratch[q].GetProperty("reused_positions").GetInt32());
                    int reused = fromSession[q].GetProperty("reused_positions").GetInt32();
                    Assert.Equal(fromScratch[q].GetProperty("copies").GetInt32(), fromSession[q].GetProperty("copies").GetInt32());
                    if (setting == "off")
                    {
                        Assert.Equal(shared, reused);
                    }
                    else
                    {
                        Assert.InRange(reused, 5, shared);
                    }

                    // The session encodes the image once, when it opens: no answer of it runs the vision encoder.
                    Assert.Equal(0, fromSession[q].GetProperty("vision_ms").GetDouble());
                    Assert.True(fromScratch[q].GetProperty("vision_ms").GetDouble() > 0);
                    Assert.Equal(q == 0, fromSession[q].GetProperty("shared_prefill_ms").GetDouble() > 0);
                }

                Assert.True(session.GetProperty("runs")[run].GetProperty("open_ms").GetDouble() > 0);
                Assert.True(session.GetProperty("runs")[run].GetProperty("questions_per_second").GetDouble() > 0);
            }
        }

        Assert.Contains("### Six questions about one image", markdown, StringComparison.Ordinal);
        Assert.Contains("| off | image session |", markdown, StringComparison.Ordinal);
        Assert.Contains("Plain LLaVA (off):", markdown, StringComparison.Ordinal);
        Assert.Contains("off: the session's six answers = from scratch's", markdown, StringComparison.Ordinal);
        Assert.Contains("](benchmarks-fullsize-six.png)", markdown, StringComparison.Ordinal);
        using var sixChart = SkiaSharp.SKBitmap.Decode(Path.Combine(_out, "benchmarks-fullsize-six.png"));
        Assert.True(sixChart is { Width: > 200, Height: > 100 }, "the six-questions chart is not a readable PNG");
    }

    /// <summary>The rows of the JSON report's main table (its "systems"; the six-questions lines are apart).</summary>
    private static IEnumerable<JsonElement> Rows(JsonElement root) => root.GetProperty("systems").EnumerateArray();
}
