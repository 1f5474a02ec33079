using System.Globalization;
using AttAnchor;
using AttAnchor.OnnxRuntime;

/// <summary>
/// Per-stage timings of the pipeline on the committed fixture: several answers, the median and the
/// spread of each stage, and AttAnchor's share of the total. Run with
/// <c>dotnet run -c Release --project benchmarks/AttAnchor.Benchmarks -- pipeline [runs]</c>; prints Markdown.
/// </summary>
internal static class PipelineReport
{
    public const string Question = "What color is the circle?";

    public static string FixtureFolder() => Path.Combine(Root(), "models", "fixtures", "tiny-336-gqa");

    public static string ImagePath() => Path.Combine(Root(), "models", "fixtures", "images", "square.png");

    public static async Task RunAsync(int runs)
    {
        using var model = VisionLanguageModel.Open(FixtureFolder(), new ModelOptions { Device = DevicePreference.Cpu });
        ModelImage image = model.LoadImage(ImagePath());
        Console.WriteLine($"model: {FixtureFolder()} ({model.Config.Describe()}), device {model.Device}");
        Console.WriteLine($"question: \"{Question}\" on square.png, greedy, 32 new tokens, {runs} runs of each setting, interleaved, after 5 warm-up runs");
        Console.WriteLine();
        Console.WriteLine("| AttAnchor | L | preprocess | vision | projector | embed | AttAnchor | prefill | decode / token | total | AttAnchor share |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        // Warm both settings up, then interleave them, so that neither pays for the other's warm-up or the machine's mood.
        AttAnchorOptions[] settings = [AttAnchorOptions.Off, AttAnchorOptions.Default];
        var results = settings.Select(_ => new List<VqaResult>()).ToArray();
        for (int i = 0; i < 5 + runs; i++)
        {
            for (int s = 0; s < settings.Length; s++)
            {
                VqaResult result = await model.AnswerAsync(image, Question, new GenerationOptions { MaxNewTokens = 32, Anchoring = settings[s] });
                if (i >= 5)
                {
                    results[s].Add(result);
                }
            }
        }

        for (int s = 0; s < settings.Length; s++)
        {
            List<VqaResult> runsOf = results[s];
            string Cell(Func<StageTimings, TimeSpan> stage)
            {
                double[] ms = [.. runsOf.Select(r => stage(r.Timings).TotalMilliseconds).Order()];
                return string.Create(CultureInfo.InvariantCulture, $"{ms[ms.Length / 2]:F2} ({ms[0]:F2}–{ms[^1]:F2})");
            }

            double share = runsOf.Select(r => r.Timings.Anchor / r.Timings.Total).Order().ElementAt(runs / 2);
            string name = settings[s].IsIdentity ? "off" : $"τ = {settings[s].Threshold.ToString(CultureInfo.InvariantCulture)}, {runsOf[0].Anchors.Count} copies";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {runsOf[0].SequenceLength} | {Cell(t => t.Preprocess)} | {Cell(t => t.Vision)} | {Cell(t => t.Projector)} | {Cell(t => t.Embed)} | {Cell(t => t.Anchor)} | {Cell(t => t.Prefill)} | {Cell(t => t.DecodePerToken)} | {Cell(t => t.Total)} | {share:P2} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Milliseconds: median (min–max). Decode / token: one decode step (embed the token, run the decoder, sample).");
        Console.WriteLine();

        // Steady-state managed allocation per generated token: (answer of 40 tokens − answer of 8) / 32, all threads.
        foreach (AttAnchorOptions anchoring in (AttAnchorOptions[])[AttAnchorOptions.Off, AttAnchorOptions.Default])
        {
            long[] perToken = new long[runs];
            for (int i = 0; i < runs; i++)
            {
                long shortRun = await AllocatedAsync(model, image, anchoring, 8);
                long longRun = await AllocatedAsync(model, image, anchoring, 40);
                perToken[i] = (longRun - shortRun) / 32;
            }

            Array.Sort(perToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"managed allocation per generated token, AttAnchor {(anchoring.IsIdentity ? "off" : "on")}: median {perToken[runs / 2]} B (min {perToken[0]} B, max {perToken[^1]} B)"));
        }
    }

    private static async Task<long> AllocatedAsync(VisionLanguageModel model, ModelImage image, AttAnchorOptions anchoring, int tokens)
    {
        var options = new GenerationOptions { MaxNewTokens = tokens, Anchoring = anchoring };
        long before = GC.GetTotalAllocatedBytes(precise: true);
        VqaResult result = await model.AnswerAsync(image, Question, options);
        long after = GC.GetTotalAllocatedBytes(precise: true);
        return result.TokenIds.Count == tokens ? after - before : throw new InvalidOperationException($"stopped after {result.TokenIds.Count} tokens");
    }

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AttAnchor.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run the benchmarks from inside the repository (no AttAnchor.sln above the binaries).");
    }
}
