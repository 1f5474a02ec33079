namespace AttAnchor.OnnxRuntime.Tests.Generation;

/// <summary>
/// <see cref="TokenSampler"/>: greedy argmax, the repetition penalty, the top-k and top-p keep sets and
/// the empirical frequencies of the draws on small hand-made distributions, seeds, validation,
/// non-finite logits and allocations.
/// </summary>
public class TokenSamplerTests
{
    private const float NegInf = float.NegativeInfinity;
    private const float PosInf = float.PositiveInfinity;
    private const float NaN = float.NaN;

    private static TokenSampler Greedy(int vocabulary, float repetitionPenalty = 1f) =>
        new(temperature: 0f, topK: 0, topP: 1f, repetitionPenalty, seed: 0, vocabulary);

    /// <summary>log(p) for each probability (the logits of that distribution).</summary>
    private static float[] LogitsOf(params double[] probabilities) => [.. probabilities.Select(p => p == 0 ? NegInf : (float)Math.Log(p))];

    /// <summary>How often each id comes out of <paramref name="draws"/> calls on fresh copies of the logits.</summary>
    private static int[] Histogram(TokenSampler sampler, float[] logits, int draws, int[]? history = null)
    {
        int[] counts = new int[logits.Length];
        float[] row = new float[logits.Length];
        for (int i = 0; i < draws; i++)
        {
            logits.CopyTo(row, 0);
            counts[sampler.Next(row, history ?? [])]++;
        }

        return counts;
    }

    /// <summary>softmax(logits / temperature) over the allowed ids, in double.</summary>
    private static double[] ExpectedProbabilities(float[] logits, float temperature, int[] allowed)
    {
        double max = allowed.Max(i => (double)logits[i] / temperature);
        double[] p = new double[logits.Length];
        foreach (int i in allowed)
        {
            p[i] = Math.Exp(((double)logits[i] / temperature) - max);
        }

        double total = p.Sum();
        return [.. p.Select(x => x / total)];
    }

    /// <summary>
    /// Only allowed ids appear, each of them appears, and every frequency is within 5 standard
    /// deviations (plus 0.002) of its probability.
    /// </summary>
    private static void AssertFollows(int[] counts, double[] probabilities, int[] allowed)
    {
        int draws = counts.Sum();
        for (int i = 0; i < counts.Length; i++)
        {
            if (!allowed.Contains(i))
            {
                Assert.True(counts[i] == 0, $"id {i} is outside the keep set [{string.Join(", ", allowed)}] but was drawn {counts[i]} times.");
                continue;
            }

            Assert.True(counts[i] > 0, $"id {i} is in the keep set but was never drawn.");
            double frequency = (double)counts[i] / draws;
            double sigma = Math.Sqrt(probabilities[i] * (1 - probabilities[i]) / draws);
            Assert.True(Math.Abs(frequency - probabilities[i]) <= (5 * sigma) + 0.002,
                $"id {i}: frequency {frequency:F4}, probability {probabilities[i]:F4} (σ {sigma:F4}).");
        }
    }

    // --- greedy --------------------------------------------------------------------------------

    [Theory]
    [InlineData(new[] { 1f, 3f, 2f }, 1)]
    [InlineData(new[] { 5f, 5f, 1f }, 0)]
    [InlineData(new[] { 1f, 7f, 7f }, 1)]
    [InlineData(new[] { -3f, -1f, -1f, -2f }, 1)]
    [InlineData(new[] { -0f, 0f }, 0)]
    [InlineData(new[] { -1f, 0f, -0f }, 1)]
    [InlineData(new[] { NegInf, -1e30f, NegInf }, 1)]
    [InlineData(new[] { NaN, 0f, -1f }, 1)]
    [InlineData(new[] { 2f, NaN, 3f, NaN }, 2)]
    [InlineData(new[] { NaN, NegInf, -5f, NaN }, 2)]
    [InlineData(new[] { 1f, PosInf, 3f, PosInf }, 1)]
    [InlineData(new[] { 4f }, 0)]
    public void Greedy_takes_the_largest_logit_ties_to_the_lowest_id_and_never_NaN(float[] logits, int expected)
    {
        Assert.Equal(expected, Greedy(logits.Length).Next(logits, []));
    }

