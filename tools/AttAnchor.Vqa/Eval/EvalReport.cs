using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AttAnchor.Vqa.Eval;

/// <summary>What the evaluator was asked to do: written at the top of <c>report.json</c>.</summary>
/// <param name="Models">The <c>--model</c> folders, as given.</param>
/// <param name="Data">The splits read from <c>--data</c>.</param>
/// <param name="Configs">The <c>--config</c> values (or the defaults, <c>off</c> and <c>default</c>).</param>
/// <param name="Images">The <c>--images</c> folder, or null when images are beside their JSONL files.</param>
/// <param name="QuestionSuffix">The <c>--question-suffix</c>, appended to each question after a space; null when none.</param>
/// <param name="Limit">The <c>--limit</c> per split, or null.</param>
/// <param name="MaxNewTokens">The most tokens generated per answer, the EOS included.</param>
/// <param name="Temperature">Always 0: greedy decoding.</param>
/// <param name="Device">The <c>--device</c> asked for (<c>auto</c> when not given); each run says where it ran.</param>
/// <param name="Threads">The <c>--threads</c> (0: ONNX Runtime chooses).</param>
/// <param name="Exif">The <c>--exif</c>: <c>apply</c> (images turned as their EXIF orientation says) or <c>ignore</c>.</param>
internal sealed record EvalSettings(
    IReadOnlyList<string> Models, IReadOnlyList<DataSource> Data, IReadOnlyList<string> Configs, string? Images, string? QuestionSuffix,
    int? Limit, int MaxNewTokens, float Temperature, string Device, int Threads, string Exif);

/// <summary>One split's source.</summary>
/// <param name="Split">The split's name (the file name without extension).</param>
/// <param name="File">The JSONL file.</param>
/// <param name="Items">The items evaluated.</param>
/// <param name="ItemsInFile">The items in the file (more than <paramref name="Items"/> under <c>--limit</c>).</param>
internal sealed record DataSource(string Split, string File, int Items, int ItemsInFile);

/// <summary>One run: one model with one AttAnchor config over every split.</summary>
/// <param name="Label">"&lt;model folder name&gt; / &lt;config&gt;", as in the tables and the chart.</param>
/// <param name="Model">The model folder, as given.</param>
/// <param name="Config">The AttAnchor settings used.</param>
/// <param name="Device">Where the model ran (<c>cpu</c>, <c>cuda:0</c>).</param>
/// <param name="DeviceReason">Why there.</param>
/// <param name="Splits">Each split's metrics and items, in <c>--data</c> order.</param>
internal sealed record RunReport(string Label, string Model, RunConfig Config, string Device, string DeviceReason, IReadOnlyList<SplitReport> Splits);

/// <summary>A run's AttAnchor settings.</summary>
/// <param name="Name">The <c>--config</c> value the run came from.</param>
/// <param name="Enabled">Whether anchoring was on (false for <c>off</c>).</param>
/// <param name="Threshold">τ.</param>
/// <param name="Direction"><c>text-into-image</c> or <c>image-into-text</c>.</param>
internal sealed record RunConfig(string Name, bool Enabled, float Threshold, string Direction);

/// <summary>One split of one run.</summary>
/// <param name="Split">The split's name.</param>
/// <param name="Metrics">Its metrics (<see cref="PopeMetrics.Summarize"/> of <paramref name="Items"/>).</param>
/// <param name="Items">Every item, in file order.</param>
internal sealed record SplitReport(string Split, SplitMetrics Metrics, IReadOnlyList<ItemReport> Items);

/// <summary>One answered item.</summary>
/// <param name="QuestionId">The line's <c>question_id</c>, as written.</param>
/// <param name="Image">The line's <c>image</c>, as written.</param>
/// <param name="Question">The line's <c>text</c> (the model was asked it with the settings' question suffix).</param>
/// <param name="Label">The line's <c>label</c>, as written.</param>
/// <param name="Kind"><c>yes_no</c> or <c>open</c>.</param>
/// <param name="Expected">The prediction that counts as correct: <c>yes</c>, <c>no</c> or the normalised label.</param>
/// <param name="Answer">The generated text.</param>
/// <param name="Prediction"><c>yes</c> or <c>no</c> (LLaVA's rule) for a yes/no item, the normalised answer for an open one.</param>
/// <param name="Correct">Whether the prediction equals <paramref name="Expected"/>.</param>
/// <param name="Anchors">How many copies AttAnchor inserted.</param>
/// <param name="SequenceLength">The length of the sequence the decoder was fed.</param>
internal sealed record ItemReport(
    JsonElement QuestionId, string Image, string Question, string Label, ItemKind Kind, string Expected, string Answer, string Prediction, bool Correct, int Anchors, int SequenceLength);

