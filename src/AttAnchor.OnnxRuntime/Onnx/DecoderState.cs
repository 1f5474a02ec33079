using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// One answer's decoder state: the KV cache as ONNX Runtime tensors, fed back each step without a copy,
/// the attention-mask and position buffers, and the last position's logits.
/// </summary>
/// <remarks>
/// On the CPU a step is one <c>Run</c> over preallocated buffers; under CUDA an <see cref="OrtIoBinding"/> keeps the
/// cache on the GPU. An <see cref="ImageSession"/> prefills in two chunks through <see cref="TakeCache"/> and
/// <see cref="ResumeFrom"/>. See docs/image-sessions.md.
/// </remarks>
internal sealed class DecoderState : IDisposable
{
    private readonly ModelGraphs _graphs;
    private readonly OnnxGraph _decoder;
    private readonly OrtMemoryInfo? _deviceCache;   // CUDA memory for present.*; null on the CPU
    private readonly RunOptions _run;                // the answer's: its Terminate cancels a run in flight
    private readonly int _width;                     // D
    private readonly int _vocabulary;                // V

    private readonly long[] _ones;                   // [capacity]  attention_mask source: all ones, pinned for the answer
    private readonly long[] _maskShape = [1, 0];     //             [1, P + S], rewritten per step (ONNX Runtime copies it)
    private readonly long[] _position = new long[1]; // [1, 1]      position_ids of a decode step
    private readonly OrtValue _positionValue;
    private readonly OrtValue? _keepOne;             // []|[1]      num_logits_to_keep = 1
    private readonly bool[] _useCache = new bool[1]; // [1]         use_cache_branch
    private readonly OrtValue? _useCacheValue;
    private readonly long[] _id = new long[1];       // [1, 1]      input_ids of a decode step (int64)
    private readonly int[] _id32 = new int[1];       //             … or int32
    private readonly OrtValue _idValue;
    private readonly OrtValue _rowValue;             // [1, 1, D]   the token's embedding: embed_tokens writes it, the decoder reads it
    private readonly OrtValue? _stepLogitsValue;     // [1, 1, V]   a decode step's logits under CUDA

    private readonly OrtIoBinding _embedBinding;     // input_ids → _idValue, inputs_embeds → _rowValue, bound once

    private readonly string[] _inputNames;           // inputs_embeds, attention_mask, [position_ids], [num_logits_to_keep], [use_cache_branch], past_key_values.*
    private readonly OrtValue[] _inputs;
    private readonly int _pastStart;                 // index of past_key_values.0.key in _inputs
    private readonly string[] _outputNames;          // logits, present.*
    private readonly string[] _presentNames;         // present.*
    private readonly OrtValue[] _stepOutputs;        // logits (preallocated) + present.* (filled per step)
    private readonly OrtValue[] _past;               // 2 × layers × [1, Hkv, P, hd]
    private readonly long[] _emptyPast;              //             [1, Hkv, 0, hd]: the cache before the first run
    private readonly OrtIoBinding? _binding;
    private bool _disposed;

    /// <param name="graphs">The model's graphs.</param>
    /// <param name="config">The model's settings.</param>
    /// <param name="deviceCache">CUDA memory for the cache; null keeps it on the host (the CPU, or a shared prefix under CUDA).</param>
    /// <param name="capacity">The most positions the cache will hold (the attention mask's length).</param>
    /// <param name="run">The run options of every run, so that their owner's cancellation reaches this state; not disposed here.</param>
    public DecoderState(ModelGraphs graphs, ModelConfig config, OrtMemoryInfo? deviceCache, int capacity, RunOptions run)
    {
        _graphs = graphs;
        _decoder = graphs.Decoder;
        _deviceCache = deviceCache;
        _width = config.HiddenSize;
        _vocabulary = config.VocabSize;
        Logits = new float[_vocabulary];
        _run = run;
        _ones = GC.AllocateArray<long>(capacity, pinned: true);
        Array.Fill(_ones, 1L);

        _positionValue = OrtValue.CreateTensorValueFromMemory(_position, [1, 1]);
        if (graphs.NumLogitsToKeepRank >= 0)
        {
            _keepOne = OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, graphs.NumLogitsToKeepRank == 0 ? [] : [1]);
        }

