using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// One answer's decoder state: the KV cache (ONNX Runtime tensors that stay where the decoder wrote them:
/// on the GPU under CUDA), the attention mask and position buffers, and the last position's logits.
/// Every step binds the previous step's <c>present.*</c> as <c>past_key_values.*</c>; nothing of the cache is copied.
/// </summary>
internal sealed class DecoderState : IDisposable
{
    private readonly ModelGraphs _graphs;
    private readonly OnnxGraph _decoder;
    private readonly OnnxGraph _embed;
    private readonly OrtMemoryInfo _cacheMemory;
    private readonly RunOptions _run;
    private readonly OrtIoBinding _binding;

    private readonly long[] _ones;             // [capacity]   attention_mask source: all ones
    private readonly long[] _positions;        // [capacity]   position_ids source: 0 … capacity − 1
    private readonly int[] _tokenId = new int[1];
    private readonly OrtValue[] _past;         // 2 × layers × [1, Hkv, P, hd]
    private readonly OrtValue? _keepOne;       // num_logits_to_keep = 1
    private readonly bool[] _useCache = new bool[1];
    private readonly OrtValue? _useCacheValue; // use_cache_branch [1]
    private readonly OrtValue _idValue;        // input_ids [1, 1] over _idBuffer
    private readonly long[] _idBuffer = new long[1];
    private readonly int[] _idBuffer32 = new int[1];
    private readonly string[] _embedInputs = [ModelGraphs.InputIds];
    private readonly string[] _embedOutputs = [ModelGraphs.InputsEmbeds];
    private readonly OrtValue[] _embedValues = new OrtValue[1];
    private bool _disposed;

    public DecoderState(ModelGraphs graphs, ModelConfig config, OrtMemoryInfo cacheMemory, int capacity)
    {
        _graphs = graphs;
        _decoder = graphs.Decoder;
        _embed = graphs.Embed;
        _cacheMemory = cacheMemory;
        Logits = new float[config.VocabSize];
        _ones = new long[capacity];
        Array.Fill(_ones, 1L);
        _positions = new long[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _positions[i] = i;
        }

        _run = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        _binding = _decoder.Session.CreateIoBinding();
        _past = new OrtValue[graphs.PastNames.Length];
        long[] empty = [1, config.NumKeyValueHeads, 0, config.HeadDim];
        for (int i = 0; i < _past.Length; i++)
        {
            _past[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, graphs.CacheType, empty);
        }

        if (graphs.NumLogitsToKeepRank >= 0)
        {
            _keepOne = OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, graphs.NumLogitsToKeepRank == 0 ? [] : [1]);
        }

        if (graphs.HasUseCacheBranch)
        {
            _useCacheValue = OrtValue.CreateTensorValueFromMemory(_useCache, [1]);
        }

