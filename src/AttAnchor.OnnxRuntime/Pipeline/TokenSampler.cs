using System.Globalization;
using System.Numerics.Tensors;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Picks the next token from a row of logits the way Hugging Face transformers' <c>generate()</c>
/// does with its logits processors, in their order: repetition penalty, then greedy argmax
/// (temperature 0) or temperature, top-k, top-p and a draw from the softmax.
/// </summary>
/// <remarks>
/// Greedy picks the largest logit, ties to the lowest id; the same seed and the same logits give the same tokens on
/// every run. NaN is never chosen, and <see cref="Next"/> throws <see cref="InvalidOperationException"/> when every
/// logit is −∞ or NaN. Not thread-safe (one sampler per generation loop); <see cref="Next"/> allocates no managed
/// memory. See docs/decoding.md.
/// </remarks>
internal sealed class TokenSampler
{
    private readonly Random _random;
    private readonly int[] _ids;
    private readonly float[] _values;
    private readonly float[] _selection;
    private readonly double[] _weights;
    private readonly ulong[] _sortKeys;
    private readonly int[] _seen;
    private int _stamp;
    private int _lastCount;

    /// <summary>Validates the options and allocates the buffers for a vocabulary of this size.</summary>
    /// <param name="temperature">0 for greedy decoding, else a positive finite divisor of the logits.</param>
    /// <param name="topK">How many of the largest logits survive when sampling; 0 turns top-k off.</param>
    /// <param name="topP">The nucleus mass kept when sampling, in (0, 1]; 1 turns top-p off.</param>
    /// <param name="repetitionPenalty">A positive finite penalty for the ids already in the history; 1 turns it off.</param>
    /// <param name="seed">The seed of the draws; <see langword="null"/> for an unseeded <see cref="Random"/>.</param>
    /// <param name="vocabularySize">The length of every logits row passed to <see cref="Next"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range; the message names it and the range.</exception>
    public TokenSampler(float temperature, int topK, float topP, float repetitionPenalty, int? seed, int vocabularySize)
    {
        Require(SamplingRanges.IsTemperature(temperature), nameof(temperature), SamplingRanges.TemperatureRule, temperature);
        Require(SamplingRanges.IsTopK(topK), nameof(topK), SamplingRanges.TopKRule, topK);
        Require(SamplingRanges.IsTopP(topP), nameof(topP), SamplingRanges.TopPRule, topP);
        Require(SamplingRanges.IsRepetitionPenalty(repetitionPenalty), nameof(repetitionPenalty), SamplingRanges.RepetitionPenaltyRule, repetitionPenalty);

        if (vocabularySize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), Invariant($"vocabularySize must be a positive number of tokens; got {vocabularySize}."));
        }

        Temperature = temperature;
        TopK = topK;
        TopP = topP;
        RepetitionPenalty = repetitionPenalty;
        Seed = seed;
        VocabularySize = vocabularySize;
        _random = seed is int s ? new Random(s) : new Random();
        _ids = new int[vocabularySize];
        _values = new float[vocabularySize];
        _selection = new float[vocabularySize];
        _weights = new double[vocabularySize];
        _sortKeys = new ulong[vocabularySize];
        _seen = new int[vocabularySize];
    }

    /// <summary>0 for greedy decoding, else the divisor of the logits before top-k and top-p.</summary>
    public float Temperature { get; }

    /// <summary>The top-k cut when sampling; 0 when off.</summary>
    public int TopK { get; }

    /// <summary>The top-p (nucleus) mass when sampling; 1 when off.</summary>
    public float TopP { get; }

    /// <summary>The repetition penalty; 1 when off.</summary>
    public float RepetitionPenalty { get; }

    /// <summary>The seed of the draws, or <see langword="null"/> when unseeded.</summary>
    public int? Seed { get; }

    /// <summary>The length every logits row must have.</summary>
    public int VocabularySize { get; }

    /// <summary>Whether the sampler decodes greedily (temperature 0).</summary>
    public bool IsGreedy => Temperature == 0f;

    /// <summary>
    /// The ids the last <see cref="Next"/> chose from: the survivors of top-k and top-p when sampling
    /// (in the order the draw walked them), the chosen id alone when greedy. For tests and diagnostics;
    /// valid until the next call.
    /// </summary>
    internal ReadOnlySpan<int> LastCandidates => _ids.AsSpan(0, _lastCount);

    /// <summary>
    /// Picks the next token id from one row of logits. The row is modified in place: penalised, and
    /// when sampling with a temperature other than 1 also shifted so that its largest logit is 0 and divided by the
    /// temperature (the shift first, so that a tiny temperature tends to greedy instead of overflowing), with NaN replaced by −∞.
    /// </summary>
    /// <param name="logits">The logits of the last position, <see cref="VocabularySize"/> long.</param>
    /// <param name="history">The ids the repetition penalty applies to (usually the prompt and the tokens generated so far).</param>
    /// <returns>An id in [0, <see cref="VocabularySize"/>).</returns>
    /// <exception cref="ArgumentException">The row's length is not <see cref="VocabularySize"/>.</exception>
    /// <exception cref="InvalidOperationException">Every logit is −∞ or NaN.</exception>
    public int Next(Span<float> logits, ReadOnlySpan<int> history)
    {
        if (logits.Length != VocabularySize)
        {
            throw new ArgumentException(Invariant($"The logits row has {logits.Length} entries; the sampler was made for a vocabulary of {VocabularySize}."), nameof(logits));
        }

        if (RepetitionPenalty != 1f)
        {
            ApplyRepetitionPenalty(logits, history);
        }

        _lastCount = 0;
        if (IsGreedy)
        {
            int best = ArgMax(logits);
            _ids[0] = best;
            _lastCount = 1;
            return best;
        }

        // The candidates: every id with a logit above −∞ (NaN fails the comparison too).
        int count = 0;
        float max = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (v > float.NegativeInfinity)
            {
                _ids[count] = i;
                _values[count] = v == 0f ? 0f : v; // −0 → +0, so equal logits sort as equal.
                count++;
                if (v > max)
                {
                    max = v;
                }
            }
            else if (float.IsNaN(v))
            {
                logits[i] = float.NegativeInfinity;
            }
        }

        if (count == 0)
        {
            throw NothingToChoose();
        }

        if (float.IsPositiveInfinity(max))
        {
            // The softmax's limit: the +∞ entries share all the probability equally.
            int kept = 0;
            for (int j = 0; j < count; j++)
            {
                if (float.IsPositiveInfinity(_values[j]))
                {
                    _ids[kept] = _ids[j];
                    _values[kept] = 0f;
                    kept++;
                }
            }

            count = kept;
            max = 0f;
        }
        else if (Temperature != 1f)
        {
            count = ApplyTemperature(logits, count, max);
            max = 0f;
        }

        if (TopK > 0 && TopK < count)
        {
            count = ApplyTopK(count);
        }

        if (TopP < 1f && count > 1)
        {
            count = ApplyTopP(count, max);
        }

        _lastCount = count;
        return Draw(count, max);
    }

    /// <summary>
    /// Divides the candidates' distances from the largest logit by the temperature, so that no value overflows however
    /// small the temperature: the largest becomes 0, and those whose quotient is below float's range (−∞) are dropped,
    /// which makes a tiny temperature the greedy limit. Returns the number of candidates left.
    /// </summary>
    private int ApplyTemperature(Span<float> logits, int count, float max)
    {
        double temperature = Temperature;
        int kept = 0;
        for (int j = 0; j < count; j++)
        {
            float v = (float)(((double)_values[j] - max) / temperature);
            logits[_ids[j]] = v;
            if (v > float.NegativeInfinity)
            {
                _ids[kept] = _ids[j];
                _values[kept] = v == 0f ? 0f : v;
                kept++;
            }
        }

        return kept;
    }

    private void ApplyRepetitionPenalty(Span<float> logits, ReadOnlySpan<int> history)
    {
        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_seen);
            _stamp = 1;
        }

        float penalty = RepetitionPenalty;
        foreach (int id in history)
        {
            if ((uint)id < (uint)logits.Length && _seen[id] != _stamp)
            {
                _seen[id] = _stamp;
                float v = logits[id];
                logits[id] = v > 0f ? v / penalty : v * penalty;
            }
        }
    }

    /// <summary>The first index of the largest logit; NaN and −∞ are never chosen (NaN fails every comparison).</summary>
    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = -1;
        float bestValue = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (v > bestValue)
            {
                best = i;
                bestValue = v;
            }
        }

        return best >= 0 ? best : throw NothingToChoose();
    }

    /// <summary>Keeps the candidates whose logit is at least the k-th largest (ties at the boundary included).</summary>
    private int ApplyTopK(int count)
    {
        Span<float> selection = _selection.AsSpan(0, count);
        _values.AsSpan(0, count).CopyTo(selection);
        float threshold = KthLargest(selection, TopK);

        int kept = 0;
        for (int j = 0; j < count; j++)
        {
            if (_values[j] >= threshold)
            {
                _ids[kept] = _ids[j];
                _values[kept] = _values[j];
                kept++;
            }
        }

        return kept;
    }

    /// <summary>
    /// Sorts the candidates by ascending logit (ties: higher id first) and drops the prefix whose
    /// cumulative probability is ≤ 1 − top-p, keeping at least the last (most likely) one.
    /// </summary>
    /// <remarks>
    /// Only the candidates that may survive are sorted: every weight below
    /// c = (1 − top-p) · total / (2n) belongs to the removed prefix, since all of them sort before the
    /// others and together they hold less than half the mass the cut removes. Their mass starts the
    /// cumulative sum; the rest (usually a small nucleus) is sorted and cut as transformers does.
    /// </remarks>
    private int ApplyTopP(int count, float max)
    {
        Span<double> weights = _weights.AsSpan(0, count);
        for (int j = 0; j < count; j++)
        {
            weights[j] = (double)_values[j] - max;
        }

        TensorPrimitives.Exp(weights, weights);
        double total = TensorPrimitives.Sum<double>(weights);
        double limit = 1.0 - TopP;
        double cut = 0.5 * limit * total / count;

        // The largest weight is exp(0) = 1 ≥ total / n > c, so at least one candidate is sorted.
        double cumulative = 0;
        int sorted = 0;
        for (int j = 0; j < count; j++)
        {
            if (weights[j] < cut)
            {
                cumulative += weights[j];
            }
            else
            {
                _sortKeys[sorted++] = ((ulong)SortableBits(_values[j]) << 32) | (uint)(int.MaxValue - _ids[j]);
            }
        }

        Span<ulong> keys = _sortKeys.AsSpan(0, sorted);
        keys.Sort();

        int start = 0;
        bool cutting = true;
        for (int j = 0; j < sorted; j++)
        {
            ulong key = keys[j];
            float v = FromSortableBits((uint)(key >> 32));
            if (cutting && j < sorted - 1)
            {
                cumulative += Math.Exp((double)v - max);
                if (cumulative / total <= limit)
                {
                    start = j + 1;
                    continue;
                }

                cutting = false;
            }

            _ids[j - start] = int.MaxValue - (int)(uint)key;
            _values[j - start] = v;
        }

        return sorted - start;
    }

    /// <summary>Draws one candidate with probability softmax(logit) over the candidates.</summary>
    private int Draw(int count, float max)
    {
        if (count == 1)
        {
            return _ids[0];
        }

        Span<double> weights = _weights.AsSpan(0, count);
        for (int j = 0; j < count; j++)
        {
            weights[j] = (double)_values[j] - max;
        }

        TensorPrimitives.Exp(weights, weights);
        double total = TensorPrimitives.Sum<double>(weights);
        double target = _random.NextDouble() * total;

        double cumulative = 0;
        for (int j = 0; j < count - 1; j++)
        {
            cumulative += weights[j];
            if (target < cumulative)
            {
                return _ids[j];
            }
        }

        return _ids[count - 1];
    }

    /// <summary>The k-th largest value (k ≥ 1) of a span without NaN, by quickselect; reorders the span.</summary>
    internal static float KthLargest(Span<float> values, int k)
    {
        int target = k - 1;
        int lo = 0;
        int hi = values.Length - 1;
        while (lo < hi)
        {
            float a = values[lo];
            float b = values[lo + ((hi - lo) >> 1)];
            float c = values[hi];
            float pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));

            // Hoare partition, descending: [lo, j] ≥ pivot, [i, hi] ≤ pivot, (j, i) = pivot.
            int i = lo;
            int j = hi;
            while (i <= j)
            {
                while (values[i] > pivot)
                {
                    i++;
                }

                while (values[j] < pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (target <= j)
            {
                hi = j;
            }
            else if (target >= i)
            {
                lo = i;
            }
            else
            {
                return values[target];
            }
        }

        return values[target];
    }

    /// <summary>Maps a float (not NaN) to bits whose unsigned order is the float's order.</summary>
    private static uint SortableBits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    /// <summary>The inverse of <see cref="SortableBits"/>.</summary>
    private static float FromSortableBits(uint sortable) =>
        BitConverter.UInt32BitsToSingle((sortable & 0x8000_0000u) != 0 ? sortable & 0x7FFF_FFFFu : ~sortable);

    private static InvalidOperationException NothingToChoose() =>
        new("Every logit is -infinity or NaN, so there is no token to choose; the model's output is invalid (or every token was masked out).");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void Require(bool valid, string name, string rule, IFormattable value)
    {
        if (!valid)
        {
            throw new ArgumentOutOfRangeException(name, $"{name} {rule}; got {value.ToString(null, CultureInfo.InvariantCulture)}.");
        }
    }
}
