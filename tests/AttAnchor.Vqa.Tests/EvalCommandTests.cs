using System.Globalization;
using System.Text.Json;
using AttAnchor.OnnxRuntime;
using AttAnchor.Visualization;
using AttAnchor.Vqa;
using AttAnchor.Vqa.Eval;
using SkiaSharp;
using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// The console's <c>eval</c> subcommand: --config parsing, usage and data errors (one line, nothing on stdout),
/// the chart's width, and a whole run on the committed random-weight fixture whose answers, metrics, tables and
/// chart are checked against direct library calls and <see cref="PopeMetrics"/>, and a run of the shapes model over the
/// committed excerpts of POPE's own files in both their layouts (<see cref="PopeExcerpts"/>).
/// </summary>
public sealed class EvalCommandTests(ITestOutputHelper output) : IDisposable
{
    private const string Fixture = "tiny-336-gqa";
    private const string Suffix = "Answer the question using a single word or phrase.";

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-eval-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("off", false, 0.12f, AnchorDirection.TextIntoImage, "off")]
    [InlineData("OFF", false, 0.12f, AnchorDirection.TextIntoImage, "off")]
    [InlineData("default", true, 0.12f, AnchorDirection.TextIntoImage, "default (τ=0.12 text-into-image)")]
    [InlineData("0.12", true, 0.12f, AnchorDirection.TextIntoImage, "τ=0.12 text-into-image")]
    [InlineData("1e-1", true, 0.1f, AnchorDirection.TextIntoImage, "τ=0.1 text-into-image")]
    [InlineData("-0.5", true, -0.5f, AnchorDirection.TextIntoImage, "τ=-0.5 text-into-image")]
    [InlineData("text-into-image:0.3", true, 0.3f, AnchorDirection.TextIntoImage, "τ=0.3 text-into-image")]
    [InlineData("image-into-text:0.3", true, 0.3f, AnchorDirection.ImageIntoText, "τ=0.3 image-into-text")]
    [InlineData("image_into_text:1", true, 1f, AnchorDirection.ImageIntoText, "τ=1 image-into-text")]
    public void Configs_parse_and_describe_themselves(string value, bool enabled, float threshold, AnchorDirection direction, string description)
    {
        AttAnchorOptions modelDefaults = AttAnchorOptions.Default;

        EvalConfig config = EvalConfig.Parse(value);
        AttAnchorOptions resolved = config.Resolve(modelDefaults);

        Assert.Equal((enabled, threshold, direction), (resolved.Enabled, resolved.Threshold, resolved.Direction));
        Assert.Equal(description, config.Describe(modelDefaults));
        Assert.Equal($"shapes / {description}", EvalCommand.RunLabel("shapes", config, modelDefaults));
    }

    [Fact]
    public void Default_takes_the_models_settings_and_off_keeps_them_switched_off()
    {
        var modelDefaults = new AttAnchorOptions { Threshold = 0.2f, Direction = AnchorDirection.ImageIntoText };

        Assert.Same(modelDefaults, EvalConfig.Parse("default").Resolve(modelDefaults));
        Assert.Equal(modelDefaults with { Enabled = false }, EvalConfig.Parse("off").Resolve(modelDefaults));
        Assert.Equal("default (τ=0.2 image-into-text)", EvalConfig.Parse("default").Describe(modelDefaults));
        Assert.Equal("default (off)", EvalConfig.Parse("default").Describe(AttAnchorOptions.Off));
        Assert.Equal("default (off)", EvalConfig.Parse("default").Describe(new AttAnchorOptions { Threshold = 1f }));   // τ ≥ 1 inserts nothing
    }

    [Theory]
    [InlineData("")]
    [InlineData("on")]
    [InlineData("abc")]
    [InlineData("0.1.2")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("sideways:0.3")]
    [InlineData("image-into-text:")]
    [InlineData("text-into-image:x")]
    [InlineData("0,12")]
    public void Bad_configs_list_the_accepted_forms(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => EvalConfig.Parse(value));

        Assert.Equal($"--config must be {EvalConfig.Forms}; got '{value}'.", e.Message);
    }

    [Fact]
    public void Without_configs_the_runs_are_off_and_default_and_a_repeated_config_is_refused()
    {
        Assert.Equal(["off", "default"], EvalCommand.ParseConfigs([]).Select(c => c.Argument));
        Assert.Equal(["0.12", "off"], EvalCommand.ParseConfigs(["0.12", "off"]).Select(c => c.Argument));
        var e = Assert.Throws<ArgumentException>(() => EvalCommand.ParseConfigs(["0.12", "text-into-image:0.12"]));
        Assert.Contains("repeats", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(VqaApp.UsageError, "--config must be off, default", "--config", "bogus")]
    [InlineData(VqaApp.UsageError, "repeats", "--config", "off", "--config", "OFF")]
    [InlineData(VqaApp.UsageError, "'--out' is required", "--no-out")]
    [InlineData(VqaApp.UsageError, "'--data' is required", "--no-data")]
    [InlineData(VqaApp.UsageError, "'--model' is required", "--no-model")]
    [InlineData(VqaApp.UsageError, "--limit must be in 1..", "--limit", "0")]
    [InlineData(VqaApp.UsageError, "--max-new-tokens", "--max-new-tokens", "0")]
    [InlineData(VqaApp.UsageError, "--device", "--device", "tpu")]
    [InlineData(VqaApp.UsageError, "--threads", "--threads", "-2")]
    [InlineData(VqaApp.UsageError, "--exif must be apply or ignore", "--exif", "sideways")]
    [InlineData(VqaApp.UsageError, "Unrecognized", "--image", "x.png")]
    [InlineData(VqaApp.RunError, "bad.jsonl:2: not JSON", "--data", "bad.jsonl")]
    [InlineData(VqaApp.RunError, "missing.jsonl:1: image not found", "--data", "missing.jsonl")]
    [InlineData(VqaApp.RunError, "array.jsonl:3: missing field 'label'", "--data", "array.jsonl")]
    [InlineData(VqaApp.RunError, "no such file or folder", "--data", "nowhere.jsonl")]
    [InlineData(VqaApp.RunError, "Model folder not found", "--model", "no/such/model")]
    public async Task Errors_are_one_line_with_nothing_on_stdout_and_nothing_written(int code, string expected, params string[] extra)
    {
        WriteData();
        File.WriteAllText(Path.Combine(_folder, "bad.jsonl"), Line(1, "a.png", "Is it?", "yes") + "\n{oops\n");
        File.WriteAllText(Path.Combine(_folder, "missing.jsonl"), Line(1, "gone.png", "Is it?", "yes") + "\n");
        File.WriteAllText(Path.Combine(_folder, "array.jsonl"), "[\n" + Line(1, "a.png", "Is it?", "yes") + ",\n{\"question_id\": 2, \"image\": \"a.png\",\n \"text\": \"Is it?\"}\n]");
        string outFolder = Path.Combine(_folder, "out");
        var args = new List<string> { "eval" };
        string[] given = [.. extra.Select(a => a.EndsWith(".jsonl", StringComparison.Ordinal) ? Path.Combine(_folder, a) : a)];
        if (!given.Contains("--no-model"))
        {
            args.AddRange(["--model", Path.Combine(Fixtures.FixturesFolder, Fixture)]);
        }

        if (!given.Contains("--no-data"))
        {
            args.AddRange(["--data", Path.Combine(_folder, "data")]);
        }

        if (!given.Contains("--no-out"))
        {
            args.AddRange(["--out", outFolder]);
        }

        args.AddRange(["--device", "cpu"]);
        args.AddRange(given.Where(a => !a.StartsWith("--no-", StringComparison.Ordinal)));

        var (exit, stdout, stderr) = await VqaConsole.Run([.. args]);

        output.WriteLine(stderr);
        Assert.Equal(code, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outFolder), "nothing runs and nothing is written before the data is checked");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(7, 4)]
    [InlineData(12, 6)]
    public void The_chart_grows_wide_enough_for_every_value_label_at_full_size(int groups, int series)
    {
        int width = BarChart.WidthFor(groups, series);
        double barWidth = (width - 100) / (double)groups * 0.8 / series; // the plot leaves 76 + 24 px; bars fill 80 % of a group

        Assert.True(width >= BarChart.MinWidth);
        Assert.True(PixelFont.MeasureWidth("100.0", 2) <= barWidth, $"{groups} groups of {series}: bars {barWidth:F1} px wide");
    }

    [Fact]
    public async Task Cancelling_exits_130()
    {
        WriteData();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);

        int code = await VqaApp.RunAsync(
            ["eval", "--model", Path.Combine(Fixtures.FixturesFolder, Fixture), "--data", Path.Combine(_folder, "data"), "--out", Path.Combine(_folder, "out"), "--device", "cpu"],
            stdout, stderr, cancelled.Token);

        Assert.Equal(VqaApp.Cancelled, code);
        Assert.Equal(string.Empty, stdout.ToString());
        Assert.Equal("error: Cancelled.\n", stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Eval_on_the_fixture_answers_as_the_library_does_and_reports_consistent_metrics()
    {
        WriteData();
        string outFolder = Path.Combine(_folder, "out");
        const int maxNewTokens = 6;

        var (code, stdout, stderr) = await VqaConsole.Run([
            "eval", "--model", Path.Combine(Fixtures.FixturesFolder, Fixture), "--data", Path.Combine(_folder, "data"),
            "--config", "off", "--config", "default", "--question-suffix", Suffix, "--max-new-tokens", maxNewTokens.ToString(CultureInfo.InvariantCulture),
            "--limit", "4", "--device", "cpu", "--out", outFolder]);

        output.WriteLine(stderr);
        output.WriteLine(stdout);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        string[] files = [EvalReport.JsonFile, EvalReport.MarkdownFile, EvalReport.ChartFile];
        Assert.All(files, f => Assert.True(File.Exists(Path.Combine(outFolder, f)), f));

        // stderr: one line per finished run and split (it is not a terminal here), then where the files went; the lines
        // a slow machine adds while a split runs ("n/m questions", EvalProgressTests) are left out.
        string[] progress = [.. stderr.TrimEnd('\n').Split('\n').Where(l => !l.Contains(" questions (", StringComparison.Ordinal))];
        Assert.Equal(2 * 2 + 1, progress.Length);
        Assert.StartsWith("[1/2] tiny-336-gqa / off · mixed: 4 items", progress[0], StringComparison.Ordinal);

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outFolder, EvalReport.JsonFile)));
        JsonElement root = json.RootElement;
        JsonElement settings = root.GetProperty("settings");
        Assert.Equal(Suffix, settings.GetProperty("question_suffix").GetString());
        Assert.Equal(maxNewTokens, settings.GetProperty("max_new_tokens").GetInt32());
        Assert.Equal(0, settings.GetProperty("temperature").GetDouble());
        Assert.Equal(["mixed", "yesno"], settings.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("split").GetString()));
        Assert.Equal([4, 3], settings.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("items").GetInt32()));
        Assert.Equal([5, 3], settings.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("items_in_file").GetInt32()));

        JsonElement[] runs = [.. root.GetProperty("runs").EnumerateArray()];
        Assert.Equal(["tiny-336-gqa / off", "tiny-336-gqa / default (τ=0.12 text-into-image)"], runs.Select(r => r.GetProperty("label").GetString()));
        Assert.Equal([false, true], runs.Select(r => r.GetProperty("config").GetProperty("enabled").GetBoolean()));
        Assert.All(runs, r => Assert.Equal("cpu", r.GetProperty("device").GetString()));

        VisionLanguageModel model = Pipelines.Get(Fixture);
        AttAnchorOptions[] anchoring = [AttAnchorOptions.Off, model.Config.Anchoring];
        var anchorCounts = new List<int>[] { [], [] };
        for (int r = 0; r < runs.Length; r++)
        {
            JsonElement config = runs[r].GetProperty("config");
            Assert.Equal((float)config.GetProperty("threshold").GetDouble(), model.Config.Anchoring.Threshold);
            Assert.Equal("text-into-image", config.GetProperty("direction").GetString());
            var options = new GenerationOptions { MaxNewTokens = maxNewTokens, Anchoring = anchoring[r] };
            foreach (JsonElement split in runs[r].GetProperty("splits").EnumerateArray())
            {
                var scored = new List<(ItemKind, string, string)>();
                foreach (JsonElement item in split.GetProperty("items").EnumerateArray())
                {
                    // The report's answer is the library's greedy answer to the same question, image and settings.
                    ModelImage image = model.LoadImage(Path.Combine(_folder, "data", item.GetProperty("image").GetString()!));
                    VqaResult direct = await model.AnswerAsync(image, $"{item.GetProperty("question").GetString()} {Suffix}", options);
                    string answer = item.GetProperty("answer").GetString()!;
                    Assert.Equal(direct.Text, answer);
                    Assert.Equal(direct.Anchors.Count, item.GetProperty("anchors").GetInt32());
                    Assert.Equal(direct.SequenceLength, item.GetProperty("sequence_length").GetInt32());
                    anchorCounts[r].Add(direct.Anchors.Count);

                    var (kind, expected) = PopeMetrics.ReadLabel(item.GetProperty("label").GetString()!);
                    Assert.Equal(kind == ItemKind.YesNo ? "yes_no" : "open", item.GetProperty("kind").GetString());
                    Assert.Equal(expected, item.GetProperty("expected").GetString());
                    string prediction = PopeMetrics.Predict(kind, answer);
                    Assert.Equal(prediction, item.GetProperty("prediction").GetString());
                    Assert.Equal(prediction == expected, item.GetProperty("correct").GetBoolean());
                    scored.Add((kind, expected, prediction));
                }

                AssertMetrics(PopeMetrics.Summarize(scored), split.GetProperty("metrics"));
            }
        }

        Assert.All(anchorCounts[0], n => Assert.Equal(0, n));
        Assert.Contains(anchorCounts[1], n => n > 0);

        // report.md and stdout: the summary table, a row per run; report.md adds the detail table.
        string markdown = File.ReadAllText(Path.Combine(outFolder, EvalReport.MarkdownFile));
        Assert.StartsWith("| run | mixed Acc | mixed F1 | mixed Yes% | mixed EM | yesno Acc | yesno F1 | yesno Yes% |\n", stdout, StringComparison.Ordinal);
        Assert.Equal(2 + runs.Length, stdout.TrimEnd('\n').Split('\n').Length);
        Assert.Contains(stdout, markdown, StringComparison.Ordinal);
        Assert.Contains("## All metrics", markdown, StringComparison.Ordinal);
        Assert.Contains("| tiny-336-gqa / default (τ=0.12 text-into-image) | yesno | 3 |", markdown, StringComparison.Ordinal);

        // report.png: the chart's size (three groups: mixed, mixed EM, yesno), each run's colour, and ink in the title band (the pixel font draws).
        using SKBitmap png = SKBitmap.Decode(Path.Combine(outFolder, EvalReport.ChartFile));
        Assert.NotNull(png);
        Assert.Equal((BarChart.WidthFor(3, runs.Length), BarChart.HeightFor(runs.Length)), (png.Width, png.Height));
        SKColor[] pixels = png.Pixels;
        for (int r = 0; r < runs.Length; r++)
        {
            Assert.Contains(BarChart.ColorOf(r), pixels);
        }

        Assert.NotEqual(BarChart.ColorOf(0), BarChart.ColorOf(1));
        Assert.True(pixels.Take(png.Width * 40).Count(p => p != SKColors.White) > 200, "the title is drawn");
    }

    /// <summary>
    /// <c>--exif</c> reaches the images. On a real photo stored sideways (EXIF orientation 8), the trained shapes model with
    /// AttAnchor copies 3 words next to patches of the photo turned upright and 5 next to those of the photo as stored (the
    /// random-weight fixtures answer alike either way): the report's count is the library's for the mode asked for.
    /// </summary>
    [Theory]
    [InlineData("ignore")]
    [InlineData("apply")]
    public async Task Eval_loads_the_images_with_the_EXIF_mode_it_is_given(string exif)
    {
        const string Photo = "coffee_exif8.jpg", Question = "What color is the circle?";
        string data = Directory.CreateDirectory(Path.Combine(_folder, "photo")).FullName;
        string photo = Path.Combine(Fixtures.FixturesFolder, "photos", Photo);
        File.Copy(photo, Path.Combine(data, Photo));
        File.WriteAllText(Path.Combine(data, "photo.jsonl"), Line(1, Photo, Question, "red") + "\n");
        string outFolder = Path.Combine(_folder, "out");

        var (code, _, stderr) = await VqaConsole.Run([
            "eval", "--model", ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), "--data", data, "--config", "default",
            "--max-new-tokens", "8", "--device", "cpu", "--exif", exif, "--out", outFolder]);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outFolder, EvalReport.JsonFile)));
        Assert.Equal(exif, json.RootElement.GetProperty("settings").GetProperty("exif").GetString());
        JsonElement item = json.RootElement.GetProperty("runs")[0].GetProperty("splits")[0].GetProperty("items")[0];

        VisionLanguageModel model = ShapesModel.Get(ShapesModel.AttAnchorTrained);
        var options = new GenerationOptions { MaxNewTokens = 8 };
        VqaResult asStored = await model.AnswerAsync(ModelImage.FromFile(photo, exifOrientation: ExifOrientationMode.Ignore), Question, options);
        VqaResult upright = await model.AnswerAsync(ModelImage.FromFile(photo), Question, options);
        Assert.NotEqual(asStored.Anchors.Count, upright.Anchors.Count);
        VqaResult expected = exif == "ignore" ? asStored : upright;
        Assert.Equal((expected.Text, expected.Anchors.Count, expected.SequenceLength),
            (item.GetProperty("answer").GetString(), item.GetProperty("anchors").GetInt32(), item.GetProperty("sequence_length").GetInt32()));
        Assert.Contains(exif == "ignore" ? "EXIF orientation ignored" : "turned as their EXIF orientation says", File.ReadAllText(Path.Combine(outFolder, EvalReport.MarkdownFile)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eval_runs_the_shapes_model_over_the_pope_excerpts_in_both_layouts()
    {
        // The stand-in images make the shapes model's answers meaningless: this checks the reading, the runs and the report, not accuracy.
        string outFolder = Path.Combine(_folder, "out");
        const int limit = 2;
        string[] data = [.. PopeExcerpts.DataFolders.SelectMany(f => (string[])["--data", f])];

        var (code, stdout, stderr) = await VqaConsole.Run([
            "eval", "--model", ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), .. data, "--images", PopeExcerpts.Images,
            "--limit", limit.ToString(CultureInfo.InvariantCulture), "--max-new-tokens", "4", "--device", "cpu", "--out", outFolder]);

        output.WriteLine(stderr);
        output.WriteLine(stdout);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.All([EvalReport.JsonFile, EvalReport.MarkdownFile, EvalReport.ChartFile], f => Assert.True(File.Exists(Path.Combine(outFolder, f)), f));
        IReadOnlyList<string> names = PopeExcerpts.SplitNames;
        string[] progress = [.. stderr.TrimEnd('\n').Split('\n').Where(l => !l.Contains(" questions (", StringComparison.Ordinal))];
        Assert.Equal((2 * names.Count) + 1, progress.Length);
        Assert.StartsWith($"[1/2] attanchor / off · coco_pope_adversarial: {limit} items, acc ", progress[0], StringComparison.Ordinal);
        Assert.StartsWith($"[2/2] attanchor / default (τ=", progress[^2], StringComparison.Ordinal);
        Assert.Contains($" · aokvqa_pope_seem_random: {limit} items, acc ", progress[^2], StringComparison.Ordinal);

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outFolder, EvalReport.JsonFile)));
        JsonElement settings = json.RootElement.GetProperty("settings");
        JsonElement[] sources = [.. settings.GetProperty("data").EnumerateArray()];
        Assert.Equal(names, sources.Select(d => d.GetProperty("split").GetString()));
        Assert.All(sources, d => Assert.Equal((limit, PopeExcerpts.ItemsPerFile), (d.GetProperty("items").GetInt32(), d.GetProperty("items_in_file").GetInt32())));
        Assert.Equal(PopeExcerpts.Images, settings.GetProperty("images").GetString());

        // Every run answers the first items of every split, as PopeData reads them from the excerpts.
        IReadOnlyList<PopeSplit> expected = PopeData.Load(PopeExcerpts.DataFolders, PopeExcerpts.Images, limit);
        JsonElement[] runs = [.. json.RootElement.GetProperty("runs").EnumerateArray()];
        Assert.Equal(["attanchor / off", "attanchor / default"], runs.Select(r => r.GetProperty("label").GetString()!.Split(" (")[0]));
        foreach (JsonElement run in runs)
        {
            JsonElement[] splits = [.. run.GetProperty("splits").EnumerateArray()];
            Assert.Equal(names, splits.Select(s => s.GetProperty("split").GetString()));
            for (int s = 0; s < splits.Length; s++)
            {
                JsonElement[] items = [.. splits[s].GetProperty("items").EnumerateArray()];
                Assert.Equal(
                    expected[s].Items.Select(i => (i.QuestionId.GetInt32(), i.Image, i.Question, i.Label)),
                    items.Select(i => (i.GetProperty("question_id").GetInt32(), i.GetProperty("image").GetString()!, i.GetProperty("question").GetString()!, i.GetProperty("label").GetString()!)));
                Assert.All(items, i => Assert.Equal("yes_no", i.GetProperty("kind").GetString()));
                Assert.Equal(limit, splits[s].GetProperty("metrics").GetProperty("yes_no").GetProperty("count").GetInt32());
                Assert.Equal(JsonValueKind.Null, splits[s].GetProperty("metrics").GetProperty("open").ValueKind);
            }
        }

        // The summary table has each split's columns; report.md's detail table a row per run and split.
        Assert.StartsWith("| run | coco_pope_adversarial Acc | coco_pope_adversarial F1 | coco_pope_adversarial Yes% | coco_pope_popular Acc |", stdout, StringComparison.Ordinal);
        string markdown = File.ReadAllText(Path.Combine(outFolder, EvalReport.MarkdownFile));
        Assert.All(names, n => Assert.Contains($"| attanchor / off | {n} | {limit} |", markdown, StringComparison.Ordinal));
    }

    private static void AssertMetrics(SplitMetrics expected, JsonElement actual)
    {
        JsonElement yesNo = actual.GetProperty("yes_no");
        if (expected.YesNo is { } b)
        {
            Assert.Equal(
                (b.TruePositives, b.FalsePositives, b.TrueNegatives, b.FalseNegatives, b.Count),
                (yesNo.GetProperty("true_positives").GetInt32(), yesNo.GetProperty("false_positives").GetInt32(),
                 yesNo.GetProperty("true_negatives").GetInt32(), yesNo.GetProperty("false_negatives").GetInt32(), yesNo.GetProperty("count").GetInt32()));
            Assert.Equal(
                (b.Accuracy, b.Precision, b.Recall, b.F1, b.YesRatio),
                (yesNo.GetProperty("accuracy").GetDouble(), yesNo.GetProperty("precision").GetDouble(), yesNo.GetProperty("recall").GetDouble(),
                 yesNo.GetProperty("f1").GetDouble(), yesNo.GetProperty("yes_ratio").GetDouble()));
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, yesNo.ValueKind);
        }

        JsonElement open = actual.GetProperty("open");
        if (expected.Open is { } o)
        {
            Assert.Equal((o.Count, o.Correct, o.ExactMatch), (open.GetProperty("count").GetInt32(), open.GetProperty("correct").GetInt32(), open.GetProperty("exact_match").GetDouble()));
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, open.ValueKind);
        }
    }

    private static string Line(int id, string image, string text, string label) =>
        JsonSerializer.Serialize(new Dictionary<string, object> { ["question_id"] = id, ["image"] = image, ["text"] = text, ["label"] = label });

    /// <summary>
    /// <c>data/</c> with copies of three fixture images and two splits: <c>mixed</c> (yes/no and open items, 5 lines)
    /// and <c>yesno</c> (3 lines); <c>a.png</c> beside them for the error cases.
    /// </summary>
    private void WriteData()
    {
        string data = Directory.CreateDirectory(Path.Combine(_folder, "data")).FullName;
        foreach (string image in (string[])["square.png", "wide.png", "tall.png"])
        {
            File.Copy(Pipelines.ImagePath(image), Path.Combine(data, image), overwrite: true);
        }

        File.Copy(Pipelines.ImagePath("square.png"), Path.Combine(_folder, "a.png"), overwrite: true);
        File.WriteAllLines(Path.Combine(data, "mixed.jsonl"),
        [
            Line(1, "square.png", "Is there a red circle in the image?", "yes"),
            Line(2, "wide.png", "Is there a dog in the image?", "no"),
            "",
            Line(3, "square.png", "What color is the circle?", "Red"),
            Line(4, "tall.png", "Is there a blue square?", "Yes."),
            Line(5, "tall.png", "Is there a cat?", "no"),
        ]);
        File.WriteAllLines(Path.Combine(data, "yesno.jsonl"),
        [
            Line(10, "wide.png", "Is the image wide?", "yes"),
            Line(11, "square.png", "Is there a circle?", "yes"),
            Line(12, "tall.png", "Is there a car?", "no"),
        ]);
    }
}