        _idValue = graphs.InputIdsType == TensorElementType.Int64
            ? OrtValue.CreateTensorValueFromMemory(_idBuffer, [1, 1])
            : OrtValue.CreateTensorValueFromMemory(_idBuffer32, [1, 1]);
    }

    /// <summary>The logits of the last position the decoder saw, as floats: [V].</summary>
    public float[] Logits { get; }

    /// <summary>The positions in the KV cache.</summary>
    public int Length { get; private set; }

    /// <summary>The run options, whose <see cref="RunOptions.Terminate"/> flag cancels a run in flight.</summary>
    public RunOptions RunOptions => _run;

    /// <summary>The prefill: the whole prompt sequence (rows [L × D] as floats) at positions 0 … L − 1.</summary>
    public void Prefill(float[] rows, int length)
    {
        using OrtValue embeds = OrtTensors.FromFloats(rows.AsSpan(0, length * (rows.Length / length)), [1, length, rows.Length / length], _graphs.DecoderEmbedsType);
        Run(embeds, length);
    }

    /// <summary>One decode step: embeds <paramref name="token"/> with <c>embed_tokens</c> and runs the decoder on it at the next position.</summary>
    public void Step(int token)
    {
        _idBuffer[0] = token;
        _idBuffer32[0] = token;
        _tokenId[0] = token;
        _embedValues[0] = _idValue;
        using IDisposableReadOnlyCollection<OrtValue> embedded = Guard(_embed, () => _embed.Session.Run(_run, _embedInputs, _embedValues, _embedOutputs));
        OrtValue row = embedded[0];
        if (row.GetTensorTypeAndShape().ElementDataType == _graphs.DecoderEmbedsType)
        {
            Run(row, 1);
        }
        else
        {
            float[] values = OrtTensors.ToFloats(row, out long[] shape);
            using OrtValue converted = OrtTensors.FromFloats(values, shape, _graphs.DecoderEmbedsType);
            Run(converted, 1);
        }
    }

    private void Run(OrtValue embeds, int count)
    {
        int total = Length + count;
        if (total > _ones.Length)
        {
            throw new InvalidOperationException($"The decoder would pass its context of {_ones.Length} positions.");
        }

        using OrtValue mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<long>(_ones, 0, total), [1, total]);
        using OrtValue? positions = _graphs.HasPositionIds
            ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<long>(_positions, Length, count), [1, count])
            : null;

        _binding.ClearBoundInputs();
        _binding.ClearBoundOutputs();
        _binding.BindInput(ModelGraphs.InputsEmbeds, embeds);
        _binding.BindInput(ModelGraphs.AttentionMask, mask);
        if (positions is not null)
        {
            _binding.BindInput(ModelGraphs.PositionIds, positions);
        }

        if (_keepOne is not null)
        {
            _binding.BindInput(ModelGraphs.NumLogitsToKeep, _keepOne);
        }

        if (_useCacheValue is not null)
        {
            _useCache[0] = Length > 0;
            _binding.BindInput(ModelGraphs.UseCacheBranch, _useCacheValue);
        }

        string[] pastNames = _graphs.PastNames;
        for (int i = 0; i < pastNames.Length; i++)
        {
            _binding.BindInput(pastNames[i], _past[i]);
        }

        _binding.BindOutputToDevice(ModelGraphs.Logits, OrtMemoryInfo.DefaultInstance);
        string[] presentNames = _graphs.PresentNames;
        for (int i = 0; i < presentNames.Length; i++)
        {
            _binding.BindOutputToDevice(presentNames[i], _cacheMemory);
        }

        Guard(_decoder, () =>
        {
            _decoder.Session.RunWithBinding(_run, _binding);
            return 0;
        });

        // Outputs in the order bound: logits, then present.* (ownership passes to us: the collection is not disposed).
        IDisposableReadOnlyCollection<OrtValue> outputs = _binding.GetOutputValues();
        using (OrtValue logits = outputs[0])
        {
            long[] shape = logits.GetTensorTypeAndShape().Shape;
            int v = Logits.Length;
            if (shape.Length != 3 || shape[0] != 1 || shape[1] < 1 || shape[2] != v)
            {
                for (int i = 1; i < outputs.Count; i++)
                {
                    outputs[i].Dispose();
                }

                throw new InvalidDataException($"{_decoder.Path}: 'logits' came out {OrtTensors.Format(shape)}; expected (1, k, {v}).");
            }

            // Only the last position's row leaves ONNX Runtime.
            OrtTensors.ReadFloats(logits, (shape[1] - 1) * v, Logits);
        }

        for (int i = 0; i < _past.Length; i++)
        {
            _past[i].Dispose();
            _past[i] = outputs[i + 1];
        }

        Length = total;
    }

    private T Guard<T>(OnnxGraph graph, Func<T> run)
    {
        try
        {
            return run();
        }
        catch (OnnxRuntimeException e)
        {
            if (_run.Terminate)
            {
                throw new OperationCanceledException("The answer was cancelled.", e);
            }

            throw new InvalidOperationException($"{graph.Path}: ONNX Runtime failed to run the graph: {OnnxGraph.FirstLine(e.Message)}", e);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (OrtValue value in _past)
        {
            value.Dispose();
        }

        _keepOne?.Dispose();
        _useCacheValue?.Dispose();
        _idValue.Dispose();
        _binding.Dispose();
        _run.Dispose();
    }
}
