using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttAnchor.GraphCheck;

/// <summary>
/// One ONNX graph opened with ONNX Runtime (CPU execution provider, default session options), run on
/// <see cref="HostTensor"/>s. Each input is converted to the element type the graph declares for it
/// (float32 or float16 for floating-point data; int64 or int32 for integers); outputs come back in the
/// element type the graph produces. Thread-safe for concurrent <see cref="Run"/> calls, as ONNX Runtime is.
/// </summary>
public sealed class GraphSession : IDisposable
{
    private readonly InferenceSession _session;

    /// <summary>Opens the graph.</summary>
    /// <param name="path">The <c>.onnx</c> file.</param>
    /// <exception cref="GraphCheckException">The file is missing or ONNX Runtime cannot load it.</exception>
    public GraphSession(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new GraphCheckException($"{path}: graph file not found.");
        }

        try
        {
            _session = new InferenceSession(path);
        }
        catch (OnnxRuntimeException e)
        {
            throw new GraphCheckException($"{path}: ONNX Runtime cannot load the graph: {FirstLine(e.Message)}", e);
        }

        Path = path;
        InputNames = [.. _session.InputNames];
        OutputNames = [.. _session.OutputNames];
    }

    /// <summary>The graph file.</summary>
    public string Path { get; }

    /// <summary>The graph's input names, in declaration order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>The graph's output names, in declaration order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Whether the graph declares an input of this name.</summary>
    /// <param name="name">The input name.</param>
    /// <returns><see langword="true"/> if it is one of <see cref="InputNames"/>.</returns>
    public bool DeclaresInput(string name) => _session.InputMetadata.ContainsKey(name);

    /// <summary>The declared dimensions of an input: a fixed size, or −1 for a symbolic (dynamic) one.</summary>
    /// <param name="name">The input name.</param>
    /// <returns>One entry per dimension.</returns>
    /// <exception cref="GraphCheckException">The graph declares no such input.</exception>
    public long[] InputDimensions(string name) => [.. Input(name).Dimensions.Select(d => (long)d)];

    /// <summary>The declared element type of an input.</summary>
    /// <param name="name">The input name.</param>
    /// <returns>The ONNX element type.</returns>
    /// <exception cref="GraphCheckException">The graph declares no such input.</exception>
    public TensorElementType InputElementType(string name) => Input(name).ElementDataType;

    /// <summary>
    /// Runs the graph. Every declared input must be given, nothing else may be, and each shape must fit
    /// the declared rank and fixed dimensions.
    /// </summary>
    /// <param name="inputs">The inputs by name.</param>
    /// <param name="outputNames">The outputs to fetch; all of them when null.</param>
    /// <returns>The outputs by name, in the order asked for.</returns>
    /// <exception cref="GraphCheckException">An input is undeclared, missing, of the wrong shape or type, or ONNX Runtime fails.</exception>
    public Dictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        outputNames ??= OutputNames;
        foreach (string name in outputNames)
        {
            if (!_session.OutputMetadata.ContainsKey(name))
            {
                throw new GraphCheckException($"{Path}: the graph has no output '{name}'; its outputs are {string.Join(", ", OutputNames)}.");
            }
        }

        foreach (string name in InputNames)
        {
            if (!inputs.ContainsKey(name))
            {
                throw new GraphCheckException($"{Path}: the graph declares input '{name}' but none was given.");
            }
        }

        var names = new List<string>(inputs.Count);
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (var (name, tensor) in inputs)
            {
                names.Add(name);
                values.Add(CreateInput(name, tensor));
            }

            // ONNX Runtime's own log would print a second, multi-line account of a failure on stderr; the exception carries it.
            using var runOptions = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(runOptions, names, values, [.. outputNames]);
            var result = new Dictionary<string, HostTensor>(outputNames.Count, StringComparer.Ordinal);
            int i = 0;
            foreach (OrtValue output in outputs)
            {
                string name = outputNames[i++];
                result[name] = ReadOutput(name, output);
            }

            return result;
        }
        catch (OnnxRuntimeException e)
        {
            throw new GraphCheckException($"{Path}: ONNX Runtime failed to run the graph: {FirstLine(e.Message)}", e);
        }
        finally
        {
            foreach (OrtValue value in values)
            {
                value.Dispose();
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();

    private NodeMetadata Input(string name) =>
        _session.InputMetadata.TryGetValue(name, out NodeMetadata? metadata)
            ? metadata
            : throw new GraphCheckException($"{Path}: the graph does not declare an input '{name}'; it declares {string.Join(", ", InputNames)}.");

    /// <summary>Checks the shape against the declaration and copies the values, converted, into an ORT-allocated tensor.</summary>
    private OrtValue CreateInput(string name, HostTensor tensor)
    {
        NodeMetadata metadata = Input(name);
        if (!metadata.IsTensor)
        {
            throw new GraphCheckException($"{Path}: input '{name}' is not a tensor.");
        }

        long[] shape = tensor.Shape;
        int[] declared = metadata.Dimensions;
        bool fits = declared.Length == shape.Length;
        for (int d = 0; fits && d < shape.Length; d++)
        {
            fits = declared[d] < 0 || declared[d] == shape[d];
        }

        if (!fits)
        {
            throw new GraphCheckException($"{Path}: input '{name}' has shape {HostTensor.FormatShape(shape)} but the graph declares {DeclaredShape(metadata)}.");
        }

        TensorElementType target = metadata.ElementDataType;
        byte[] bytes = Convert(name, tensor, target);
        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, target, shape);
        try
        {
            bytes.CopyTo(value.GetTensorMutableRawData());
            return value;
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }

    /// <summary>The tensor's values as little-endian bytes of the declared element type.</summary>
    private byte[] Convert(string name, HostTensor tensor, TensorElementType target)
    {
        bool sourceIsFloat = HostTensor.IsFloatingPoint(tensor.ElementType);
        switch (target)
        {
            case TensorElementType.Float when sourceIsFloat:
                return MemoryMarshal.AsBytes(tensor.ToSingleArray().AsSpan()).ToArray();
            case TensorElementType.Float16 when sourceIsFloat:
                return MemoryMarshal.AsBytes(tensor.ToHalfArray().AsSpan()).ToArray();
            case TensorElementType.Int64 when !sourceIsFloat:
                return MemoryMarshal.AsBytes(tensor.ToInt64Array().AsSpan()).ToArray();
            case TensorElementType.Int32 when !sourceIsFloat:
                long[] longs = tensor.ToInt64Array();
                var ints = new int[longs.Length];
                for (int i = 0; i < longs.Length; i++)
                {
                    ints[i] = checked((int)longs[i]);
                }

                return MemoryMarshal.AsBytes(ints.AsSpan()).ToArray();
            default:
                throw new GraphCheckException(
                    $"{Path}: input '{name}' is declared {target} but the data is {tensor.ElementType}; only float32/float16 data feeds float inputs and int64/uint8 data feeds integer inputs.");
        }
    }

    private HostTensor ReadOutput(string name, OrtValue value)
    {
        if (!value.IsTensor)
        {
            throw new GraphCheckException($"{Path}: output '{name}' is not a tensor.");
        }

        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        long[] shape = info.Shape;
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                return new HostTensor(HostElementType.Float32, shape, value.GetTensorMutableRawData().ToArray());
            case TensorElementType.Float16:
                return new HostTensor(HostElementType.Float16, shape, value.GetTensorMutableRawData().ToArray());
            case TensorElementType.Int64:
                return new HostTensor(HostElementType.Int64, shape, value.GetTensorMutableRawData().ToArray());
            case TensorElementType.Double:
                ReadOnlySpan<double> doubles = value.GetTensorDataAsSpan<double>();
                var singles = new float[doubles.Length];
                for (int i = 0; i < singles.Length; i++)
                {
                    singles[i] = (float)doubles[i];
                }

                return HostTensor.FromSingles(singles, shape);
            default:
                throw new GraphCheckException($"{Path}: output '{name}' is {info.ElementDataType}, which the checks do not read (float32, float16, float64 and int64 are read).");
        }
    }

    /// <summary>A declared shape as NumPy would print it, with symbolic dimensions by name: <c>(batch, sequence_length, 64)</c>.</summary>
    private static string DeclaredShape(NodeMetadata metadata)
    {
        string[] dims = [.. metadata.Dimensions.Select((size, d) =>
            size >= 0 ? size.ToString(CultureInfo.InvariantCulture)
            : d < metadata.SymbolicDimensions.Length && metadata.SymbolicDimensions[d] is { Length: > 0 } symbol ? symbol
            : "?")];
        return dims.Length == 1 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
