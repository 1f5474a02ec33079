using System.Collections.Concurrent;
using AttAnchor.GraphCheck;
using Microsoft.ML.Tokenizers;

namespace AttAnchor.Models.Tests;

/// <summary>
/// One fixture model folder opened for the tests: its settings, references, tokenizer and ONNX Runtime
/// sessions, and the pipeline steps the end-to-end tests need (image embeddings, token embeddings,
/// greedy decoding with the KV cache). Thread-safe; shared through <see cref="Fixtures.Get"/>.
/// </summary>
public sealed class FixtureModel
{
    private const string PastPrefix = "past_key_values.";
    private const string PresentPrefix = "present.";

    private readonly Lazy<ReferenceDocument> _references;
    private readonly Lazy<GraphCheckSuite> _checks;
    private readonly Lazy<LlamaTokenizer> _tokenizer;
    private readonly ConcurrentDictionary<string, Lazy<float[]>> _imageEmbeds = new(StringComparer.Ordinal);

    /// <summary>Opens the folder's settings; graphs and references are opened on first use.</summary>
    public FixtureModel(string name, string folder)
    {
        Name = name;
        Folder = folder;
        ReferencesFolder = Path.Combine(folder, GraphCheckSuite.ReferencesFolderName);
        Settings = ModelSettings.Load(folder);
        _references = new Lazy<ReferenceDocument>(() => ReferenceDocument.Load(Path.Combine(ReferencesFolder, "references.json")));
        _checks = new Lazy<GraphCheckSuite>(() => GraphCheckSuite.Load(Folder, Sessions));
        _tokenizer = new Lazy<LlamaTokenizer>(() =>
        {
            using var stream = File.OpenRead(Path.Combine(Folder, "tokenizer.model"));
            return LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        });
    }

    /// <summary>The fixture's folder name, e.g. <c>tiny-336-gqa</c>.</summary>
    public string Name { get; }

    /// <summary>The model folder.</summary>
    public string Folder { get; }

    /// <summary>The <c>references/</c> folder.</summary>
    public string ReferencesFolder { get; }

    /// <summary><c>attanchor.json</c>.</summary>
    public ModelSettings Settings { get; }

    /// <summary>The sessions of this folder's graphs, shared by the graph checks and the pipeline. Never disposed: they live for the test run.</summary>
    public GraphSessionCache Sessions { get; } = new();

    /// <summary><c>references/references.json</c>.</summary>
    public ReferenceDocument References => _references.Value;

    /// <summary><c>references/checks.json</c>, run on <see cref="Sessions"/>.</summary>
    public GraphCheckSuite Checks => _checks.Value;

    /// <summary>The folder's <c>tokenizer.model</c>, without BOS or EOS added.</summary>
    public LlamaTokenizer Tokenizer => _tokenizer.Value;

    /// <summary>Whether the folder has a projector graph (else the vision encoder's output is already D wide).</summary>
    public bool HasProjector => File.Exists(Path.Combine(Folder, "projector.onnx"));

    /// <summary>The session for a graph file of the folder.</summary>
    public GraphSession Graph(string fileName) => Sessions.Get(Path.Combine(Folder, fileName));

    /// <summary>
    /// The image rows [M × D] for a crop (a path relative to references/): pixel values as NumPy makes
    /// them, the vision encoder, then the projector when the folder has one. Cached per crop.
    /// </summary>
    public float[] ImageEmbeds(string crop) =>
        _imageEmbeds.GetOrAdd(crop, c => new Lazy<float[]>(() => ComputeImageEmbeds(c))).Value;

    /// <summary>The embedding rows [n × D] of token ids, from <c>embed_tokens.onnx</c>.</summary>
    public float[] Embed(IReadOnlyList<int> ids)
    {
        long[] values = [.. ids.Select(i => (long)i)];
        var outputs = Graph("embed_tokens.onnx").Run(
            new Dictionary<string, HostTensor> { ["input_ids"] = HostTensor.FromInt64s(values, 1, values.Length) });
        HostTensor embeds = outputs["inputs_embeds"];
        RequireShape("embed_tokens.onnx", "inputs_embeds", embeds.Shape, [1, values.Length, Settings.HiddenSize]);
        return embeds.ToSingleArray();
    }

    /// <summary>
    /// Greedy decoding from prompt rows [L × D]: one prefill with positions 0 … L−1, then one step per
    /// token with the previous step's <c>present.*</c> as the past. Argmax ties go to the lowest id.
    /// </summary>
    /// <param name="rows">The prompt sequence, L × D.</param>
    /// <param name="steps">How many tokens to generate.</param>
    /// <returns>The logits at the last prompt position and the generated tokens.</returns>
    public (float[] FirstLogits, int[] Tokens) Greedy(float[] rows, int steps)
    {
        int d = Settings.HiddenSize;
        int length = rows.Length / d;
        GraphSession decoder = Graph("decoder_model_merged.onnx");
        Dictionary<string, HostTensor> past = EmptyPast(decoder);
        float[] logits = DecoderStep(decoder, rows, length, 0, past, out past);
        float[] first = logits;
        var tokens = new int[steps];
        for (int i = 0; i < steps; i++)
        {
            tokens[i] = ArgMax(logits);
            if (i + 1 < steps)
            {
                logits = DecoderStep(decoder, Embed([tokens[i]]), 1, length + i, past, out past);
            }
        }

        return (first, tokens);
    }

