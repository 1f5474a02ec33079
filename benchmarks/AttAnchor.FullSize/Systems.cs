using System.Text.Json.Nodes;

namespace AttAnchor.FullSize;

/// <summary>One row of the report: a system and setting with its runs, as a <c>measure</c> printed it.</summary>
internal sealed class Row(JsonObject json)
{
    /// <summary>The stages of the chart and the table, in pipeline order: JSON key and label.</summary>
    public static readonly (string Key, string Label)[] Stages =
    [
        ("preprocess_ms", "preprocess"),
        ("vision_ms", "vision"),
        ("projector_ms", "projector"),
        ("embed_ms", "embed"),
        ("anchor_ms", "AttAnchor"),
        ("prefill_ms", "prefill"),
    ];

    public JsonObject Json { get; } = json;

    public string System => (string?)Json["system"] ?? "?";

    public string? Setting => (string?)Json["setting"];

    public string Name => Setting is null ? System : $"{System} {Setting}";

    /// <summary>The name with AttAnchor's copies, for the table and the chart.</summary>
    public string DisplayName => IsOursAnchored ? $"{Name}, {Copies} {(Copies == 1 ? "copy" : "copies")}" : Name;

    public bool IsOursOff => System == "ours" && Setting == "off";

    public bool IsOursAnchored => System == "ours" && Setting is not null && Setting != "off";

    public int Positions => Int("prefill_positions");

    public int Copies => Int("copies");

    public long? PeakWorkingSet => Json["peak_working_set_bytes"] is JsonValue v && v.TryGetValue(out long bytes) ? bytes : null;

    /// <summary>The decoder graph's bytes on disk (ours only; 0 when not reported).</summary>
    public long DecoderBytes => Json["decoder_bytes"] is JsonValue v && v.TryGetValue(out long b) ? b : 0;

    public JsonArray Runs => Json["runs"] as JsonArray ?? [];

    /// <summary>The token ids of each run.</summary>
    public IReadOnlyList<int[]> Tokens => [.. Runs.Select(r => (r?["token_ids"] as JsonArray ?? []).Select(t => (int?)t ?? -1).ToArray())];

    /// <summary>The values of one field over the runs, sorted; empty when the system does not report it.</summary>
    public double[] Values(string key) =>
        [.. Runs.Select(r => r?[key] is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN).Where(double.IsFinite).Order()];

    /// <summary>The median of one field, NaN when absent.</summary>
    public double Median(string key) => Stats.Median(Values(key));

    /// <summary>The median decode stage in all: ms per token × the decode steps (tokens after the first).</summary>
    public double DecodeTotal => Median("decode_ms_per_token") * Math.Max(0, Int("new_tokens") - 1);

    private int Int(string key) => Json[key] is JsonValue v && v.TryGetValue(out int i) ? i : 0;
}

internal static class Stats
{
    public static double Median(double[] sorted) => sorted.Length == 0 ? double.NaN
        : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
        : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}
