using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// The graphs of a model folder, one ONNX Runtime session per role, each checked against
/// <c>attanchor.json</c> and against the graph it feeds when opened.
/// </summary>
internal sealed class ModelGraphs : IDisposable
{
    public const string VisionFile = "vision_encoder.onnx";
    public const string ProjectorFile = "projector.onnx";
    public const string EmbedFile = "embed_tokens.onnx";
    public const string DecoderFile = "decoder_model_merged.onnx";

    public const string PixelValues = "pixel_values";
    public const string ImageFeatures = "image_features";
    public const string ImageEmbeds = "image_embeds";
    public const string InputIds = "input_ids";
    public const string InputsEmbeds = "inputs_embeds";
    public const string AttentionMask = "attention_mask";
    public const string PositionIds = "position_ids";
    public const string NumLogitsToKeep = "num_logits_to_keep";
    public const string UseCacheBranch = "use_cache_branch";
    public const string Logits = "logits";

    private static readonly TensorElementType[] Floats = [TensorElementType.Float, TensorElementType.Float16];

    private readonly List<OnnxGraph> _opened = [];

    private ModelGraphs(string folder, ModelConfig config, SessionOptions options)
    {
        try
        {
            Vision = Open(folder, VisionFile, options);
            string projector = Path.Combine(folder, ProjectorFile);
            Projector = File.Exists(projector) ? Open(folder, ProjectorFile, options) : null;
            Embed = Open(folder, EmbedFile, options);
            Decoder = Open(folder, DecoderFile, options);
            Check(config);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public OnnxGraph Vision { get; } = null!;

    public OnnxGraph? Projector { get; }

    public OnnxGraph Embed { get; } = null!;

    public OnnxGraph Decoder { get; } = null!;

    /// <summary>The graphs for the log: <c>vision_encoder.onnx (Float), projector.onnx, embed_tokens.onnx, decoder_model_merged.onnx (Float)</c>.</summary>
    public string Describe() => string.Join(", ",
        new[] { Vision, Projector, Embed, Decoder }.OfType<OnnxGraph>().Select(g => g == Vision ? $"{g.FileName} (pixels {PixelType})" : g == Decoder ? $"{g.FileName} (logits {LogitsType})" : g.FileName));

    /// <summary>The element type of <c>pixel_values</c>.</summary>
    public TensorElementType PixelType { get; private set; }

    /// <summary>The element type of the vision encoder's output.</summary>
    public TensorElementType FeatureType { get; private set; }

    /// <summary>The element type of the projector's input, when there is one.</summary>
    public TensorElementType ProjectorInputType { get; private set; }

    /// <summary>The element type of <c>input_ids</c> (int64, or int32 in some exports).</summary>
    public TensorElementType InputIdsType { get; private set; }

    /// <summary>The element type of <c>embed_tokens</c>' output.</summary>
    public TensorElementType EmbedOutputType { get; private set; }

    /// <summary>The element type of the decoder's <c>logits</c>.</summary>
    public TensorElementType LogitsType { get; private set; }

    /// <summary>The element type of the decoder's <c>inputs_embeds</c>.</summary>
    public TensorElementType DecoderEmbedsType { get; private set; }

    /// <summary><c>past_key_values.{i}.key</c>, <c>.value</c> for every layer, in order.</summary>
    public string[] PastNames { get; private set; } = [];

    /// <summary>The matching <c>present.{i}.key</c>, <c>.value</c>.</summary>
    public string[] PresentNames { get; private set; } = [];

    /// <summary>The element type of the KV cache.</summary>
    public TensorElementType CacheType { get; private set; }

    /// <summary>Whether the decoder declares <c>position_ids</c>.</summary>
    public bool HasPositionIds { get; private set; }

    /// <summary>The rank of <c>num_logits_to_keep</c> (0 or 1), or −1 when the decoder does not declare it.</summary>
    public int NumLogitsToKeepRank { get; private set; } = -1;

    /// <summary>Whether the decoder declares <c>use_cache_branch</c>.</summary>
    public bool HasUseCacheBranch { get; private set; }

    /// <summary>Opens and checks every graph of the folder.</summary>
    public static ModelGraphs Open(string folder, ModelConfig config, SessionOptions options) => new(folder, config, options);

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (OnnxGraph graph in _opened)
        {
            graph.Dispose();
        }

        _opened.Clear();
    }

    private OnnxGraph Open(string folder, string file, SessionOptions options)
    {
        OnnxGraph graph = OnnxGraph.Open(Path.Combine(folder, file), options);
        _opened.Add(graph);
        return graph;
    }

    private void Check(ModelConfig config)
    {
        string json = ModelConfig.FileName;

        // vision_encoder: pixel_values [B, 3, H, W] -> image_features [B, M, Dv]
        NodeMetadata pixels = Vision.Input(PixelValues);
        PixelType = Vision.Require(pixels, PixelValues, 4, "[B, 3, H, W]", Floats);
        Vision.RequireDimension(pixels, PixelValues, 1, 3, "the channel count (RGB)");
        Vision.RequireDimension(pixels, PixelValues, 2, config.ImageSize, $"{json}'s image_size");
        Vision.RequireDimension(pixels, PixelValues, 3, config.ImageSize, $"{json}'s image_size");
        NodeMetadata features = Vision.Output(ImageFeatures);
        FeatureType = Vision.Require(features, ImageFeatures, 3, "[B, M, Dv]", Floats);
        Vision.RequireDimension(features, ImageFeatures, 1, config.NumImageTokens, $"{json}'s num_image_tokens");
        int featureWidth = features.Dimensions[2];

        if (Projector is not null)
        {
            // projector: image_features [B, M, Dv] -> image_embeds [B, M, D]
            NodeMetadata input = Projector.Input(ImageFeatures);
            ProjectorInputType = Projector.Require(input, ImageFeatures, 3, "[B, M, Dv]", Floats);
            Projector.RequireDimension(input, ImageFeatures, 1, config.NumImageTokens, $"{json}'s num_image_tokens");
            if (featureWidth >= 0)
            {
                Projector.RequireDimension(input, ImageFeatures, 2, featureWidth, $"{VisionFile}'s image_features width (Dv)");
            }

            NodeMetadata embeds = Projector.Output(ImageEmbeds);
            Projector.Require(embeds, ImageEmbeds, 3, "[B, M, D]", Floats);
            Projector.RequireDimension(embeds, ImageEmbeds, 1, config.NumImageTokens, $"{json}'s num_image_tokens");
            Projector.RequireDimension(embeds, ImageEmbeds, 2, config.HiddenSize, $"{json}'s hidden_size");
        }
        else
        {
            Vision.RequireDimension(features, ImageFeatures, 2, config.HiddenSize, $"{json}'s hidden_size (the folder has no {ProjectorFile}, so the vision encoder's output must already be D wide)");
        }

        // embed_tokens: input_ids [B, S] -> inputs_embeds [B, S, D]
        NodeMetadata ids = Embed.Input(InputIds);
        InputIdsType = Embed.Require(ids, InputIds, 2, "[B, S]", TensorElementType.Int64, TensorElementType.Int32);
        NodeMetadata rows = Embed.Output(InputsEmbeds);
        EmbedOutputType = Embed.Require(rows, InputsEmbeds, 3, "[B, S, D]", Floats);
        Embed.RequireDimension(rows, InputsEmbeds, 2, config.HiddenSize, $"{json}'s hidden_size");

        // decoder_model_merged: inputs_embeds, attention_mask, [position_ids], past_key_values.* -> logits, present.*
        NodeMetadata decoderEmbeds = Decoder.Input(InputsEmbeds);
        DecoderEmbedsType = Decoder.Require(decoderEmbeds, InputsEmbeds, 3, "[B, S, D]", Floats);
        Decoder.RequireDimension(decoderEmbeds, InputsEmbeds, 2, config.HiddenSize, $"{json}'s hidden_size");
        Decoder.Require(Decoder.Input(AttentionMask), AttentionMask, 2, "[B, P + S]", TensorElementType.Int64);
        HasPositionIds = Decoder.HasInput(PositionIds);
        if (HasPositionIds)
        {
            Decoder.Require(Decoder.Input(PositionIds), PositionIds, 2, "[B, S]", TensorElementType.Int64);
        }

        if (Decoder.HasInput(NumLogitsToKeep))
        {
            NodeMetadata keep = Decoder.Input(NumLogitsToKeep);
            if (keep.ElementDataType != TensorElementType.Int64 || keep.Dimensions.Length > 1)
            {
                throw new InvalidDataException($"{Decoder.Path}: '{NumLogitsToKeep}' is {keep.ElementDataType} {OnnxGraph.Shape(keep)}; expected an int64 scalar or [1].");
            }

            NumLogitsToKeepRank = keep.Dimensions.Length;
        }

        HasUseCacheBranch = Decoder.HasInput(UseCacheBranch);
        if (HasUseCacheBranch)
        {
            Decoder.Require(Decoder.Input(UseCacheBranch), UseCacheBranch, 1, "[1]", TensorElementType.Bool);
        }

        NodeMetadata logits = Decoder.Output(Logits);
        LogitsType = Decoder.Require(logits, Logits, 3, "[B, S, V]", Floats);
        Decoder.RequireDimension(logits, Logits, 2, config.VocabSize, $"{json}'s vocab_size");

        CheckCache(config);

        string[] known = [InputsEmbeds, AttentionMask, PositionIds, NumLogitsToKeep, UseCacheBranch, .. PastNames];
        string? unknown = Decoder.Session.InputMetadata.Keys.FirstOrDefault(n => !known.Contains(n, StringComparer.Ordinal));
        if (unknown is not null)
        {
            throw new InvalidDataException($"{Decoder.Path}: the decoder declares an input '{unknown}' that the model folder spec does not know, so it cannot be fed; re-export the decoder with the spec's inputs.");
        }
    }

    private void CheckCache(ModelConfig config)
    {
        string json = ModelConfig.FileName;
        const string Past = "past_key_values.";
        int declared = Decoder.Session.InputMetadata.Keys.Count(n => n.StartsWith(Past, StringComparison.Ordinal));
        if (declared != 2 * config.NumHiddenLayers)
        {
            throw new InvalidDataException(
                $"{Decoder.Path}: the decoder declares {declared} past_key_values inputs, but {json}'s num_hidden_layers = {config.NumHiddenLayers} needs {2 * config.NumHiddenLayers} (a key and a value per layer).");
        }

        var past = new string[2 * config.NumHiddenLayers];
        var present = new string[past.Length];
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            for (int kv = 0; kv < 2; kv++)
            {
                string part = kv == 0 ? "key" : "value";
                string pastName = $"{Past}{layer}.{part}";
                string presentName = $"present.{layer}.{part}";
                NodeMetadata input = Decoder.Input(pastName);
                TensorElementType type = Decoder.Require(input, pastName, 4, "[B, Hkv, P, hd]", Floats);
                Decoder.RequireDimension(input, pastName, 1, config.NumKeyValueHeads, $"{json}'s num_key_value_heads");
                Decoder.RequireDimension(input, pastName, 3, config.HeadDim, $"{json}'s head_dim");
                NodeMetadata output = Decoder.Output(presentName);
                Decoder.Require(output, presentName, 4, "[B, Hkv, P + S, hd]", type);
                Decoder.RequireDimension(output, presentName, 1, config.NumKeyValueHeads, $"{json}'s num_key_value_heads");
                Decoder.RequireDimension(output, presentName, 3, config.HeadDim, $"{json}'s head_dim");
                if (layer == 0 && kv == 0)
                {
                    CacheType = type;
                }
                else if (type != CacheType)
                {
                    throw new InvalidDataException($"{Decoder.Path}: '{pastName}' is {type} but past_key_values.0.key is {CacheType}; the cache must have one element type.");
                }

                past[(2 * layer) + kv] = pastName;
                present[(2 * layer) + kv] = presentName;
            }
        }

        PastNames = past;
        PresentNames = present;
    }
}