    /// <summary>The first index of the largest value (ties go to the lowest index).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private float[] ComputeImageEmbeds(string crop)
    {
        HostTensor pixels = PixelValues.FromPngFiles([Path.Combine(ReferencesFolder, crop)], Settings);
        var vision = Graph("vision_encoder.onnx").Run(new Dictionary<string, HostTensor> { ["pixel_values"] = pixels });
        HostTensor features = vision["image_features"];
        HostTensor embeds = features;
        string source = "vision_encoder.onnx";
        if (HasProjector)
        {
            embeds = Graph("projector.onnx").Run(new Dictionary<string, HostTensor> { ["image_features"] = features })["image_embeds"];
            source = "projector.onnx";
        }

        RequireShape(source, "image embeddings", embeds.Shape, [1, Settings.NumImageTokens, Settings.HiddenSize]);
        return embeds.ToSingleArray();
    }

    /// <summary>One decoder call on <paramref name="count"/> new rows after <paramref name="pastLength"/> cached positions; returns the last position's logits.</summary>
    private float[] DecoderStep(GraphSession decoder, float[] rows, int count, int pastLength, Dictionary<string, HostTensor> past, out Dictionary<string, HostTensor> present)
    {
        int d = Settings.HiddenSize;
        var inputs = new Dictionary<string, HostTensor>(past, StringComparer.Ordinal)
        {
            ["inputs_embeds"] = HostTensor.FromSingles(rows, 1, count, d),
            ["attention_mask"] = HostTensor.FromInt64s(Enumerable.Repeat(1L, pastLength + count).ToArray(), 1, pastLength + count),
        };
        if (decoder.DeclaresInput("position_ids"))
        {
            inputs["position_ids"] = HostTensor.FromInt64s(Enumerable.Range(pastLength, count).Select(p => (long)p).ToArray(), 1, count);
        }

        if (decoder.DeclaresInput("num_logits_to_keep"))
        {
            inputs["num_logits_to_keep"] = HostTensor.FromInt64s([1L]);
        }

        var outputs = decoder.Run(inputs);
        present = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var (name, value) in outputs)
        {
            if (name.StartsWith(PresentPrefix, StringComparison.Ordinal))
            {
                present[PastPrefix + name[PresentPrefix.Length..]] = value;
            }
        }

        foreach (string name in past.Keys)
        {
            if (!present.ContainsKey(name))
            {
                throw new InvalidDataException($"{decoder.Path}: no present output for {name}.");
            }
        }

        HostTensor logits = outputs["logits"];
        long[] shape = logits.Shape;
        if (shape.Length != 3 || shape[0] != 1 || shape[2] != Settings.VocabSize || shape[1] < 1)
        {
            throw new InvalidDataException($"{decoder.Path}: logits have shape {HostTensor.FormatShape(shape)}, expected (1, k, {Settings.VocabSize}).");
        }

        float[] all = logits.ToSingleArray();
        int v = Settings.VocabSize;
        return all[^v..];
    }

    /// <summary>Past keys and values of length 0: [1, Hkv, 0, hd], Hkv and hd from the graph (or attanchor.json where the graph leaves them symbolic).</summary>
    private Dictionary<string, HostTensor> EmptyPast(GraphSession decoder)
    {
        var past = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (string name in decoder.InputNames.Where(n => n.StartsWith(PastPrefix, StringComparison.Ordinal)))
        {
            long[] declared = decoder.InputDimensions(name);
            if (declared.Length != 4)
            {
                throw new InvalidDataException($"{decoder.Path}: {name} has rank {declared.Length}, expected 4 ([B, Hkv, P, hd]).");
            }

            long heads = declared[1] >= 0 ? declared[1] : Settings.NumKeyValueHeads;
            long headDim = declared[3] >= 0 ? declared[3] : Settings.HeadDim;
            past[name] = HostTensor.FromSingles([], 1, heads, 0, headDim);
        }

        if (past.Count != 2 * Settings.NumHiddenLayers)
        {
            throw new InvalidDataException($"{decoder.Path}: {past.Count} past inputs, but attanchor.json has {Settings.NumHiddenLayers} layers (expected {2 * Settings.NumHiddenLayers}).");
        }

        return past;
    }

    private void RequireShape(string graph, string what, long[] actual, long[] expected)
    {
        if (!actual.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidDataException(
                $"{Path.Combine(Folder, graph)}: {what} have shape {HostTensor.FormatShape(actual)}, but attanchor.json implies {HostTensor.FormatShape(expected)}.");
        }
    }
}
