using System.Text.Json;

namespace AttAnchor.TestSupport;

/// <summary>
/// <c>references/references.json</c> of a fixture folder: what PyTorch, PIL and SentencePiece computed
/// (written by <c>tools/python/make_fixtures.py</c>). Every field the tests read is required; a missing one
/// fails the load with the field's name.
/// </summary>
public sealed record ReferenceDocument(
    int Format,
    string Model,
    string ResizeMode,
    IReadOnlyList<ImageReference> Images,
    IReadOnlyList<PromptReference> Prompts,
    IReadOnlyList<PlanReference> Plans,
    IReadOnlyList<GenerationReference> Generations)
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };

    /// <summary>Reads and deserialises the file.</summary>
    public static ReferenceDocument Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: the fixture's references.json is missing; run tools/python/make_fixtures.py.", path);
        }

        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<ReferenceDocument>(stream, Options)
                ?? throw new InvalidDataException($"{path}: the document is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: does not have the expected layout ({e.Message})", e);
        }
    }

    /// <summary>The crop file (relative to references/) of an image in a resize mode.</summary>
    public string CropOf(string image, string mode)
    {
        ImageReference entry = Images.SingleOrDefault(i => i.Name == image)
            ?? throw new InvalidDataException($"references.json: no entry in 'images' for {image}.");
        return entry.Modes.TryGetValue(mode, out ImageModeReference? crop)
            ? crop.Crop
            : throw new InvalidDataException($"references.json: image {image} has no crop for resize mode {mode} (it has {string.Join(", ", entry.Modes.Keys)}).");
    }
}

/// <summary>One test image and its crop in each resize mode.</summary>
public sealed record ImageReference(string Name, IReadOnlyDictionary<string, ImageModeReference> Modes);

/// <summary>An image in one resize mode: the 8-bit crop and samples of the normalised pixel values.</summary>
public sealed record ImageModeReference(string Crop, IReadOnlyList<double> ChannelSums, IReadOnlyList<PixelSample> Samples);

/// <summary><c>pixel_values[c, y, x]</c> as NumPy computed it (a float32 value).</summary>
public sealed record PixelSample(int C, int Y, int X, float Value);

/// <summary>A question and its token ids, split at the image placeholder.</summary>
public sealed record PromptReference(
    string Question,
    IReadOnlyList<int> PrefixIds,
    IReadOnlyList<int> TextIds,
    IReadOnlyList<string> TextPieces,
    IReadOnlyList<int> QuestionRange);

/// <summary>An AttAnchor plan computed by the independent NumPy implementation.</summary>
public sealed record PlanReference(
    string Image,
    int Prompt,
    string Direction,
    double Threshold,
    int BaselineLength,
    int SequenceLength,
    bool Fragile,
    IReadOnlyList<AnchorReference> Anchors);

/// <summary>One anchor of a reference plan.</summary>
public sealed record AnchorReference(
    int TextIndex,
    int TextPosition,
    int TokenId,
    string Token,
    int PatchIndex,
    int PatchRow,
    int PatchCol,
    double Similarity);

/// <summary>A greedy generation in PyTorch from a prompt sequence, with or without anchoring.</summary>
public sealed record GenerationReference(
    string Image,
    int Prompt,
    AnchorSetting? Anchor,
    int SequenceLength,
    IReadOnlyList<int> Tokens,
    IReadOnlyList<double> Margins,
    string StopReason,
    FirstLogits FirstLogits);

/// <summary>The anchoring a generation used.</summary>
public sealed record AnchorSetting(string Direction, double Threshold);

/// <summary><c>logits[Start : Start + Values.Count]</c> at the last prompt position.</summary>
public sealed record FirstLogits(int Start, IReadOnlyList<float> Values);

/// <summary>Parses the reference files' direction names.</summary>
public static class DirectionNames
{
    /// <summary><c>text_into_image</c> or <c>image_into_text</c>.</summary>
    public static AnchorDirection Parse(string name) => name switch
    {
        "text_into_image" => AnchorDirection.TextIntoImage,
        "image_into_text" => AnchorDirection.ImageIntoText,
        _ => throw new InvalidDataException($"Unknown anchor direction '{name}' (expected text_into_image or image_into_text)."),
    };
}
