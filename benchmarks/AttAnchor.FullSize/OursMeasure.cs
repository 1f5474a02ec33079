using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using AttAnchor.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.FullSize;

/// <summary>
/// <c>measure ours</c>: the library's pipeline, opened once on the CPU, with AttAnchor off, at τ = 0.12 and at a
/// τ that anchors about 10 % of the candidate text tokens, interleaved run by run. The stage times are
/// <see cref="VqaResult.Timings"/>.
/// </summary>
internal static class OursMeasure
{
    public static async Task<int> RunAsync(OursArgs args)
    {
        string folder = Repo.Resolve(args.Model);
        (int runs, int warmup, int threads) = (args.Runs, args.Warmup, args.Threads);
        string? label = args.Label;          // a variant of the model (e.g. "4-bit"): its rows are "ours (label)"
        bool offOnly = args.OffOnly;

        using var model = VisionLanguageModel.Open(folder, new ModelOptions { Device = DevicePreference.Cpu, IntraOpThreads = threads });
        ModelImage image = model.LoadImage(Repo.ImagePath);
        Console.Error.WriteLine($"ours: {folder} ({model.Config.Describe()}), {model.Device}, {threads} threads");

        // τ for ~10 %: τ = −1 anchors every valid candidate and lists each with its best similarity; the similarity at
        // rank ceil(0.10 × count) (descending) anchors that many tokens, since a token is copied when its similarity ≥ τ.
        VqaResult all = await model.AnswerAsync(image, Repo.Question, Options(new AttAnchorOptions { Threshold = -1f }));
        float[] similarities = [.. all.Anchors.Select(a => a.Similarity).OrderDescending()];
        int rank = Math.Max(1, (int)Math.Ceiling(0.10 * similarities.Length));
        float tenPercent = similarities[rank - 1];
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ours: {similarities.Length} candidate text tokens; τ = {tenPercent:0.0000} is the similarity at rank {rank} (10 %)"));

        (string Name, AttAnchorOptions Anchoring)[] settings = offOnly
            ? [("off", AttAnchorOptions.Off)]
            :
            [
                ("off", AttAnchorOptions.Off),
                ("τ=0.12", new AttAnchorOptions { Threshold = 0.12f }),
                (string.Create(CultureInfo.InvariantCulture, $"τ={tenPercent:0.0000} (10 %)"), new AttAnchorOptions { Threshold = tenPercent }),
            ];
        var results = settings.Select(_ => new List<VqaResult>()).ToArray();
        for (int i = 0; i < warmup + runs; i++)
        {
            for (int s = 0; s < settings.Length; s++)
            {
                VqaResult result = await model.AnswerAsync(image, Repo.Question, Options(settings[s].Anchoring));
                Console.Error.WriteLine($"ours {(i < warmup ? "warm-up" : $"run {i - warmup + 1}/{runs}")} {settings[s].Name}: {result.Timings}");
                if (i >= warmup)
                {
                    results[s].Add(result);
                }
            }
        }

        long peak = Repo.PeakWorkingSet();
        for (int s = 0; s < settings.Length; s++)
        {
            VqaResult first = results[s][0];
            var line = new JsonObject
            {
                ["system"] = label is null ? "ours" : $"ours ({label})",
                ["setting"] = settings[s].Name,
                ["model"] = folder,
                ["threads"] = threads,
                ["prefill_positions"] = first.SequenceLength,
                ["baseline_positions"] = first.BaselineSequenceLength,
                ["copies"] = first.Anchors.Count,
                ["candidates"] = similarities.Length,
                ["threshold"] = settings[s].Anchoring.IsIdentity ? null : settings[s].Anchoring.Threshold,
                ["new_tokens"] = first.TokenIds.Count,
                ["peak_working_set_bytes"] = peak,
                ["decoder_bytes"] = DecoderBytes(folder),
                ["versions"] = Versions(),
                ["runs"] = new JsonArray([.. results[s].Select(Run)]),
            };
            Console.WriteLine(line.ToJsonString(Repo.Json));
        }

        return 0;
    }

    /// <summary>The ONNX Runtime and .NET versions, as every C# measurement reports them.</summary>
    public static JsonObject Versions() => new()
    {
        ["onnxruntime"] = OrtEnv.Instance().GetVersionString(),
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
    };

    /// <summary>The decoder graph and its external data on disk: what a decode step reads at least once.</summary>
    public static long DecoderBytes(string folder) =>
        new[] { "decoder_model_merged.onnx", "decoder_model_merged.onnx.data" }.Select(f => Path.Combine(folder, f)).Where(File.Exists).Sum(f => new FileInfo(f).Length);

    private static GenerationOptions Options(AttAnchorOptions anchoring) =>
        new() { MaxNewTokens = Repo.NewTokens, Temperature = 0f, Anchoring = anchoring };

    private static JsonObject Run(VqaResult result)
    {
        JsonObject run = Repo.Stages(result);
        run["decode_ms_per_token"] = result.Timings.DecodePerToken.TotalMilliseconds;
        return run;
    }
}
