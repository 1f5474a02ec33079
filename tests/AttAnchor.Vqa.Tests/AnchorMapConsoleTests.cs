using System.Globalization;
using System.Text.Json;
using AttAnchor.OnnxRuntime;
using AttAnchor.Visualization;
using AttAnchor.Vqa;
using SkiaSharp;
using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// The console's <c>--anchor-map FILE</c>: it writes the library's map of the answer after answering, says so in
/// one line of the report or in the JSON's <c>anchor_map</c>, and refuses a path it could not write before the
/// model opens (one line on stderr, exit 2, nothing on stdout).
/// </summary>
public sealed class AnchorMapConsoleTests(ITestOutputHelper output) : IDisposable
{
    private const string Fixture = "tiny-336-gqa";
    private const string Question = "What color is the circle?";

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-map-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string FixtureFolder => Path.Combine(Fixtures.FixturesFolder, Fixture);

    [Theory]
    [InlineData("text-into-image", "0.12")]
    [InlineData("image-into-text", "0.35")]
    public async Task Json_names_the_map_it_wrote_and_the_map_is_the_library_s_for_the_same_answer(string direction, string threshold)
    {
        string path = Path.Combine(_folder, "map.png");

        var (code, stdout, stderr) = await VqaConsole.Run("--model", FixtureFolder, "--image", Pipelines.ImagePath("square.png"), "--question", Question,
            "--max-new-tokens", "3", "--device", "cpu", "--direction", direction, "--threshold", threshold, "--anchor-map", path, "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal(string.Empty, stderr);
        using JsonDocument json = JsonDocument.Parse(stdout);
        Assert.Equal(path, json.RootElement.GetProperty("anchor_map").GetString());
        int anchors = json.RootElement.GetProperty("anchors").GetArrayLength();
        Assert.True(anchors > 0);

        VisionLanguageModel model = Pipelines.Get(Fixture);
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        var anchoring = new AttAnchorOptions
        {
            Threshold = float.Parse(threshold, CultureInfo.InvariantCulture),
            Direction = direction == "image-into-text" ? AnchorDirection.ImageIntoText : AnchorDirection.TextIntoImage,
        };
        VqaResult result = await model.AnswerAsync(image, Question, new GenerationOptions { MaxNewTokens = 3, Anchoring = anchoring });
        Assert.Equal(anchors, result.Anchors.Count);
        using SKBitmap written = PngImages.Decode(File.ReadAllBytes(path));
        using SKBitmap expected = PngImages.Decode(AnchorMap.RenderPng(model, image, result));
        Assert.Equal((expected.Width, expected.Height), (written.Width, written.Height));
        Assert.True(expected.Pixels.SequenceEqual(written.Pixels), "the console's map is the library's map of the same answer");
    }

    [Fact]
    public async Task The_human_report_ends_with_one_line_naming_the_map_and_its_anchor_count()
    {
        string path = Path.Combine(_folder, "human.png");

        var (code, stdout, stderr) = await VqaConsole.Run("--image", ShapesModel.ExampleImage, "--question", Question, "--device", "cpu", "--anchor-map", path);

        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        Assert.Equal(string.Empty, stderr);
        Assert.Contains("A: Red.", stdout, StringComparison.Ordinal);
        string[] lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Equal($"anchor map: {path} (4 anchors)", lines[^1]);
        Assert.Single(lines, l => l.StartsWith("anchor map:", StringComparison.Ordinal));
        using SKBitmap map = PngImages.Decode(File.ReadAllBytes(path));
        AnchorMap.Geometry g = AnchorMap.Measure(ShapesModel.Get(ShapesModel.AttAnchorTrained).Config);
        Assert.Equal(g.ImageLeft + g.ImageSide + 1 + AnchorMap.Margin, map.Width);
    }

    [Fact]
    public async Task Without_the_option_nothing_is_written_and_the_json_has_no_anchor_map()
    {
        var (code, stdout, stderr) = await VqaConsole.Run("--model", FixtureFolder, "--image", Pipelines.ImagePath("square.png"), "--question", Question,
            "--max-new-tokens", "2", "--device", "cpu", "--json");

        Assert.True(code == 0, stderr);
        using JsonDocument json = JsonDocument.Parse(stdout);
        Assert.False(json.RootElement.TryGetProperty("anchor_map", out _));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
    }

    /// <summary>
    /// A path that cannot be written is a bad command line, found before the model opens: with a model folder that
    /// does not exist as well, the error is still about --anchor-map, with exit code 2.
    /// </summary>
    [Theory]
    [InlineData("{folder}/missing/map.png", "the folder {folder}/missing does not exist")]
    [InlineData("{folder}", "is a folder")]
    [InlineData("", "--anchor-map needs a file name")]
    public async Task A_path_that_cannot_be_written_is_one_line_and_exit_2_before_the_model_opens(string path, string message)
    {
        path = path.Replace("{folder}", _folder, StringComparison.Ordinal);

        var (code, stdout, stderr) = await VqaConsole.Run("--model", "no/such/model", "--image", Pipelines.ImagePath("square.png"), "--question", Question,
            "--anchor-map", path, "--json");

        output.WriteLine(stderr);
        Assert.Equal(VqaApp.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: --anchor-map", stderr, StringComparison.Ordinal);
        Assert.Contains(message.Replace("{folder}", _folder, StringComparison.Ordinal), stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Model folder", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_folder, "missing")));
    }
}
