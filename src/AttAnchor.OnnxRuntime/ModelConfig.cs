using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// A model folder's <c>attanchor.json</c>: the image geometry and processing, the decoder's shapes, the
/// special tokens, the prompt template and the AttAnchor defaults the model was tuned with.
/// </summary>
/// <remarks>
/// The values that the graphs also declare (M, D, layers, key/value heads, head size, vocabulary) are
/// checked against the graphs when <see cref="VisionLanguageModel.Open"/> opens the folder.
/// </remarks>
/// <example>
/// <code>
/// ModelConfig config = ModelConfig.Load("models/fixtures/tiny-336-gqa");
/// Console.WriteLine($"{config.NumImageTokens} image tokens, D = {config.HiddenSize}, τ = {config.Anchoring.Threshold}");
/// // 576 image tokens, D = 64, τ = 0.12
/// </code>
/// </example>
public sealed record ModelConfig
{
    /// <summary>The settings file's name inside a model folder.</summary>
    public const string FileName = "attanchor.json";

    /// <summary>The placeholder for the image in <see cref="PromptTemplate"/>.</summary>
    public const string ImagePlaceholder = "<image>";

    /// <summary>The placeholder for the question in <see cref="PromptTemplate"/>.</summary>
    public const string QuestionPlaceholder = "{question}";

    /// <summary><c>model_type</c>, e.g. <c>llava</c>.</summary>
    public required string ModelType { get; init; }

    /// <summary><c>image_size</c>: the square side the vision encoder takes, in pixels.</summary>
    public required int ImageSize { get; init; }

    /// <summary><c>patch_size</c>: the side of one image patch, in pixels.</summary>
    public required int PatchSize { get; init; }

    /// <summary><c>num_image_tokens</c>: M, the image rows the projector produces.</summary>
    public required int NumImageTokens { get; init; }

    /// <summary>The patch grid's side: <see cref="ImageSize"/> / <see cref="PatchSize"/>.</summary>
    public int PatchGridSide => ImageSize / PatchSize;

    /// <summary><c>image_mean</c>: R, G, B, as written in the file.</summary>
    public required IReadOnlyList<double> ImageMean { get; init; }

    /// <summary><c>image_std</c>: R, G, B, as written in the file.</summary>
    public required IReadOnlyList<double> ImageStd { get; init; }

    /// <summary><c>resize_mode</c>.</summary>
    public required ResizeMode ResizeMode { get; init; }

    /// <summary><c>hidden_size</c>: D, the width of the decoder's input embeddings.</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>num_hidden_layers</c>: the decoder's layers (two KV-cache tensors each).</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary><c>num_key_value_heads</c>: Hkv.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary><c>head_dim</c>: hd.</summary>
    public required int HeadDim { get; init; }

    /// <summary><c>vocab_size</c>: V, the width of the logits.</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>bos_token_id</c>.</summary>
    public required int BosTokenId { get; init; }

    /// <summary><c>eos_token_id</c>: generation stops when it is produced.</summary>
    public required int EosTokenId { get; init; }

    /// <summary><c>max_position_embeddings</c>: the context limit; prompt sequence plus answer must fit in it.</summary>
    public required int MaxPositionEmbeddings { get; init; }

    /// <summary><c>prompt_template</c>: holds <c>&lt;image&gt;</c> and <c>{question}</c> exactly once each.</summary>
    public required string PromptTemplate { get; init; }

    /// <summary>
    /// <c>tokenizer_legacy</c>: how the checkpoint's tokenizer encodes the text after <c>&lt;image&gt;</c> (an added token).
    /// <see langword="true"/> (the default when absent): as a text of its own, with SentencePiece's dummy prefix <c>▁</c>, as
    /// Hugging Face's Llama tokenizer with <c>legacy: true</c> and LLaVA's training code do; <see langword="false"/>: without
    /// it, as Hugging Face's <c>legacy: false</c> does.
    /// </summary>
    public bool TokenizerLegacy { get; init; } = true;

    /// <summary><c>image_token_index</c>: the id of the <c>&lt;image&gt;</c> token in Hugging Face's prompt ids; <see langword="null"/> when absent (then the first id after the tokenizer's pieces).</summary>
    public int? ImageTokenIndex { get; init; }

    /// <summary><c>attanchor</c>: the threshold and direction the model was tuned with (the defaults a caller can override).</summary>
    public required AttAnchorOptions Anchoring { get; init; }

