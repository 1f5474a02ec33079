using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// One graph of a model folder opened in ONNX Runtime, with the declared inputs and outputs checked by
/// name, element type and fixed dimensions, and errors that name the file and the tensor.
/// </summary>
internal sealed class OnnxGraph : IDisposable
{
    private OnnxGraph(string path, InferenceSession session)
    {
        Path = path;
        FileName = System.IO.Path.GetFileName(path);
        Session = session;
    }

    /// <summary>The <c>.onnx</c> file.</summary>
    public string Path { get; }

    /// <summary>The file's name, e.g. <c>vision_encoder.onnx</c>.</summary>
    public string FileName { get; }

    /// <summary>The ONNX Runtime session.</summary>
    public InferenceSession Session { get; }

    /// <summary>Opens a graph; a missing file or one ONNX Runtime cannot load gives a one-line error naming it.</summary>
    public static OnnxGraph Open(string path, SessionOptions options)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: graph not found. A model folder needs vision_encoder.onnx, embed_tokens.onnx, decoder_model_merged.onnx (projector.onnx optional); export one with tools/python/export_llava.py.", path);
        }

        try
        {
            return new OnnxGraph(path, new InferenceSession(path, options));
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{path}: ONNX Runtime cannot load the graph: {FirstLine(e.Message)}", e);
        }
    }

    /// <summary>Whether the graph declares an input of this name.</summary>
    public bool HasInput(string name) => Session.InputMetadata.ContainsKey(name);

    /// <summary>The input's metadata; a missing input is an error that lists the declared ones.</summary>
    public NodeMetadata Input(string name) =>
        Session.InputMetadata.TryGetValue(name, out NodeMetadata? metadata)
            ? metadata
            : throw new InvalidDataException($"{Path}: the graph has no input '{name}'; it declares {List(Session.InputMetadata.Keys)}. The model folder spec names it '{name}'; re-export the graph.");

    /// <summary>The output's metadata; a missing output is an error that lists the declared ones.</summary>
    public NodeMetadata Output(string name) =>
        Session.OutputMetadata.TryGetValue(name, out NodeMetadata? metadata)
            ? metadata
            : throw new InvalidDataException($"{Path}: the graph has no output '{name}'; it declares {List(Session.OutputMetadata.Keys)}. The model folder spec names it '{name}'; re-export the graph.");

    /// <summary>Checks a tensor's rank and element type (one of <paramref name="types"/>); returns its element type.</summary>
    public TensorElementType Require(NodeMetadata metadata, string name, int rank, string layout, params TensorElementType[] types)
    {
        if (!metadata.IsTensor)
        {
            throw new InvalidDataException($"{Path}: '{name}' is not a tensor.");
        }

        if (metadata.Dimensions.Length != rank)
        {
            throw new InvalidDataException($"{Path}: '{name}' has rank {metadata.Dimensions.Length} {Shape(metadata)}, but the model folder spec gives it rank {rank} {layout}.");
        }

        if (!types.Contains(metadata.ElementDataType))
        {
            throw new InvalidDataException($"{Path}: '{name}' is {metadata.ElementDataType}, but it must be {string.Join(" or ", types)}.");
        }

        return metadata.ElementDataType;
    }

    /// <summary>
    /// Checks one dimension against the value <c>attanchor.json</c> (or another graph) gives; a symbolic
    /// dimension passes. The error names the file, the tensor, the dimension and both values.
    /// </summary>
    public void RequireDimension(NodeMetadata metadata, string name, int axis, long expected, string source)
    {
        int declared = metadata.Dimensions[axis];
        if (declared >= 0 && declared != expected)
        {
            throw new InvalidDataException(
                $"{Path}: '{name}' declares {declared} at dimension {axis} {Shape(metadata)}, but {source} is {expected}. The graph and attanchor.json come from different models; re-export the folder.");
        }
    }

    /// <summary>Checks the shape an output came out with against the one <c>attanchor.json</c> implies.</summary>
    /// <exception cref="InvalidDataException">They differ; the message names the file, the tensor and both shapes.</exception>
    public void RequireOutputShape(string name, ReadOnlySpan<long> actual, ReadOnlySpan<long> expected)
    {
        if (!actual.SequenceEqual(expected))
        {
            throw new InvalidDataException($"{Path}: '{name}' came out {OrtTensors.Format(actual)}, but attanchor.json implies {OrtTensors.Format(expected)}.");
        }
    }

    /// <summary>A declared shape with symbolic dimensions by name: <c>(batch, 3, 336, 336)</c>.</summary>
    public static string Shape(NodeMetadata metadata)
    {
        string[] dims = [.. metadata.Dimensions.Select((size, d) =>
            size >= 0 ? size.ToString(CultureInfo.InvariantCulture)
            : d < metadata.SymbolicDimensions.Length && metadata.SymbolicDimensions[d] is { Length: > 0 } symbol ? symbol
            : "?")];
        return $"({string.Join(", ", dims)})";
    }

    /// <summary>Runs the graph on named inputs; see <see cref="Failure"/> for what an ONNX Runtime error becomes.</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(RunOptions run, IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputs, IReadOnlyCollection<string> outputNames)
    {
        try
        {
            return Session.Run(run, inputNames, inputs, outputNames);
        }
        catch (OnnxRuntimeException e)
        {
            throw Failure(run, e);
        }
    }

    /// <summary>Runs the graph on one input for one output.</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(RunOptions run, string inputName, OrtValue input, string outputName) =>
        Run(run, [inputName], [input], [outputName]);

    /// <summary>Runs the graph through a binding; see <see cref="Failure"/> for what an ONNX Runtime error becomes.</summary>
    public void Run(RunOptions run, OrtIoBinding binding)
    {
        try
        {
            Session.RunWithBinding(run, binding);
        }
        catch (OnnxRuntimeException e)
        {
            throw Failure(run, e);
        }
    }

    /// <summary>
    /// The one translation of a run's ONNX Runtime error: an <see cref="OperationCanceledException"/> when
    /// <paramref name="run"/> was terminated, else an <see cref="InvalidOperationException"/> naming this file.
    /// </summary>
    public Exception Failure(RunOptions run, OnnxRuntimeException e) => run.Terminate
        ? new OperationCanceledException("The answer was cancelled.", e)
        : new InvalidOperationException($"{Path}: ONNX Runtime failed to run the graph: {FirstLine(e.Message)}", e);

    /// <summary>The first line of an ONNX Runtime message (its log repeats the rest).</summary>
    public static string FirstLine(string text)
    {
        int end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    /// <inheritdoc/>
    public void Dispose() => Session.Dispose();

    private static string List(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));
}