    [Fact]
    public void Greedy_ignores_top_k_and_top_p()
    {
        var sampler = new TokenSampler(temperature: 0f, topK: 1, topP: 0.01f, repetitionPenalty: 1f, seed: null, vocabularySize: 4);

        Assert.Equal(2, sampler.Next([0f, 1f, 9f, 1f], []));
        Assert.True(sampler.IsGreedy);
    }

    // --- repetition penalty --------------------------------------------------------------------

    [Theory]
    [InlineData(2f, 2f, 1f)]
    [InlineData(-2f, 2f, -4f)]
    [InlineData(0f, 2f, 0f)]
    [InlineData(3f, 0.5f, 6f)]
    [InlineData(-3f, 0.5f, -1.5f)]
    [InlineData(1.2f, 1.3f, 1.2f / 1.3f)]
    [InlineData(-1.2f, 1.3f, -1.2f * 1.3f)]
    [InlineData(5f, 1f, 5f)]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_once_per_distinct_id(float logit, float penalty, float expected)
    {
        float[] logits = [logit, 10f, -7f];
        var sampler = Greedy(3, penalty);

        // id 0 four times, ids outside the vocabulary (an image placeholder, an overflow) skipped.
        _ = sampler.Next(logits, [0, -200, 0, 3, 0, 99, 0]);

        Assert.Equal(expected, logits[0]);
        Assert.Equal(10f, logits[1]);
        Assert.Equal(-7f, logits[2]);
    }

    [Theory]
    [InlineData(new[] { 2f, 1.5f }, new[] { 0 }, 2f, 1)]      // 2 / 2 = 1 < 1.5
    [InlineData(new[] { -1f, -1.5f }, new[] { 0 }, 2f, 1)]    // -1 · 2 = -2 < -1.5
    [InlineData(new[] { 2f, 1.5f }, new[] { 1 }, 2f, 0)]
    [InlineData(new[] { 2f, 1.5f }, new[] { 0, 1 }, 2f, 0)]   // 1 vs 0.75
    [InlineData(new[] { 1f, 0.8f }, new[] { 0, 0, 0 }, 1.2f, 0)] // once: 0.833 > 0.8; three times would be 0.579
    public void Repetition_penalty_changes_the_greedy_choice(float[] logits, int[] history, float penalty, int expected)
    {
        Assert.Equal(expected, Greedy(logits.Length, penalty).Next(logits, history));
    }

    [Fact]
    public void Repetition_penalty_applies_again_on_each_call()
    {
        var sampler = Greedy(2, 2f);
        float[] logits = [8f, 1f];

        _ = sampler.Next(logits, [0]);
        _ = sampler.Next(logits, [0]);

        Assert.Equal(2f, logits[0]);
    }

    // --- top-k ---------------------------------------------------------------------------------

    /// <summary>(logits, k, the ids top-k keeps).</summary>
    public static TheoryData<float[], int, int[]> TopKCases => new()
    {
        { [1f, 2f, 3f, 0f], 1, [2] },
        { [1f, 2f, 3f, 0f], 2, [1, 2] },
        { [1f, 2f, 3f, 0f], 3, [0, 1, 2] },
        { [1f, 2f, 3f, 0f], 4, [0, 1, 2, 3] },
        { [1f, 2f, 3f, 0f], 10, [0, 1, 2, 3] },
        // Ties at the boundary are all kept, as transformers' `scores < topk(scores, k)[..., -1]` mask does.
        { [3f, 2f, 2f, 0f], 2, [0, 1, 2] },
        { [2f, 2f, 2f, 0f], 1, [0, 1, 2] },
        { [0.5f, 1f, 1f, 1f, 0.5f], 4, [0, 1, 2, 3, 4] },
        // −∞ and NaN never survive, even when k is larger than the finite count.
        { [NegInf, 1f, NaN, 0f], 3, [1, 3] },
    };

    [Theory]
    [MemberData(nameof(TopKCases))]
    public void Top_k_keeps_the_k_largest_and_draws_in_proportion(float[] logits, int k, int[] keep)
    {
        var sampler = new TokenSampler(temperature: 1f, topK: k, topP: 1f, repetitionPenalty: 1f, seed: 42, vocabularySize: logits.Length);

        int[] counts = Histogram(sampler, logits, 20_000);

        AssertFollows(counts, ExpectedProbabilities(logits, 1f, keep), keep);
    }