    /// <summary>Reads and validates <c>attanchor.json</c> in a model folder.</summary>
    /// <param name="modelFolder">The model folder.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has no <c>attanchor.json</c>.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON, a field is missing, or a value is out of range; the message names the file and the field.</exception>
    public static ModelConfig Load(string modelFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelFolder);
        if (!Directory.Exists(modelFolder))
        {
            throw new DirectoryNotFoundException($"Model folder not found: {modelFolder}. Pass the folder that holds attanchor.json and the .onnx graphs.");
        }

        string path = Path.Combine(modelFolder, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: not found; a model folder needs attanchor.json beside its graphs (see the model-folder spec).", path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        int invalid = FirstInvalidUtf8(bytes);
        if (invalid >= 0)
        {
            string? field = FieldAt(bytes, invalid);
            throw new InvalidDataException(
                $"{path}: not valid UTF-8 JSON (byte offset {invalid}{(field is null ? string.Empty : $", in the value of '{field}'")}): save the file as UTF-8, or export the model folder again.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }

        using (document)
        {
            var reader = new FieldReader(document.RootElement, path);
            return reader.Read();
        }
    }

    /// <summary>The offset of the first byte that is not part of a valid UTF-8 sequence; −1 when the bytes are valid UTF-8.</summary>
    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes))
        {
            return -1;
        }

        char[] buffer = new char[bytes.Length];
        OperationStatus status = Utf8.ToUtf16(bytes, buffer, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
        return status == OperationStatus.Done ? -1 : read;
    }

