using System.Globalization;
using System.Text.Json;
using AttAnchor.Vqa;
using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// The VQA console (tools/AttAnchor.Vqa) run in-process: with --json it reproduces every reference
/// case of every fixture and prints every field of the spec; every error is one line on stderr, a
/// non-zero exit code and nothing on stdout.
/// </summary>
public class VqaConsoleTests(ITestOutputHelper output)
{
    private const double MarginFloor = 1e-3;

    private static readonly string[] SpecFields =
        ["answer", "generated_token_ids", "stop_reason", "prompt_token_count", "sequence_length", "anchors", "timings_ms", "device"];

    private static readonly string[] AnchorFields = ["text_index", "token_id", "token", "patch_index", "patch_row", "patch_col", "similarity"];

    private static readonly string[] TimingFields = ["preprocess", "vision", "projector", "anchor", "prefill", "decode", "total"];

    public static TheoryData<string, int, string> Generations => ReferenceCases.Generations;

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Json_reproduces_the_reference_case(string fixture, int index, string description)
    {
        ReferenceDocument references = Fixtures.Get(fixture).References;
        GenerationReference g = references.Generations[index];
        List<string> args =
        [
            "--model", Path.Combine(Fixtures.FixturesFolder, fixture), "--image", Pipelines.ImagePath(g.Image),
            "--question", references.Prompts[g.Prompt].Question, "--max-new-tokens", g.Tokens.Count.ToString(CultureInfo.InvariantCulture),
            "--device", "cpu", "--json",
        ];
        if (g.Anchor is null)
        {
            args.Add("--no-anchor");
        }
        else
        {
            args.AddRange(["--threshold", g.Anchor.Threshold.ToString(CultureInfo.InvariantCulture), "--direction", g.Anchor.Direction.Replace('_', '-')]);
        }

        var (code, stdout, stderr) = await VqaConsole.Run([.. args]);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(string.Empty, stderr);
        using JsonDocument json = JsonDocument.Parse(stdout);
        JsonElement root = json.RootElement;
        foreach (string field in SpecFields)
        {
            Assert.True(root.TryGetProperty(field, out _), $"no '{field}' in {stdout}");
        }

        foreach (string field in TimingFields)
        {
            Assert.True(root.GetProperty("timings_ms").GetProperty(field).GetDouble() >= 0, field);
        }

        int[] tokens = [.. root.GetProperty("generated_token_ids").EnumerateArray().Select(e => e.GetInt32())];
        int compared = Pipelines.ComparableSteps(g, MarginFloor);
        output.WriteLine($"{fixture} / {description}: [{string.Join(", ", tokens)}], compared {compared}; answer {JsonSerializer.Serialize(root.GetProperty("answer").GetString())}");
        Assert.Equal(g.Tokens.Take(compared), tokens.Take(compared));
        Assert.Equal(g.SequenceLength, root.GetProperty("sequence_length").GetInt32());
        Assert.Equal(g.StopReason, root.GetProperty("stop_reason").GetString());
        Assert.Equal("cpu", root.GetProperty("device").GetString());
        PromptReference prompt = references.Prompts[g.Prompt];
        Assert.Equal(prompt.PrefixIds.Count + prompt.TextIds.Count, root.GetProperty("prompt_token_count").GetInt32());
        Assert.False(root.TryGetProperty("note", out _), "an explicit --model is not the default test model");

        // The anchors are the reference plan's for the same case, where the plan is not fragile.
        PlanReference? plan = g.Anchor is null ? null : references.Plans.SingleOrDefault(p =>
            p.Image == g.Image && p.Prompt == g.Prompt && p.Direction == g.Anchor.Direction && p.Threshold == g.Anchor.Threshold);
        JsonElement[] anchors = [.. root.GetProperty("anchors").EnumerateArray()];
        foreach (JsonElement anchor in anchors)
        {
            foreach (string field in AnchorFields)
            {
                Assert.True(anchor.TryGetProperty(field, out _), $"anchor without '{field}'");
            }
        }

        if (g.Anchor is null)
        {
            Assert.Empty(anchors);
        }
        else if (plan is { Fragile: false })
        {
            Assert.Equal(
                plan.Anchors.Select(a => (a.TextIndex, a.TokenId, a.Token, a.PatchIndex, a.PatchRow, a.PatchCol)),
                anchors.Select(a => (a.GetProperty("text_index").GetInt32(), a.GetProperty("token_id").GetInt32(), a.GetProperty("token").GetString()!,
                    a.GetProperty("patch_index").GetInt32(), a.GetProperty("patch_row").GetInt32(), a.GetProperty("patch_col").GetInt32())));
        }
    }

