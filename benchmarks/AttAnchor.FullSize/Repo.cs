using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.FullSize;

/// <summary>Paths, the fixed workload and small helpers shared by the measurements.</summary>
internal static class Repo
{
    /// <summary>The question of every run.</summary>
    public const string Question = "What color is the circle?";

    /// <summary>Greedy, this many new tokens (fewer only when the model ends its answer).</summary>
    public const int NewTokens = 16;

    /// <summary>One JSON object per line; τ and the other non-ASCII characters as they are.</summary>
    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The repository root: the folder holding AttAnchor.sln, above the binaries or the working directory.</summary>
    public static string Root { get; } = FindRoot();

    public static string ImagePath => Path.Combine(Root, "models", "fixtures", "images", "square.png");

    public static string DefaultModel => Path.Combine(Root, "models", "generated", "tinyllava-v1");

    /// <summary>A path as given when it exists from the working directory, else from the repository root.</summary>
    public static string Resolve(string path) =>
        Path.IsPathRooted(path) || Directory.Exists(path) || File.Exists(path) ? Path.GetFullPath(path) : Path.GetFullPath(Path.Combine(Root, path));

    /// <summary>The peak working set of this process so far, in bytes.</summary>
    public static long PeakWorkingSet()
    {
        using Process self = Process.GetCurrentProcess();
        self.Refresh();
        return self.PeakWorkingSet64;
    }

    public static double Ms(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    public static JsonArray Array<T>(IEnumerable<T> values) => [.. values.Select(v => JsonValue.Create(v))];

    /// <summary>An answer's stage times in ms, its prefill positions, copies and token ids: the fields every measurement of ours reports.</summary>
    public static JsonObject Stages(VqaResult result)
    {
        StageTimings t = result.Timings;
        return new JsonObject
        {
            ["preprocess_ms"] = t.Preprocess.TotalMilliseconds,
            ["vision_ms"] = t.Vision.TotalMilliseconds,
            ["projector_ms"] = t.Projector.TotalMilliseconds,
            ["embed_ms"] = t.Embed.TotalMilliseconds,
            ["anchor_ms"] = t.Anchor.TotalMilliseconds,
            ["prefill_ms"] = t.Prefill.TotalMilliseconds,
            ["total_ms"] = t.Total.TotalMilliseconds,
            ["prefill_positions"] = result.SequenceLength,
            ["copies"] = result.Anchors.Count,
            ["token_ids"] = Array(result.TokenIds),
        };
    }

    private static string FindRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "AttAnchor.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