/// <summary>
/// The evaluator's result and its three files: <c>report.json</c> (everything), <c>report.md</c> (a summary table
/// and a detail table) and <c>report.png</c> (a grouped bar chart).
/// </summary>
/// <param name="Settings">What was asked.</param>
/// <param name="Runs">Every run, models outer, configs inner.</param>
internal sealed record EvalReport(EvalSettings Settings, IReadOnlyList<RunReport> Runs)
{
    /// <summary>The JSON file's name.</summary>
    public const string JsonFile = "report.json";

    /// <summary>The Markdown file's name.</summary>
    public const string MarkdownFile = "report.md";

    /// <summary>The chart's file name.</summary>
    public const string ChartFile = "report.png";

    /// <summary>snake_case names, indented, non-ASCII text (τ, ▁) written as is.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter<ItemKind>(JsonNamingPolicy.SnakeCaseLower) },
        TypeInfoResolver = EvalReportJsonContext.Default, // source-generated: no reflection, so the console publishes with Native AOT
    };

    /// <summary>Writes <c>report.json</c>, <c>report.md</c> and <c>report.png</c> into <paramref name="folder"/> (created if missing).</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, JsonFile), JsonSerializer.Serialize(this, (JsonTypeInfo<EvalReport>)JsonOptions.GetTypeInfo(typeof(EvalReport))) + "\n");
        File.WriteAllText(Path.Combine(folder, MarkdownFile), Markdown());
        Chart().SavePng(Path.Combine(folder, ChartFile));
    }

    /// <summary>
    /// The summary table: one row per run; per split, Acc, F1 and Yes% (percent) for its yes/no items and EM
    /// (percent) for its open items.
    /// </summary>
    public string SummaryTable()
    {
        var header = new List<string> { "run" };
        foreach (var (split, yesNo, open) in SplitParts())
        {
            if (yesNo)
            {
                header.AddRange([$"{split} Acc", $"{split} F1", $"{split} Yes%"]);
            }

            if (open)
            {
                header.Add($"{split} EM");
            }
        }

        var rows = new List<IReadOnlyList<string>>();
        foreach (RunReport run in Runs)
        {
            var row = new List<string> { run.Label };
            foreach (var (split, yesNo, open) in SplitParts())
            {
                SplitMetrics? metrics = run.Splits.FirstOrDefault(s => s.Split == split)?.Metrics;
                if (yesNo)
                {
                    BinaryMetrics? b = metrics?.YesNo;
                    row.AddRange([Percent(b?.Accuracy), Percent(b?.F1), Percent(b?.YesRatio)]);
                }

                if (open)
                {
                    row.Add(Percent(metrics?.Open?.ExactMatch));
                }
            }

            rows.Add(row);
        }

        return Table(header, rows);
    }

    /// <summary>The detail table: one row per run and split with every metric and count.</summary>
    public string DetailTable()
    {
        string[] header = ["run", "split", "yes/no n", "Acc %", "Precision %", "Recall %", "F1 %", "Yes %", "TP", "FP", "TN", "FN", "open n", "EM %"];
        var rows = new List<IReadOnlyList<string>>();
        foreach (RunReport run in Runs)
        {
            foreach (SplitReport split in run.Splits)
            {
                BinaryMetrics? b = split.Metrics.YesNo;
                OpenMetrics? o = split.Metrics.Open;
                rows.Add([
                    run.Label, split.Split,
                    Count(b?.Count), Percent(b?.Accuracy), Percent(b?.Precision), Percent(b?.Recall), Percent(b?.F1), Percent(b?.YesRatio),
                    Count(b?.TruePositives), Count(b?.FalsePositives), Count(b?.TrueNegatives), Count(b?.FalseNegatives),
                    Count(o?.Count), Percent(o?.ExactMatch),
                ]);
            }
        }

        return Table(header, rows);
    }

    /// <summary>The whole <c>report.md</c>: the settings, both tables and what the metrics mean.</summary>
    public string Markdown()
    {
        var md = new StringBuilder();
        md.Append("# POPE-style evaluation\n\n");
        foreach (DataSource d in Settings.Data)
        {
            md.Append(CultureInfo.InvariantCulture, $"- split `{d.Split}`: {d.Items} of the {d.ItemsInFile} items of `{d.File}`\n");
        }

        md.Append(CultureInfo.InvariantCulture, $"- greedy decoding, at most {Settings.MaxNewTokens} new tokens");
        md.Append(Settings.QuestionSuffix is null ? "; no question suffix\n" : $"; question suffix `{Settings.QuestionSuffix}`\n");
        md.Append(Settings.Exif == "ignore" ? "- images as stored, EXIF orientation ignored\n" : "- images turned as their EXIF orientation says\n");
        foreach (RunReport run in Runs)
        {
            md.Append(CultureInfo.InvariantCulture, $"- {Escape(run.Label)}: `{run.Model}` on {run.Device}\n");
        }

        md.Append("\n## Summary\n\n").Append(SummaryTable());
        md.Append("\n## All metrics\n\n").Append(DetailTable());
        md.Append('\n').Append(
            "Percentages. Yes/no items (label `yes` or `no`) are read with LLaVA's `eval_pope.py` rule (the answer's first sentence is no " +
            "when a word is `No`, `not` or `no`, else yes), \"yes\" being positive: Acc = (TP + TN) / n, Precision = TP / (TP + FP) " +
            "(0 when nothing is predicted yes), Recall = TP / (TP + FN) (0 when no label is yes), F1 = 2PR / (P + R) (0 when P + R = 0), " +
            "Yes = (TP + FP) / n. Open items (any other label): EM is the share whose answer equals the label after trimming, " +
            "lower-casing, dropping one trailing `.` and collapsing white space.\n");
        return md.ToString();
    }

    /// <summary>The chart: one group per split part (accuracy of the yes/no items, exact match of the open ones), one bar per run.</summary>
    public BarChart Chart()
    {
        var groups = new List<string>();
        var values = Runs.Select(_ => new List<double?>()).ToList();
        foreach (var (split, yesNo, open) in SplitParts())
        {
            if (yesNo)
            {
                groups.Add(open ? $"{split} acc" : split);
                for (int r = 0; r < Runs.Count; r++)
                {
                    values[r].Add(Runs[r].Splits.FirstOrDefault(s => s.Split == split)?.Metrics.YesNo?.Accuracy * 100);
                }
            }

            if (open)
            {
                groups.Add($"{split} EM");
                for (int r = 0; r < Runs.Count; r++)
                {
                    values[r].Add(Runs[r].Splits.FirstOrDefault(s => s.Split == split)?.Metrics.Open?.ExactMatch * 100);
                }
            }
        }

        return new BarChart(
            "POPE-style evaluation: accuracy (yes/no) and exact match (open), %",
            groups,
            [.. Runs.Select((run, r) => new BarSeries(run.Label, values[r]))]);
    }

    /// <summary>Each split in order, with whether any run has yes/no items and open items in it.</summary>
    private IEnumerable<(string Split, bool YesNo, bool Open)> SplitParts() =>
        Settings.Data.Select(d => (
            d.Split,
            Runs.Any(r => r.Splits.Any(s => s.Split == d.Split && s.Metrics.YesNo is not null)),
            Runs.Any(r => r.Splits.Any(s => s.Split == d.Split && s.Metrics.Open is not null))));

    private static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var md = new StringBuilder();
        md.Append("| ").AppendJoin(" | ", header.Select(Escape)).Append(" |\n");
        md.Append("| --- |").Append(string.Concat(Enumerable.Repeat(" ---: |", header.Count - 1))).Append('\n');
        foreach (IReadOnlyList<string> row in rows)
        {
            md.Append("| ").AppendJoin(" | ", row.Select(Escape)).Append(" |\n");
        }

        return md.ToString();
    }

    private static string Percent(double? fraction) => fraction is double f ? (f * 100).ToString("F1", CultureInfo.InvariantCulture) : "–";

    private static string Count(int? count) => count is int c ? c.ToString(CultureInfo.InvariantCulture) : "–";

    private static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal);
}

/// <summary>The report's JSON metadata, generated at compile time.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(EvalReport))]
internal sealed partial class EvalReportJsonContext : JsonSerializerContext;