        if (graphs.HasUseCacheBranch)
        {
            _useCacheValue = OrtValue.CreateTensorValueFromMemory(_useCache, [1]);
        }

        _idValue = graphs.InputIdsType == TensorElementType.Int64
            ? OrtValue.CreateTensorValueFromMemory(_id, [1, 1])
            : OrtValue.CreateTensorValueFromMemory(_id32, [1, 1]);
        _rowValue = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, graphs.EmbedOutputType, [1, 1, _width]);

        _embedBinding = graphs.Embed.Session.CreateIoBinding();
        _embedBinding.BindInput(ModelGraphs.InputIds, _idValue);
        _embedBinding.BindOutput(ModelGraphs.InputsEmbeds, _rowValue);

        var names = new List<string> { ModelGraphs.InputsEmbeds, ModelGraphs.AttentionMask };
        if (graphs.HasPositionIds)
        {
            names.Add(ModelGraphs.PositionIds);
        }

        if (_keepOne is not null)
        {
            names.Add(ModelGraphs.NumLogitsToKeep);
        }

        if (_useCacheValue is not null)
        {
            names.Add(ModelGraphs.UseCacheBranch);
        }

        _pastStart = names.Count;
        names.AddRange(graphs.PastNames);
        _inputNames = [.. names];
        _inputs = new OrtValue[_inputNames.Length];
        _presentNames = graphs.PresentNames;
        _outputNames = [ModelGraphs.Logits, .. _presentNames];
        _stepOutputs = new OrtValue[_outputNames.Length];
        _past = new OrtValue[graphs.PastNames.Length];
        _emptyPast = [1, config.NumKeyValueHeads, 0, config.HeadDim];
        FillEmptyPast(_past);

        if (deviceCache is not null)
        {
            _binding = _decoder.Session.CreateIoBinding();
            _stepLogitsValue = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, graphs.LogitsType, [1, 1, _vocabulary]);
        }
    }

    /// <summary>The logits of the last position the decoder saw, as floats: [V].</summary>
    public float[] Logits { get; }

    /// <summary>The positions in the KV cache.</summary>
    public int Length { get; private set; }

    /// <summary>D, the width of a row.</summary>
    public int Width => _width;

    /// <summary>
    /// The prefill: <paramref name="count"/> rows (floats [S × D]) at positions <see cref="Length"/> … <see cref="Length"/> + S − 1,
    /// attending to the <see cref="Length"/> cached positions before them. From scratch that is the whole prompt sequence at 0 … L − 1;
    /// after <see cref="ResumeFrom"/> it is the rest of the sequence after the reused prefix.
    /// </summary>
    public void Prefill(ReadOnlySpan<float> rows, int count)
    {
        using OrtValue embeds = OrtTensors.FromFloats(rows[..(count * _width)], [1, count, _width], _graphs.DecoderEmbedsType); // [1, S, D]
        long[] positions = new long[count];                                                                                    // [1, S]
        for (int i = 0; i < count; i++)
        {
            positions[i] = Length + i;
        }

        using OrtValue positionValue = OrtValue.CreateTensorValueFromMemory(positions, [1, count]);
        Run(embeds, positionValue, count, stepLogits: false);
    }

    /// <summary>
    /// Hands over the cache, 2 × layers tensors [1, Hkv, <see cref="Length"/>, hd] (host tensors when this state was made
    /// without a device cache), to the caller, who disposes them; this state is left empty, at length 0.
    /// </summary>
    public OrtValue[] TakeCache()
    {
        OrtValue[] cache = [.. _past];
        FillEmptyPast(_past);
        Length = 0;
        return cache;
    }

    /// <summary>
    /// Starts this (new, empty) state from the first <paramref name="length"/> positions of a host cache that
    /// <see cref="TakeCache"/> gave out, [1, Hkv, C, hd] each with C ≥ <paramref name="length"/>: each tensor's slice is
    /// copied into a new one of this state, so the shared cache is only read, never changed or fed to the decoder.
    /// </summary>
    public void ResumeFrom(IReadOnlyList<OrtValue> cache, int length)
    {
        if (Length != 0)
        {
            throw new InvalidOperationException("A decoder state can only resume from a cache before its first run.");
        }

        if (cache.Count != _past.Length || length < 0 || length > _ones.Length)
        {
            throw new ArgumentException($"Cannot resume from {cache.Count} cache tensors at length {length}: the decoder has {_past.Length} and room for {_ones.Length} positions.", nameof(cache));
        }

        for (int i = 0; i < _past.Length; i++)
        {
            OrtValue slice = Slice(cache[i], length, _graphs.CacheType);
            _past[i].Dispose();
            _past[i] = slice;
        }

        Length = length;
    }

    /// <summary>One decode step: embeds <paramref name="token"/> with <c>embed_tokens</c> and runs the decoder on it at the next position.</summary>
    public void Step(int token)
    {
        _id[0] = token;
        _id32[0] = token;
        _graphs.Embed.Run(_run, _embedBinding); // → _rowValue [1, 1, D]

        _position[0] = Length;
        if (_graphs.EmbedOutputType == _graphs.DecoderEmbedsType)
        {
            Run(_rowValue, _positionValue, 1, stepLogits: true);
            return;
        }

        float[] row = OrtTensors.ToFloats(_rowValue, out long[] shape); // embed_tokens and the decoder disagree on float16/float32: convert
        using OrtValue converted = OrtTensors.FromFloats(row, shape, _graphs.DecoderEmbedsType);
        Run(converted, _positionValue, 1, stepLogits: true);
    }

    private void Run(OrtValue embeds, OrtValue positions, int count, bool stepLogits)
    {
        int total = Length + count;
        if (total > _ones.Length)
        {
            throw new InvalidOperationException($"The decoder would pass the {_ones.Length} positions this answer was planned for.");
        }

        _maskShape[1] = total;
        using OrtValue mask = Mask(total); // [1, P + S]
        int at = 0;
        _inputs[at++] = embeds;
        _inputs[at++] = mask;
        if (_graphs.HasPositionIds)
        {
            _inputs[at++] = positions;
        }

        if (_keepOne is not null)
        {
            _inputs[at++] = _keepOne;
        }

        if (_useCacheValue is not null)
        {
            _useCache[0] = Length > 0;
            _inputs[at++] = _useCacheValue;
        }

        _past.CopyTo(_inputs, _pastStart);
        try
        {
            if (_binding is null)
            {
                RunOnHost();
            }
            else
            {
                RunBound(stepLogits);
            }
        }
        finally
        {
            Array.Clear(_inputs);
        }

        Length = total;
    }

    /// <summary>CPU: one Run; ORT allocates the present.* tensors, which replace the past.</summary>
    private void RunOnHost() => TakeOutputs(_decoder.Run(_run, _inputNames, _inputs, _outputNames));

    /// <summary>CUDA: the presents are bound to device memory and stay there; the logits come to the host.</summary>
    private void RunBound(bool stepLogits)
    {
        OrtIoBinding binding = _binding!;
        binding.ClearBoundInputs();
        binding.ClearBoundOutputs();
        for (int i = 0; i < _inputNames.Length; i++)
        {
            binding.BindInput(_inputNames[i], _inputs[i]);
        }

        if (stepLogits)
        {
            binding.BindOutput(ModelGraphs.Logits, _stepLogitsValue!);
        }
        else
        {
            binding.BindOutputToDevice(ModelGraphs.Logits, OrtMemoryInfo.DefaultInstance);
        }

        foreach (string name in _presentNames)
        {
            binding.BindOutputToDevice(name, _deviceCache!);
        }

        _decoder.Run(_run, binding);
        TakeOutputs(binding.GetOutputValues());
    }

    /// <summary>
    /// Reads the last position's logits and swaps the presents in as the past. The collection itself is
    /// not disposed (that would dispose the presents); each value in it is disposed on its own.
    /// </summary>
    private void TakeOutputs(IReadOnlyList<OrtValue> outputs)
    {
        using (OrtValue logits = outputs[0])
        {
            // [1, k, V]: k = 1 with num_logits_to_keep or in a decode step, else the prompt length. Counted from the
            // element count (no shape object is allocated); the graph's declared rank and V were checked when it was opened.
            long count = _graphs.LogitsType == TensorElementType.Float16 ? logits.GetTensorDataAsSpan<Float16>().Length : logits.GetTensorDataAsSpan<float>().Length;
            if (count < _vocabulary || count % _vocabulary != 0)
            {
                for (int i = 1; i < outputs.Count; i++)
                {
                    outputs[i].Dispose();
                }

                throw new InvalidDataException($"{_decoder.Path}: 'logits' came out {OrtTensors.Format(logits.GetTensorTypeAndShape().Shape)}; expected (1, k, {_vocabulary}).");
            }

            OrtTensors.ReadFloats(logits, _graphs.LogitsType, count - _vocabulary, Logits); // only the last position's row leaves ONNX Runtime
        }

        for (int i = 0; i < _past.Length; i++)
        {
            _past[i].Dispose();
            _past[i] = outputs[i + 1];
        }
    }

    /// <summary>
    /// A new host tensor [1, Hkv, <paramref name="length"/>, hd] holding the first <paramref name="length"/> positions of
    /// <paramref name="source"/> [1, Hkv, C, hd]: per head, the leading length × hd elements of its C × hd block.
    /// </summary>
    private static OrtValue Slice(OrtValue source, int length, TensorElementType type)
    {
        long[] shape = source.GetTensorTypeAndShape().Shape;                                  // [1, Hkv, C, hd]
        if (shape.Length != 4 || shape[0] != 1 || shape[2] < length)
        {
            throw new ArgumentException($"A cache tensor of shape {OrtTensors.Format(shape)} has no {length} positions to resume from.", nameof(source));
        }

        int heads = checked((int)shape[1]);
        int headDim = checked((int)shape[3]);
        int element = type == TensorElementType.Float16 ? sizeof(ushort) : sizeof(float);
        int keep = checked(length * headDim * element);                                      // bytes of one head's kept rows
        int block = checked((int)shape[2] * headDim * element);                              // bytes of one head's C rows
        OrtValue slice = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, [1, heads, length, headDim]);
        ReadOnlySpan<byte> from = type == TensorElementType.Float16
            ? MemoryMarshal.AsBytes(source.GetTensorDataAsSpan<Float16>())
            : MemoryMarshal.AsBytes(source.GetTensorDataAsSpan<float>());
        Span<byte> to = slice.GetTensorMutableRawData();
        for (int h = 0; h < heads; h++)
        {
            from.Slice(h * block, keep).CopyTo(to.Slice(h * keep, keep));
        }

        return slice;
    }

    private void FillEmptyPast(OrtValue[] past)
    {
        for (int i = 0; i < past.Length; i++)
        {
            past[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, _graphs.CacheType, _emptyPast);
        }
    }

    /// <summary>An attention mask of <paramref name="total"/> ones over the pinned buffer: one small object, no copy.</summary>
    private unsafe OrtValue Mask(int total)
    {
        fixed (long* ones = _ones) // already pinned: this only takes its address
        {
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, _maskShape, (IntPtr)ones, (long)total * sizeof(long));
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
        _positionValue.Dispose();
        _idValue.Dispose();
        _rowValue.Dispose();
        _stepLogitsValue?.Dispose();
        _binding?.Dispose();
        _embedBinding.Dispose();
    }
}