    /// <summary>
    /// The README's main command: no --model, the committed example image, the question the README asks. The default
    /// model is the shapes model trained with AttAnchor, and its answer must be right: the image's scene is known.
    /// </summary>
    [Fact]
    public async Task Without_model_it_runs_the_trained_shapes_model_and_answers_the_README_question_correctly()
    {
        var (code, stdout, stderr) = await VqaConsole.Run(["--image", ShapesModel.ExampleImage, "--question", "What color is the circle?", "--json"]);

        Assert.True(code == 0, stderr);
        using JsonDocument json = JsonDocument.Parse(stdout);
        JsonElement root = json.RootElement;
        Assert.Equal(ShapesModel.ExampleAnswer("What color is the circle?"), root.GetProperty("answer").GetString());
        Assert.Equal("eos", root.GetProperty("stop_reason").GetString());
        Assert.Contains("shapes", root.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.Contains("export_llava.py", root.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.EndsWith(Path.Combine("shapes", "attanchor"), root.GetProperty("model").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Human_mode_streams_the_answer_then_shows_anchors_and_times()
    {
        ReferenceDocument references = Fixtures.Get("tiny-336-gqa").References;
        GenerationReference g = references.Generations.First(r => r.Anchor is { Direction: "text_into_image" });

        var (code, stdout, stderr) = await VqaConsole.Run(["--model", Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa"), "--image", Pipelines.ImagePath(g.Image),
            "--question", references.Prompts[g.Prompt].Question, "--max-new-tokens", "10", "--threshold", "0.12"]);

        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        Assert.Contains("A: ", stdout, StringComparison.Ordinal);
        Assert.Contains("AttAnchor (text-into-image, τ = 0.12)", stdout, StringComparison.Ordinal);
        Assert.Contains("similarity", stdout, StringComparison.Ordinal);
        Assert.Contains("prefill", stdout, StringComparison.Ordinal);
        Assert.Contains($"sequence {g.SequenceLength - 9} → {g.SequenceLength}", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("'--question' is required", "--image", "square.png")]
    [InlineData("not found", "--question", "What?", "--image", "no-such-file.png")]
    [InlineData("--temperature", "--question", "What?", "--image", "square.png", "--temperature", "-1")]
    [InlineData("--top-p", "--question", "What?", "--image", "square.png", "--top-p", "1.5")]
    [InlineData("--top-k", "--question", "What?", "--image", "square.png", "--top-k", "-3")]
    [InlineData("--max-new-tokens", "--question", "What?", "--image", "square.png", "--max-new-tokens", "0")]
    [InlineData("--direction", "--question", "What?", "--image", "square.png", "--direction", "sideways")]
    [InlineData("--device", "--question", "What?", "--image", "square.png", "--device", "tpu")]
    [InlineData("--threshold", "--question", "What?", "--image", "square.png", "--threshold", "abc")]
    [InlineData("--threshold", "--question", "What?", "--image", "square.png", "--threshold", "NaN")]
    [InlineData("--repetition-penalty", "--question", "What?", "--image", "square.png", "--repetition-penalty", "0")]
    [InlineData("empty", "--question", "", "--image", "square.png")]
    [InlineData("<image>", "--question", "Is <image> red?", "--image", "square.png")]
    [InlineData("Model folder not found", "--question", "What?", "--image", "square.png", "--model", "no/such/folder")]
    [InlineData("unrecognized", "--question", "What?", "--image", "square.png", "--frobnicate")]
    [InlineData("above the limit", "--question", "What?", "--image", "large.png", "--max-pixels", "1000")]
    [InlineData("--exif must be apply or ignore", "--question", "What?", "--image", "square.png", "--exif", "sideways")]
    [InlineData("--exif must be apply or ignore", "--question", "What?", "--image", "square.png", "--model", "no/such/folder", "--exif", "rotate")]
    public async Task Errors_are_one_line_on_stderr_with_nothing_on_stdout(string expected, params string[] args)
    {
        string[] resolved = [.. args.Select(a => a.EndsWith(".png", StringComparison.Ordinal) && a != "no-such-file.png" ? Pipelines.ImagePath(a) : a), "--json"];

        var (code, stdout, stderr) = await VqaConsole.Run(resolved);

        output.WriteLine(stderr);
        Assert.NotEqual(0, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(expected, stderr, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// <c>--exif</c> on a real photo stored sideways with EXIF orientation 6 (222 × 333 as stored, 333 × 222 upright): the
    /// JSON's <c>image_size</c> and <c>exif</c> and the report's image line say what the model was given.
    /// </summary>
    [Theory]
    [InlineData(null, 333, 222, "applied")]
    [InlineData("apply", 333, 222, "applied")]
    [InlineData("ignore", 222, 333, "ignored")]
    [InlineData("IGNORE", 222, 333, "ignored")]
    public async Task The_exif_option_turns_a_rotated_photo_or_keeps_it_as_stored(string? exif, int width, int height, string said)
    {
        string[] common = ["--model", Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa"), "--image", Path.Combine(Fixtures.FixturesFolder, "photos", "coffee_exif6.jpg"),
            "--question", "What is it?", "--max-new-tokens", "2", "--device", "cpu", .. (exif is null ? (string[])[] : ["--exif", exif])];

        var (code, stdout, stderr) = await VqaConsole.Run([.. common, "--json"]);

        Assert.True(code == 0, stderr);
        using JsonDocument json = JsonDocument.Parse(stdout);
        Assert.Equal([width, height], json.RootElement.GetProperty("image_size").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(said == "ignored" ? "ignore" : "apply", json.RootElement.GetProperty("exif").GetString());

        (code, stdout, stderr) = await VqaConsole.Run(common);

        Assert.True(code == 0, stderr);
        Assert.Contains($"image:  {width}×{height}, EXIF orientation {said}", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_question_longer_than_the_context_is_one_line()
    {
        string question = string.Join(' ', Enumerable.Repeat("circle", 600));

        var (code, stdout, stderr) = await VqaConsole.Run(["--question", question, "--image", Pipelines.ImagePath("square.png"), "--json"]);

        Assert.Equal(VqaApp.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("does not fit the model's context", stderr, StringComparison.Ordinal);
    }
}