    /// <summary>The dotted name of the field whose string value (or name) holds byte <paramref name="offset"/>, or <see langword="null"/> when no token does.</summary>
    private static string? FieldAt(ReadOnlySpan<byte> bytes, int offset)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var names = new List<string>();
        try
        {
            while (reader.Read() && reader.TokenStartIndex <= offset)
            {
                long end = reader.TokenStartIndex + (reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length) + 2;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        names.Add(string.Empty);
                        break;
                    case JsonTokenType.EndObject when names.Count > 0:
                        names.RemoveAt(names.Count - 1);
                        break;
                    case JsonTokenType.PropertyName when names.Count > 0:
                        names[^1] = Encoding.UTF8.GetString(reader.ValueSpan);
                        if (offset < end)
                        {
                            return string.Join('.', names);
                        }

                        break;
                    case JsonTokenType.String when offset < end:
                        return string.Join('.', names.Where(n => n.Length > 0));
                }
            }
        }
        catch (JsonException)
        {
            // The JSON is malformed before the bad byte too; the offset alone must do.
        }

        return null;
    }

    /// <summary>Reads the fields of the root object with errors that name the file and the field.</summary>
    private readonly struct FieldReader(JsonElement root, string path)
    {
        public ModelConfig Read()
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error("the file must hold one JSON object");
            }

            int imageSize = Positive("image_size");
            int patchSize = Positive("patch_size");
            int imageTokens = Positive("num_image_tokens");
            if (imageSize % patchSize != 0 || (imageSize / patchSize) * (imageSize / patchSize) != imageTokens)
            {
                throw Error($"num_image_tokens = {imageTokens} does not equal (image_size / patch_size)² = ({imageSize} / {patchSize})²; the patch grid must be square and fill the image");
            }

            double[] mean = Channels("image_mean", allowZero: true);
            double[] std = Channels("image_std", allowZero: false);
            string template = String("prompt_template");
            if (Count(template, ImagePlaceholder) != 1 || Count(template, QuestionPlaceholder) != 1)
            {
                throw Error($"'prompt_template' must hold {ImagePlaceholder} and {QuestionPlaceholder} exactly once each; it is {Quote(template)}");
            }

            if (template.IndexOf(QuestionPlaceholder, StringComparison.Ordinal) < template.IndexOf(ImagePlaceholder, StringComparison.Ordinal))
            {
                throw Error($"'prompt_template' must put {QuestionPlaceholder} after {ImagePlaceholder} (AttAnchor regroups the text that follows the image)");
            }

            int vocab = Positive("vocab_size");
            int bos = Token("bos_token_id", vocab);
            int eos = Token("eos_token_id", vocab);
            string resize = String("resize_mode");
            return new ModelConfig
            {
                ModelType = !root.TryGetProperty("model_type", out JsonElement type) || type.ValueKind == JsonValueKind.Null
                    ? "llava"
                    : type.ValueKind == JsonValueKind.String ? type.GetString()! : throw Error($"'model_type' must be a string such as \"llava\"; it is {Show(type)}"),
                ImageSize = imageSize,
                PatchSize = patchSize,
                NumImageTokens = imageTokens,
                ImageMean = mean,
                ImageStd = std,
                ResizeMode = ResizeModes.Parse(resize, $"{path}: 'resize_mode'"),
                HiddenSize = Positive("hidden_size"),
                NumHiddenLayers = Positive("num_hidden_layers"),
                NumKeyValueHeads = Positive("num_key_value_heads"),
                HeadDim = Positive("head_dim"),
                VocabSize = vocab,
                BosTokenId = bos,
                EosTokenId = eos,
                MaxPositionEmbeddings = Positive("max_position_embeddings"),
                PromptTemplate = template,
                TokenizerLegacy = OptionalBool("tokenizer_legacy") ?? true,
                ImageTokenIndex = OptionalNonNegative("image_token_index"),
                Anchoring = Anchoring(),
            };
        }

        private AttAnchorOptions Anchoring()
        {
            if (!root.TryGetProperty("attanchor", out JsonElement section) || section.ValueKind == JsonValueKind.Null)
            {
                return AttAnchorOptions.Default;
            }

            if (section.ValueKind != JsonValueKind.Object)
            {
                throw Error("'attanchor' must be an object like {\"threshold\": 0.12, \"direction\": \"text_into_image\"}");
            }

            var options = AttAnchorOptions.Default;
            if (section.TryGetProperty("threshold", out JsonElement threshold))
            {
                if (threshold.ValueKind != JsonValueKind.Number || !float.IsFinite(threshold.GetSingle()))
                {
                    throw Error("'attanchor.threshold' must be a finite number (τ; 1 or more switches anchoring off)");
                }

                options = options with { Threshold = threshold.GetSingle() };
            }

            if (section.TryGetProperty("direction", out JsonElement direction))
            {
                options = options with
                {
                    Direction = direction.ValueKind != JsonValueKind.String
                        ? throw Error("'attanchor.direction' must be \"text_into_image\" or \"image_into_text\"")
                        : AttAnchorOptions.TryParseDirection(direction.GetString(), out AnchorDirection value)
                        ? value
                        : throw Error($"'attanchor.direction' is {Show(direction)}; expected \"text_into_image\" or \"image_into_text\""),
                };
            }

            return options;
        }

        private JsonElement Field(string name) =>
            root.TryGetProperty(name, out JsonElement value) ? value : throw Error($"the field '{name}' is missing");

        private int Positive(string name)
        {
            JsonElement value = Field(name);
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n > 0
                ? n
                : throw Error($"'{name}' must be a positive integer; it is {Show(value)}");
        }

        private bool? OptionalBool(string name) => !root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null
            ? null
            : value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error($"'{name}' must be true or false; it is {Show(value)}"),
            };

        private int? OptionalNonNegative(string name) => !root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null
            ? null
            : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n >= 0
                ? n
                : throw Error($"'{name}' must be a token id (0 or more); it is {Show(value)}");

        private int Token(string name, int vocab)
        {
            JsonElement value = Field(name);
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n >= 0 && n < vocab
                ? n
                : throw Error($"'{name}' must be a token id in 0 … vocab_size − 1 = {vocab - 1}; it is {Show(value)}");
        }

        private string String(string name)
        {
            JsonElement value = Field(name);
            return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Error($"'{name}' must be a string; it is {Show(value)}");
        }

        private double[] Channels(string name, bool allowZero)
        {
            JsonElement value = Field(name);
            if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 3)
            {
                throw Error($"'{name}' must hold three numbers (R, G, B); it is {Show(value)}");
            }

            var result = new double[3];
            int i = 0;
            foreach (JsonElement item in value.EnumerateArray())
            {
                double x = item.ValueKind == JsonValueKind.Number ? item.GetDouble() : double.NaN;
                if (!double.IsFinite(x) || (!allowZero && x <= 0))
                {
                    throw Error($"'{name}' must hold three {(allowZero ? "finite" : "positive")} numbers; it is {Show(value)}");
                }

                result[i++] = x;
            }

            return result;
        }

        private InvalidDataException Error(string what) => new($"{path}: {what}.");

        /// <summary>A value as compact JSON on one line, cut after 80 characters, for messages.</summary>
        private static string Show(JsonElement value)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                value.WriteTo(writer);
            }

            string text = Encoding.UTF8.GetString(buffer.WrittenSpan);
            return text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 80), "…");
        }

        private static string Quote(string? text) => $"\"{JsonEncodedText.Encode(text ?? string.Empty)}\"";

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

    /// <summary>A short description for logs and reports: <c>576 image tokens (24 × 24), D = 64, 2 layers, V = 512</c>.</summary>
    /// <returns>The description.</returns>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{NumImageTokens} image tokens ({PatchGridSide} × {PatchGridSide}), D = {HiddenSize}, {NumHiddenLayers} layers, V = {VocabSize}, context {MaxPositionEmbeddings}");
}
