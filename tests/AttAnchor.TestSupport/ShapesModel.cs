using System.Collections.Concurrent;
using System.Text.Json;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.TestSupport;

/// <summary>
/// The two shapes models trained here (models/shapes/baseline and models/shapes/attanchor, by
/// tools/python/train_shapes.py), the README's example image with its scene, and the committed evaluation sample.
/// </summary>
public static class ShapesModel
{
    /// <summary>The model trained on plain sequences.</summary>
    public const string Baseline = "baseline";

    /// <summary>The model trained on AttAnchor-regrouped sequences: the console's default.</summary>
    public const string AttAnchorTrained = "attanchor";

    /// <summary>The AttAnchor model with its decoder's MatMul weights in 4-bit <c>MatMulNBits</c> (tools/python/quantize.py, block 32).</summary>
    public const string AttAnchorFourBit = "attanchor-q4";

    private static readonly ConcurrentDictionary<string, Lazy<VisionLanguageModel>> Models = new(StringComparer.Ordinal);

    private static readonly Lazy<JsonDocument> Example = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "example.json"))));

    /// <summary><c>models/shapes</c>.</summary>
    public static string Folder => Path.Combine(Fixtures.RepositoryRoot, "models", "shapes");

    /// <summary>A trained model's folder.</summary>
    public static string ModelFolder(string variant) => Path.Combine(Folder, variant);

    /// <summary>The README's example image, <c>models/shapes/example.png</c>.</summary>
    public static string ExampleImage => Path.Combine(Folder, "example.png");

    /// <summary><c>models/shapes/eval-sample</c>: the first scenes of the test and POPE splits, in POPE's format.</summary>
    public static string EvalSample => Path.Combine(Folder, "eval-sample");

    /// <summary>A trained model, opened on the CPU on first use and shared for the test run.</summary>
    public static VisionLanguageModel Get(string variant) =>
        Models.GetOrAdd(variant, static v => new Lazy<VisionLanguageModel>(() => VisionLanguageModel.Open(ModelFolder(v), Pipelines.Cpu))).Value;

    /// <summary>Every question the example scene allows, with its category and the true answer (example.json).</summary>
    public static IReadOnlyList<(string Category, string Question, string Answer)> ExampleQuestions =>
        [.. Example.Value.RootElement.GetProperty("questions").EnumerateArray().Select(q =>
            (q.GetProperty("category").GetString()!, q.GetProperty("text").GetString()!, q.GetProperty("answer").GetString()!))];

    /// <summary>The true answer to one of the example's questions.</summary>
    public static string ExampleAnswer(string question) => ExampleQuestions.Single(q => q.Question == question).Answer;
}
