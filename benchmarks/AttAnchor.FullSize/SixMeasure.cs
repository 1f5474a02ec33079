using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AttAnchor.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.FullSize;

/// <summary>
/// <c>measure six</c>: six POPE-style yes/no questions about the benchmark's image, answered one by
/// one from scratch (<see cref="VisionLanguageModel.AnswerAsync"/> each) and from one <see cref="ImageSession"/> (the
/// image encoded once, the prefix and image block's KV cache reused), with AttAnchor off, at τ = 0.12 and at the τ
/// that anchors ~10 % of the six questions' candidate tokens; greedy, <see cref="DefaultNewTokens"/> new tokens.
/// </summary>
internal static class SixMeasure
{
    /// <summary>
    /// LLaVA's POPE prompt: the question, a newline, then this instruction (LLaVA-1.5's model_vqa_loader), so the
    /// answer is one word.
    /// </summary>
    public const string Instruction = "Answer the question using a single word or phrase.";

    /// <summary>
    /// The new tokens of each answer. A POPE answer is one word, "Yes" or "No", then the end of sequence: 2 tokens for
    /// a model that follows the instruction. The random weights never emit EOS, so every answer is held to this many,
    /// the decoding a real POPE answer costs; longer answers would measure decoding, which reuse does not change.
    /// </summary>
    public const int DefaultNewTokens = 2;

    /// <summary>POPE's "Is there a … in the image?" about square.png: three objects it shows, three it does not.</summary>
    public static readonly string[] Questions =
    [
        "Is there a blue square in the image?",
        "Is there a red circle in the image?",
        "Is there a triangle in the image?",
        "Is there a dog in the image?",
        "Is there a circle in the image?",
        "Is there a green star in the image?",
    ];

    /// <summary>The chart <c>run</c> writes beside the report.</summary>
    public const string ChartFile = "benchmarks-fullsize-six.png";

    private const string Scratch = "from scratch";
    private const string Session = "image session";

