using System.Text.Json;

namespace AttAnchor.GraphCheck;

/// <summary>
/// The settings in a model folder's <c>attanchor.json</c> (<c>shared/spec/model-folder.md</c>) that the
/// checks use: image preprocessing, the prompt template and the decoder's dimensions.
/// </summary>
public sealed record ModelSettings
{
    /// <summary>The name of the settings file in a model folder.</summary>
    public const string FileName = "attanchor.json";

    /// <summary>The side of the square image the vision encoder takes, in pixels.</summary>
    public required int ImageSize { get; init; }

    /// <summary>The side of one patch, in pixels.</summary>
    public required int PatchSize { get; init; }

    /// <summary>M, the number of image rows the vision side produces.</summary>
    public required int NumImageTokens { get; init; }

    /// <summary>The per-channel (R, G, B) mean as float32 casts of the JSON numbers.</summary>
    public required float[] ImageMean { get; init; }

    /// <summary>The per-channel (R, G, B) standard deviation as float32 casts of the JSON numbers.</summary>
    public required float[] ImageStd { get; init; }

    /// <summary><c>shortest_edge_center_crop</c>, <c>pad_to_square</c> or <c>stretch</c>.</summary>
    public required string ResizeMode { get; init; }

    /// <summary>D, the decoder's hidden size (the width of every embedding row).</summary>
    public required int HiddenSize { get; init; }

    /// <summary>The number of decoder layers (each has one past key and one past value).</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary>Hkv, the number of key/value heads.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>hd, the width of one attention head.</summary>
    public required int HeadDim { get; init; }

    /// <summary>The vocabulary size V (the width of the logits).</summary>
    public required int VocabSize { get; init; }

    /// <summary>The beginning-of-sentence token id.</summary>
    public required int BosTokenId { get; init; }

    /// <summary>The end-of-sentence token id.</summary>
    public required int EosTokenId { get; init; }

    /// <summary>The prompt template, holding <c>&lt;image&gt;</c> and <c>{question}</c> once each.</summary>
    public required string PromptTemplate { get; init; }

    /// <summary>Reads <c>&lt;modelFolder&gt;/attanchor.json</c>.</summary>
    /// <param name="modelFolder">The model folder.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="GraphCheckException">The file is missing, not JSON, or lacks a field or has a wrong one.</exception>
    public static ModelSettings Load(string modelFolder)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        string path = Path.Combine(modelFolder, FileName);
        using JsonDocument document = Json.ReadFile(path);
        JsonElement root = document.RootElement;
        float[] mean = Channels(root, "image_mean", path);
        float[] std = Channels(root, "image_std", path);
        if (std.Any(s => !(s > 0) || !float.IsFinite(s)))
        {
            throw new GraphCheckException($"{path}: 'image_std' must hold three positive numbers.");
        }

        string template = Json.String(root, "prompt_template", path);
        if (Count(template, "<image>") != 1 || Count(template, "{question}") != 1)
        {
            throw new GraphCheckException($"{path}: 'prompt_template' must hold <image> and {{question}} exactly once each: {template}");
        }

        return new ModelSettings
        {
            ImageSize = Json.Int32(root, "image_size", path),
            PatchSize = Json.Int32(root, "patch_size", path),
            NumImageTokens = Json.Int32(root, "num_image_tokens", path),
            ImageMean = mean,
            ImageStd = std,
            ResizeMode = Json.String(root, "resize_mode", path),
            HiddenSize = Json.Int32(root, "hidden_size", path),
            NumHiddenLayers = Json.Int32(root, "num_hidden_layers", path),
            NumKeyValueHeads = Json.Int32(root, "num_key_value_heads", path),
            HeadDim = Json.Int32(root, "head_dim", path),
            VocabSize = Json.Int32(root, "vocab_size", path),
            BosTokenId = Json.Int32(root, "bos_token_id", path),
            EosTokenId = Json.Int32(root, "eos_token_id", path),
            PromptTemplate = template,
        };
    }

    private static float[] Channels(JsonElement root, string name, string path)
    {
        double[] values = Json.Numbers(root, name, path);
        return values.Length == 3
            ? [.. values.Select(v => (float)v)]
            : throw new GraphCheckException($"{path}: '{name}' must hold three numbers (R, G, B), found {values.Length}.");
    }

    private static int Count(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