    [Theory]
    [InlineData(1, 20)]
    [InlineData(5, 50)]
    [InlineData(17, 100)]
    [InlineData(99, 100)]
    [InlineData(250, 1000)]
    public void Top_k_threshold_is_the_kth_largest_value(int k, int length)
    {
        var random = new Random(k * 31 + length);
        for (int round = 0; round < 20; round++)
        {
            // Few distinct values, so there are many ties.
            float[] values = [.. Enumerable.Range(0, length).Select(_ => (float)random.Next(-8, 8))];
            float expected = values.OrderDescending().ElementAt(k - 1);

            Assert.Equal(expected, TokenSampler.KthLargest(values.ToArray(), k));
        }
    }

    // --- top-p ---------------------------------------------------------------------------------

    /// <summary>(probabilities, top-p, the ids top-p keeps).</summary>
    public static TheoryData<double[], float, int[]> TopPCases => new()
    {
        // Ascending: 0.05, 0.15, 0.3, 0.5; cumulative 0.05, 0.2, 0.5, 1. Removed: cumulative ≤ 1 − p.
        { [0.5, 0.3, 0.15, 0.05], 1f, [0, 1, 2, 3] },
        { [0.5, 0.3, 0.15, 0.05], 0.9f, [0, 1, 2] },
        { [0.5, 0.3, 0.15, 0.05], 0.75f, [0, 1] },
        { [0.5, 0.3, 0.15, 0.05], 0.45f, [0] },
        { [0.5, 0.3, 0.15, 0.05], 0.01f, [0] },
        // The order of the ids does not matter.
        { [0.05, 0.3, 0.5, 0.15], 0.75f, [1, 2] },
        // At least one always stays, even when one token holds all the mass.
        { [1.0, 0.0, 0.0], 0.5f, [0] },
        // Equal logits straddling the cut: the higher id is removed first.
        { [0.4, 0.2, 0.2, 0.2], 0.7f, [0, 1, 2] },
    };

    [Theory]
    [MemberData(nameof(TopPCases))]
    public void Top_p_keeps_the_nucleus_and_draws_in_renormalised_proportion(double[] probabilities, float topP, int[] keep)
    {
        float[] logits = LogitsOf(probabilities);
        var sampler = new TokenSampler(temperature: 1f, topK: 0, topP: topP, repetitionPenalty: 1f, seed: 7, vocabularySize: logits.Length);

        int[] counts = Histogram(sampler, logits, 20_000);

        AssertFollows(counts, ExpectedProbabilities(logits, 1f, keep), keep);
    }

    [Fact]
    public void Temperature_then_top_k_then_top_p_in_that_order()
    {
        // Probabilities 0.4, 0.3, 0.2, 0.1; temperature 2 flattens them to ∝ √p: 0.325, 0.282, 0.230, 0.163.
        float[] logits = LogitsOf(0.4, 0.3, 0.2, 0.1);

        // Top-k 3 drops id 3 (renormalised 0.389, 0.337, 0.275); top-p 0.7 then drops id 2 (cumulative
        // 0.275 ≤ 0.3). Without the temperature top-p 0.7 would keep ids 0 and 1 too, so the draws
        // tell the orders apart only through the frequencies: 0.536 / 0.464 flattened against
        // 0.571 / 0.429 unflattened.
        var sampler = new TokenSampler(temperature: 2f, topK: 3, topP: 0.7f, repetitionPenalty: 1f, seed: 3, vocabularySize: 4);
        int[] counts = Histogram(sampler, logits, 40_000);

        AssertFollows(counts, ExpectedProbabilities(logits, 2f, [0, 1]), [0, 1]);
    }

    [Fact]
    public void Low_temperature_sharpens_and_high_temperature_flattens()
    {
        float[] logits = [2f, 1f, 0f];
        int[] all = [0, 1, 2];
        foreach (float temperature in new[] { 0.25f, 1f, 4f })
        {
            var sampler = new TokenSampler(temperature, topK: 0, topP: 1f, repetitionPenalty: 1f, seed: 11, vocabularySize: 3);
            AssertFollows(Histogram(sampler, logits, 20_000), ExpectedProbabilities(logits, temperature, all), all);
        }
    }