    public static async Task<int> RunAsync(SixArgs args)
    {
        string folder = Repo.Resolve(args.Model);
        (int runs, int warmup, int threads, int newTokens) = (args.Runs, args.Warmup, args.Threads, args.NewTokens);

        using var model = VisionLanguageModel.Open(folder, new ModelOptions { Device = DevicePreference.Cpu, IntraOpThreads = threads });
        ModelImage image = model.LoadImage(Repo.ImagePath);
        string[] prompts = [.. Questions.Select(q => $"{q}\n{Instruction}")];
        Console.Error.WriteLine($"six: {folder} ({model.Config.Describe()}), {model.Device}, {threads} threads, {newTokens} new tokens");

        // τ for ~10 %, as `measure ours` finds it, over the six questions' candidates together: τ = −1 anchors every
        // valid candidate with its best similarity; the similarity at rank ceil(0.10 × count) anchors that many.
        var everyCandidate = new List<float>();
        foreach (string prompt in prompts)
        {
            VqaResult all = await model.AnswerAsync(image, prompt, Options(new AttAnchorOptions { Threshold = -1f }, 1));
            everyCandidate.AddRange(all.Anchors.Select(a => a.Similarity));
        }

        float[] similarities = [.. everyCandidate.OrderDescending()];
        int rank = Math.Max(1, (int)Math.Ceiling(0.10 * similarities.Length));
        float tenPercent = similarities[rank - 1];
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"six: {similarities.Length} candidate text tokens in the six questions; τ = {tenPercent:0.0000} is the similarity at rank {rank} (10 %)"));

        (string Name, AttAnchorOptions Anchoring)[] settings =
        [
            ("off", AttAnchorOptions.Off),
            ("τ=0.12", new AttAnchorOptions { Threshold = 0.12f }),
            (string.Create(CultureInfo.InvariantCulture, $"τ={tenPercent:0.0000} (10 %)"), new AttAnchorOptions { Threshold = tenPercent }),
        ];
        string[] modes = [Scratch, Session];
        var batches = new List<Batch>[settings.Length, modes.Length];
        for (int s = 0; s < settings.Length; s++)
        {
            for (int m = 0; m < modes.Length; m++)
            {
                batches[s, m] = [];
            }
        }

        // Runs interleave the settings and the two ways, so that drift on a shared machine touches them alike. A warm-up
        // round asks only the first question each way (the sessions and buffers are warm after one answer).
        for (int i = 0; i < warmup + runs; i++)
        {
            for (int s = 0; s < settings.Length; s++)
            {
                for (int m = 0; m < modes.Length; m++)
                {
                    string[] asked = i < warmup ? prompts[..1] : prompts;
                    Batch batch = await AnswerBatchAsync(model, image, asked, Options(settings[s].Anchoring, newTokens), modes[m] == Session);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"six {(i < warmup ? "warm-up" : $"run {i - warmup + 1}/{runs}")} {settings[s].Name}, {modes[m]}: {batch.Milliseconds:F0} ms, {batch.QuestionsPerSecond:F3} questions/s, reused [{string.Join(", ", batch.Answers.Select(a => a.ReusedPrefixLength))}]"));
                    if (i >= warmup)
                    {
                        batches[s, m].Add(batch);
                    }
                }
            }
        }

        long peak = Repo.PeakWorkingSet();
        for (int s = 0; s < settings.Length; s++)
        {
            for (int m = 0; m < modes.Length; m++)
            {
                VqaResult[] first = batches[s, m][0].Answers;
                var line = new JsonObject
                {
                    ["system"] = "ours",
                    ["measure"] = "six",
                    ["setting"] = settings[s].Name,
                    ["mode"] = modes[m],
                    ["model"] = folder,
                    ["threads"] = threads,
                    ["questions"] = Repo.Array(prompts),
                    ["max_new_tokens"] = newTokens,
                    ["threshold"] = settings[s].Anchoring.IsIdentity ? null : settings[s].Anchoring.Threshold,
                    ["candidates"] = similarities.Length,
                    ["shared_prefix_positions"] = batches[s, modes.Length - 1][0].SharedPrefixLength,
                    ["prefill_positions"] = Repo.Array(first.Select(a => a.SequenceLength)),
                    ["copies"] = Repo.Array(first.Select(a => a.Anchors.Count)),
                    ["reused_positions"] = Repo.Array(first.Select(a => a.ReusedPrefixLength)),
                    ["peak_working_set_bytes"] = peak,
                    ["versions"] = OursMeasure.Versions(),
                    ["runs"] = new JsonArray([.. batches[s, m].Select(b => b.ToJson())]),
                };
                Console.WriteLine(line.ToJsonString(Repo.Json));
            }
        }

        return 0;
    }

    /// <summary>The Markdown section of <c>run</c>'s report for the JSON lines of <c>measure six</c>; empty when there are none.</summary>
    public static string Markdown(IReadOnlyList<JsonObject> lines, int runs, int warmup)
    {
        if (lines.Count == 0)
        {
            return string.Empty;
        }

        var md = new StringBuilder();
        void Line(FormattableString text) => md.AppendLine(text.ToString(CultureInfo.InvariantCulture));
        JsonObject head = lines[0];
        string[] questions = [.. (head["questions"] as JsonArray ?? []).Select(q => (string?)q ?? "?")];
        int newTokens = (int?)head["max_new_tokens"] ?? 0;
        int shared = (int?)head["shared_prefix_positions"] ?? 0;
        Line($"### Six questions about one image");
        Line($"");
        Line($"`measure six` on `{Path.GetRelativePath(Repo.Root, (string?)head["model"] ?? "?")}` and the same image: POPE's six-questions-per-image workload, asked one by one **from scratch** (`model.AnswerAsync` each: preprocess, vision, projector and the whole prefill every time) and from one **image session** (`model.OpenImage` once, then `session.AnswerAsync`: the image encoded once, the KV cache of the {shared} positions of prompt prefix and image block prefilled once and reused up to the first AttAnchor copy). Greedy, at most {newTokens} new tokens (a POPE answer is one word and the end of sequence; the random weights never stop by themselves, so each answer is held to that), {runs} measured run{(runs == 1 ? string.Empty : "s")} after {warmup} warm-up, the settings and both ways interleaved. The questions, each followed by \"\\n{Instruction}\" as LLaVA's POPE prompt does: {string.Join("; ", questions.Select(q => $"\"{q.Split('\n')[0]}\""))}.");
        Line($"");
        Line($"| setting | way | questions / s | six questions | open (vision, once) | prefill / question | decode / question | reused of {shared} | copies | speed-up |");
        Line($"| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |");
        var rows = lines.Select(l => new SixRow(l)).ToList();
        foreach (SixRow row in rows)
        {
            SixRow? scratch = rows.FirstOrDefault(r => r.Setting == row.Setting && r.Mode == Scratch);
            string speedUp = row.Mode == Session && scratch is not null ? Ratio(row.Median("questions_per_second"), scratch.Median("questions_per_second")) : "—";
            string open = row.Mode == Session ? Cell(row.Values("open_ms")) : "—";
            Line($"| {row.Setting} | {row.Mode} | {Cell(row.Values("questions_per_second"), qps: true)} | {Cell(row.Values("batch_ms"))} | {open} | {Cell(row.AnswerValues("prefill_ms"))} | {Cell(row.AnswerValues("decode_ms"))} | {string.Join(", ", row.Reused)} | {string.Join(", ", row.Copies)} | {speedUp} |");
        }

        Line($"");
        Line($"Questions / s: six divided by the batch's time, median (min–max) over the runs; six questions: the batch in ms, from the decoded image to the last token (the session's opening included); open: `OpenImage` (preprocess, vision encoder, projector); prefill and decode / question: the median answer's stages (a session's first answer also prefills the shared {shared} positions once; its `SharedPrefill`); reused: `ReusedPrefixLength` of each question in order (from scratch: 0); copies: AttAnchor's copies of each question; speed-up: the session's questions / s over from scratch's, medians.");
        Line($"");

        SixRow? offScratch = rows.FirstOrDefault(r => r.Setting == "off" && r.Mode == Scratch);
        SixRow? offSession = rows.FirstOrDefault(r => r.Setting == "off" && r.Mode == Session);
        if (offScratch is not null && offSession is not null)
        {
            double off = offSession.Median("questions_per_second") / offScratch.Median("questions_per_second");
            Line($"- Plain LLaVA (off): {Ratio(offSession.Median("questions_per_second"), offScratch.Median("questions_per_second"))} the questions per second from scratch (target ≥ 3x: **{(off >= 3 ? "met" : "not met")}**).");
            foreach (string setting in rows.Select(r => r.Setting).Distinct().Where(s => s != "off"))
            {
                SixRow? a = rows.FirstOrDefault(r => r.Setting == setting && r.Mode == Scratch);
                SixRow? b = rows.FirstOrDefault(r => r.Setting == setting && r.Mode == Session);
                if (a is null || b is null)
                {
                    continue;
                }

                double on = b.Median("questions_per_second") / a.Median("questions_per_second");
                Line($"- Text-into-image {setting}: {on:F2}x, so it keeps **{(off > 1 ? (on - 1) / (off - 1) * 100 : double.NaN):F0} %** of the plain speed-up's gain (({on:F2} − 1) / ({off:F2} − 1)); reused {string.Join(", ", b.Reused)} of {shared} positions, copies {string.Join(", ", b.Copies)}.");
            }
        }

        Line($"- Greedy tokens: {Agreement(rows)}.");
        Line($"");
        Line($"![Six questions about one image: questions per second](benchmarks-fullsize-six.png)");
        return md.ToString();
    }

    private static async Task<Batch> AnswerBatchAsync(VisionLanguageModel model, ModelImage image, string[] prompts, GenerationOptions options, bool session)
    {
        var answers = new VqaResult[prompts.Length];
        long start = Stopwatch.GetTimestamp();
        double open = 0;
        int shared = 0;
        if (session)
        {
            using ImageSession opened = model.OpenImage(image);
            open = Repo.Ms(start);
            shared = opened.SharedPrefixLength;
            for (int q = 0; q < prompts.Length; q++)
            {
                answers[q] = await opened.AnswerAsync(prompts[q], options);
            }
        }
        else
        {
            for (int q = 0; q < prompts.Length; q++)
            {
                answers[q] = await model.AnswerAsync(image, prompts[q], options);
            }
        }

        return new Batch(Repo.Ms(start), open, shared, answers);
    }

    private static GenerationOptions Options(AttAnchorOptions anchoring, int newTokens) =>
        new() { MaxNewTokens = newTokens, Temperature = 0f, Anchoring = anchoring };

    private static string Agreement(List<SixRow> rows)
    {
        var parts = new List<string>();
        foreach (string setting in rows.Select(r => r.Setting).Distinct())
        {
            SixRow? a = rows.FirstOrDefault(r => r.Setting == setting && r.Mode == Scratch);
            SixRow? b = rows.FirstOrDefault(r => r.Setting == setting && r.Mode == Session);
            if (a is null || b is null)
            {
                continue;
            }

            int differ = a.FirstTokens.Zip(b.FirstTokens).Count(t => !t.First.AsSpan().SequenceEqual(t.Second));
            parts.Add(differ == 0 ? $"{setting}: the session's six answers = from scratch's" : $"{setting}: {differ} of the six answers differ from scratch's");
        }

        bool stable = rows.All(r => r.Runs.Select(run => string.Join(";", SixRow.Tokens(run).Select(t => string.Join(",", t)))).Distinct().Count() <= 1);
        return $"{string.Join("; ", parts)} ({(stable ? "every run gave the same tokens" : "runs differ")})";
    }

    private static string Cell(double[] values, bool qps = false)
    {
        if (values.Length == 0)
        {
            return "—";
        }

        string F(double v) => qps ? v.ToString(v < 1 ? "F3" : "F2", CultureInfo.InvariantCulture) : Ms(v);
        return $"{F(Stats.Median(values))} ({F(values[0])}–{F(values[^1])})";
    }

    private static string Ms(double ms) =>
        Math.Abs(ms) < 10 ? ms.ToString("F2", CultureInfo.InvariantCulture)
        : Math.Abs(ms) < 100 ? ms.ToString("F1", CultureInfo.InvariantCulture)
        : ms.ToString("F0", CultureInfo.InvariantCulture);

    private static string Ratio(double a, double b) => double.IsFinite(a / b) ? $"{a / b:F2}x" : "—";

    /// <summary>One batch: six answers, how long they took together, and the session's opening.</summary>
    private sealed record Batch(double Milliseconds, double OpenMilliseconds, int SharedPrefixLength, VqaResult[] Answers)
    {
        public double QuestionsPerSecond => Answers.Length / (Milliseconds / 1000);

        public JsonObject ToJson() => new()
        {
            ["batch_ms"] = Milliseconds,
            ["questions_per_second"] = QuestionsPerSecond,
            ["open_ms"] = OpenMilliseconds,
            ["answers"] = new JsonArray([.. Answers.Select(Answer)]),
        };

        private static JsonObject Answer(VqaResult result)
        {
            JsonObject answer = Repo.Stages(result);
            answer["shared_prefill_ms"] = result.Timings.SharedPrefill.TotalMilliseconds;
            answer["decode_ms"] = result.Timings.Decode.TotalMilliseconds;
            answer["decode_steps"] = result.Timings.DecodeSteps;
            answer["reused_positions"] = result.ReusedPrefixLength;
            answer["text"] = result.Text;
            return answer;
        }
    }

    /// <summary>One line of <c>measure six</c>: a setting and a way, with its runs.</summary>
    private sealed class SixRow(JsonObject json)
    {
        public string Setting => (string?)json["setting"] ?? "?";

        public string Mode => (string?)json["mode"] ?? "?";

        public JsonArray Runs => json["runs"] as JsonArray ?? [];

        public int[] Reused => Ints(json["reused_positions"]);

        public int[] Copies => Ints(json["copies"]);

        /// <summary>The first run's answers' tokens.</summary>
        public int[][] FirstTokens => Runs.Count > 0 ? Tokens(Runs[0]) : [];

        public static int[][] Tokens(JsonNode? run) =>
            [.. (run?["answers"] as JsonArray ?? []).Select(a => Ints(a?["token_ids"]))];

        /// <summary>A run-level field over the runs, sorted.</summary>
        public double[] Values(string key) =>
            [.. Runs.Select(r => r?[key] is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN).Where(double.IsFinite).Order()];

        /// <summary>An answer-level field over every answer of every run, sorted.</summary>
        public double[] AnswerValues(string key) =>
            [.. Runs.SelectMany(r => r?["answers"] as JsonArray ?? []).Select(a => a?[key] is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN).Where(double.IsFinite).Order()];

        public double Median(string key) => Stats.Median(Values(key));

        private static int[] Ints(JsonNode? node) => [.. (node as JsonArray ?? []).Select(t => (int?)t ?? -1)];
    }
}
