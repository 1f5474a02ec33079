using System.Collections.Concurrent;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.TestSupport;

/// <summary>One <see cref="VisionLanguageModel"/> per fixture folder on the CPU, opened on first use and shared for the test run.</summary>
public static class Pipelines
{
    private static readonly ConcurrentDictionary<string, Lazy<VisionLanguageModel>> Models = new(StringComparer.Ordinal);

    /// <summary>The CPU options the tests open models with.</summary>
    public static ModelOptions Cpu { get; } = new() { Device = DevicePreference.Cpu };

    /// <summary>The fixture's model, opened with the library.</summary>
    public static VisionLanguageModel Get(string fixture) =>
        Models.GetOrAdd(fixture, static f => new Lazy<VisionLanguageModel>(() => VisionLanguageModel.Open(Path.Combine(Fixtures.FixturesFolder, f), Cpu))).Value;

    /// <summary>An original test image, <c>models/fixtures/images/&lt;name&gt;</c>.</summary>
    public static string ImagePath(string name) => Path.Combine(Fixtures.FixturesFolder, "images", name);

    /// <summary>The options of a reference case: its anchoring (null: off) and 10 greedy tokens by default.</summary>
    public static GenerationOptions Options(AnchorSetting? anchor, int maxNewTokens) => new()
    {
        MaxNewTokens = maxNewTokens,
        Anchoring = anchor is null
            ? AttAnchorOptions.Off
            : new AttAnchorOptions { Threshold = (float)anchor.Threshold, Direction = DirectionNames.Parse(anchor.Direction) },
        CaptureFirstLogits = true,
    };

    /// <summary>How many leading tokens a reference pins down: up to the first step whose top-1 margin is below <paramref name="floor"/>.</summary>
    public static int ComparableSteps(GenerationReference g, double floor)
    {
        int compared = 0;
        while (compared < g.Tokens.Count && g.Margins[compared] >= floor)
        {
            compared++;
        }

        return compared;
    }
}