    [Theory]
    [InlineData(1e-45f)]
    [InlineData(1e-30f)]
    [InlineData(1e-10f)]
    public void A_tiny_temperature_picks_the_argmax_as_greedy_does(float temperature)
    {
        // Dividing before subtracting the largest logit overflowed to ∞ − ∞ = NaN, and the draw was uniform noise.
        const int Vocabulary = 1000;
        var logitsRandom = new Random(4242);
        for (int round = 0; round < 200; round++)
        {
            float[] logits = [.. Enumerable.Range(0, Vocabulary).Select(_ => (float)((logitsRandom.NextDouble() * 60) - 30))];
            int expected = Array.IndexOf(logits, logits.Max());
            foreach ((int topK, float topP) in new[] { (0, 1f), (40, 0.9f) })
            {
                var sampler = new TokenSampler(temperature, topK, topP, repetitionPenalty: 1f, seed: round, Vocabulary);

                Assert.Equal(expected, sampler.Next(logits.ToArray(), []));
            }
        }
    }

    [Fact]
    public void Repetition_penalty_applies_before_sampling()
    {
        // ln 3 / 2 against ln 1: probabilities ∝ √3, 1.
        float[] logits = [MathF.Log(3f), 0f];
        var sampler = new TokenSampler(temperature: 1f, topK: 0, topP: 1f, repetitionPenalty: 2f, seed: 5, vocabularySize: 2);

        int[] counts = Histogram(sampler, logits, 20_000, history: [0]);

        AssertFollows(counts, ExpectedProbabilities([MathF.Log(3f) / 2f, 0f], 1f, [0, 1]), [0, 1]);
    }

    /// <summary>
    /// The keep set transformers' warpers compute, by brute force: temperature, every value ≥ the k-th
    /// largest, then a full ascending sort (ties: higher id first) with the cumulative softmax in
    /// double, removing the prefix whose cumulative probability is ≤ 1 − top-p except the last.
    /// </summary>
    private static int[] ReferenceKeepSet(float[] logits, float temperature, int topK, float topP)
    {
        float[] v = [.. logits.Select(x => x / temperature)];
        int[] ids = [.. Enumerable.Range(0, v.Length).Where(i => v[i] > NegInf)];
        if (topK > 0 && topK < ids.Length)
        {
            float kth = ids.Select(i => v[i]).OrderDescending().ElementAt(topK - 1);
            ids = [.. ids.Where(i => v[i] >= kth)];
        }

        if (topP < 1f)
        {
            ids = [.. ids.OrderBy(i => v[i]).ThenByDescending(i => i)];
            double max = ids.Max(i => (double)v[i]);
            double[] w = [.. ids.Select(i => Math.Exp(v[i] - max))];
            double total = w.Sum();
            double cumulative = 0;
            int start = 0;
            while (start < ids.Length - 1)
            {
                cumulative += w[start];
                if (cumulative / total > 1.0 - topP)
                {
                    break;
                }

                start++;
            }

            ids = ids[start..];
        }

        return [.. ids.Order()];
    }

    [Theory]
    [InlineData(1f, 0, 0.9f, 1.0)]
    [InlineData(1f, 0, 0.5f, 3.0)]
    [InlineData(0.7f, 0, 0.95f, 0.5)]
    [InlineData(1f, 0, 0.99f, 0.1)]
    [InlineData(1f, 0, 0.1f, 5.0)]
    [InlineData(1.3f, 40, 0.9f, 2.0)]
    [InlineData(1f, 500, 0.8f, 1.0)]
    [InlineData(1f, 300, 1f, 1.0)]
    [InlineData(0.5f, 3, 1f, 10.0)]
    public void Keep_sets_equal_a_brute_force_reference_on_random_rows(float temperature, int topK, float topP, double spread)
    {
        const int Vocabulary = 3000;
        var sampler = new TokenSampler(temperature, topK, topP, repetitionPenalty: 1f, seed: 17, Vocabulary);
        var random = new Random(topK + (int)(topP * 1000) + (int)(spread * 10));
        for (int round = 0; round < 25; round++)
        {
            // Rounded to 1/8 so that many logits tie; a few masked out.
            float[] logits = [.. Enumerable.Range(0, Vocabulary).Select(_ =>
                random.Next(50) == 0 ? NegInf : MathF.Round((float)(random.NextDouble() * random.NextDouble() * 20 * spread) * 8f) / 8f)];
            int[] expected = ReferenceKeepSet(logits, temperature, topK, topP);

            int id = sampler.Next(logits.ToArray(), []);

            int[] kept = [.. sampler.LastCandidates.ToArray().Order()];
            Assert.Equal(expected, kept);
            Assert.Contains(id, expected);
        }
    }

    // --- seeds ---------------------------------------------------------------------------------

    private static int[] Run(int? seed, int steps)
    {
        var sampler = new TokenSampler(temperature: 0.9f, topK: 40, topP: 0.95f, repetitionPenalty: 1.1f, seed, vocabularySize: 500);
        var logitsRandom = new Random(2024);
        float[] logits = new float[500];
        var history = new List<int>();
        for (int step = 0; step < steps; step++)
        {
            for (int i = 0; i < logits.Length; i++)
            {
                logits[i] = (float)(logitsRandom.NextDouble() * 6);
            }

            history.Add(sampler.Next(logits, history.ToArray()));
        }

        return [.. history];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(123456)]
    [InlineData(-5)]
    public void The_same_seed_gives_the_same_tokens(int seed)
    {
        int[] first = Run(seed, 200);

        Assert.Equal(first, Run(seed, 200));
        Assert.NotEqual(first, Run(seed + 1, 200));
        Assert.True(first.Distinct().Count() > 20);
    }

    // --- validation ----------------------------------------------------------------------------

    [Theory]
    [InlineData(-1f, 0, 1f, 1f, 10, "temperature", "temperature must be 0 (greedy) or a positive finite number; got -1.")]
    [InlineData(NaN, 0, 1f, 1f, 10, "temperature", "temperature must be 0 (greedy) or a positive finite number; got NaN.")]
    [InlineData(PosInf, 0, 1f, 1f, 10, "temperature", "temperature must be 0 (greedy) or a positive finite number; got Infinity.")]
    [InlineData(1f, -1, 1f, 1f, 10, "topK", "topK must be 0 (off) or a positive number of tokens; got -1.")]
    [InlineData(1f, 0, 0f, 1f, 10, "topP", "topP must be in (0, 1] (1 is off); got 0.")]
    [InlineData(1f, 0, 1.5f, 1f, 10, "topP", "topP must be in (0, 1] (1 is off); got 1.5.")]
    [InlineData(1f, 0, -0.5f, 1f, 10, "topP", "topP must be in (0, 1] (1 is off); got -0.5.")]
    [InlineData(1f, 0, NaN, 1f, 10, "topP", "topP must be in (0, 1] (1 is off); got NaN.")]
    [InlineData(1f, 0, 1f, 0f, 10, "repetitionPenalty", "repetitionPenalty must be a positive finite number (1 is off); got 0.")]
    [InlineData(1f, 0, 1f, -1.1f, 10, "repetitionPenalty", "repetitionPenalty must be a positive finite number (1 is off); got -1.1.")]
    [InlineData(1f, 0, 1f, PosInf, 10, "repetitionPenalty", "repetitionPenalty must be a positive finite number (1 is off); got Infinity.")]
    [InlineData(1f, 0, 1f, NaN, 10, "repetitionPenalty", "repetitionPenalty must be a positive finite number (1 is off); got NaN.")]
    [InlineData(1f, 0, 1f, 1f, 0, "vocabularySize", "vocabularySize must be a positive number of tokens; got 0.")]
    public void Invalid_options_are_refused_with_the_option_and_its_range(
        float temperature, int topK, float topP, float repetitionPenalty, int vocabularySize, string parameter, string message)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(temperature, topK, topP, repetitionPenalty, seed: null, vocabularySize));

        Assert.Equal(parameter, e.ParamName);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0f, 0, 1f, 1f)]
    [InlineData(1e-6f, 1, 1e-6f, 1e-6f)]
    [InlineData(100f, 100000, 1f, 50f)]
    public void Boundary_options_are_accepted(float temperature, int topK, float topP, float repetitionPenalty)
    {
        var sampler = new TokenSampler(temperature, topK, topP, repetitionPenalty, seed: 1, vocabularySize: 3);

        Assert.InRange(sampler.Next([0f, 1f, 2f], [0, 1, 2]), 0, 2);
    }

    [Fact]
    public void A_logits_row_of_the_wrong_length_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Greedy(4).Next(new float[5], []));

        Assert.Equal("logits", e.ParamName);
    }

    // --- non-finite logits ---------------------------------------------------------------------

    [Theory]
    [InlineData(0f, new[] { NegInf, NegInf, NegInf })]
    [InlineData(0f, new[] { NaN, NegInf, NaN })]
    [InlineData(1f, new[] { NegInf, NegInf, NegInf })]
    [InlineData(1f, new[] { NaN, NaN, NaN })]
    [InlineData(0.5f, new[] { NaN, NegInf, NaN })]
    public void Nothing_to_choose_throws(float temperature, float[] logits)
    {
        var sampler = new TokenSampler(temperature, topK: 2, topP: 0.9f, repetitionPenalty: 1.3f, seed: 0, vocabularySize: logits.Length);

        var e = Assert.Throws<InvalidOperationException>(() => sampler.Next(logits, [0, 1]));
        Assert.Contains("Every logit is -infinity or NaN", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1f, 0, 1f)]
    [InlineData(1f, 2, 1f)]
    [InlineData(0.7f, 0, 0.9f)]
    public void NaN_and_negative_infinity_are_never_drawn(float temperature, int topK, float topP)
    {
        float[] logits = [NaN, 0f, NegInf, 0.5f, NaN];
        var sampler = new TokenSampler(temperature, topK, topP, repetitionPenalty: 1f, seed: 9, vocabularySize: logits.Length);

        int[] counts = Histogram(sampler, logits, 5_000);

        Assert.Equal(0, counts[0] + counts[2] + counts[4]);
        Assert.True(counts[1] > 0 && counts[3] > 0);
    }

    [Fact]
    public void Positive_infinity_takes_all_the_probability_shared_equally()
    {
        float[] logits = [PosInf, 1e30f, PosInf, 3f];
        var sampler = new TokenSampler(temperature: 1f, topK: 0, topP: 0.5f, repetitionPenalty: 1f, seed: 2, vocabularySize: 4);

        int[] counts = Histogram(sampler, logits, 20_000);

        // top-p 0.5 over two equal tokens keeps the lower id (the higher one sorts first and is cut).
        AssertFollows(counts, [1, 0, 0, 0], [0]);

        sampler = new TokenSampler(temperature: 1e-37f, topK: 0, topP: 1f, repetitionPenalty: 1f, seed: 2, vocabularySize: 4);
        counts = Histogram(sampler, [50f, 50f, 1f, NaN], 20_000);

        // A tiny temperature overflows both large logits to +∞: half each, as the limit of the softmax.
        AssertFollows(counts, [0.5, 0.5, 0, 0], [0, 1]);
    }

    // --- allocations ---------------------------------------------------------------------------

    [Theory]
    [InlineData(0f, 0, 1f, 1f)]
    [InlineData(0f, 0, 1f, 1.2f)]
    [InlineData(1f, 0, 1f, 1f)]
    [InlineData(0.8f, 50, 1f, 1.1f)]
    [InlineData(0.8f, 0, 0.9f, 1.1f)]
    [InlineData(0.8f, 50, 0.9f, 1.1f)]
    public void Next_allocates_nothing_in_steady_state(float temperature, int topK, float topP, float repetitionPenalty)
    {
        const int Vocabulary = 32_000;
        var sampler = new TokenSampler(temperature, topK, topP, repetitionPenalty, seed: 1, Vocabulary);
        var random = new Random(0);
        float[] source = [.. Enumerable.Range(0, Vocabulary).Select(_ => (float)((random.NextDouble() * 20) - 10))];
        source[17] = NaN;
        source[18] = NegInf;
        float[] logits = new float[Vocabulary];
        int[] history = [.. Enumerable.Range(0, 300).Select(i => i * 7 % Vocabulary)];

        long allocated = Allocations.SteadyStateBytes(_ =>
        {
            source.CopyTo(logits, 0);
            _ = sampler.Next(logits, history);
        });

        Assert.Equal(0, allocated);
    }
}
