using static AttAnchor.Tests.Embeddings;

namespace AttAnchor.Tests;

/// <summary>The similarity kernel against the double-precision reference, and its edge cases.</summary>
public class SimilarityTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(4, 4, 8)]
    [InlineData(9, 13, 33)]
    [InlineData(64, 576, 64)]
    [InlineData(17, 130, 2048)] // large enough to run in parallel
    public void Matrix_matches_the_double_precision_cosine(int n, int m, int d)
    {
        var random = new Random(n * 1000 + m);
        float[] text = Gaussian(random, n, d), image = Gaussian(random, m, d);
        var s = new float[n * m];

        CrossModalSimilarity.CosineSimilarityMatrix(text, image, d, s);

        double[,] expected = Reference.Matrix(text, image, d);
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                worst = Math.Max(worst, Math.Abs(expected[i, j] - s[i * m + j]));
            }
        }

        Assert.True(worst < 2e-6, $"largest difference {worst:E2}");
    }

    [Fact]
    public void Parallel_blocked_product_equals_each_row_computed_alone_bit_for_bit()
    {
        // The whole matrix (parallel, 4 × 4 tiles) against one text row at a time (serial, edge path).
        const int n = 23, m = 203, d = 1031;
        Assert.True((long)n * m * d >= SimilarityKernel.ParallelThreshold);
        var random = new Random(5);
        float[] text = Gaussian(random, n, d), image = Gaussian(random, m, d);
        var whole = new float[n * m];
        CrossModalSimilarity.CosineSimilarityMatrix(text, image, d, whole);

        var single = new float[m];
        for (int i = 0; i < n; i++)
        {
            CrossModalSimilarity.CosineSimilarityMatrix(Row(text, i, d), image, d, single);
            Assert.True(single.AsSpan().SequenceEqual(whole.AsSpan(i * m, m)), $"row {i}");
        }
    }

    [Fact]
    public void Documented_example_gives_the_documented_result()
    {
        float[] text = [1, 0, 0, 1];
        float[] image = [1, 1, 0, 2, 3, 0];
        var best = new int[2];
        var similarity = new float[2];

        CrossModalSimilarity.BestImageForText(text, image, 2, best, similarity);

        Assert.Equal([2, 1], best);
        Assert.Equal([1f, 1f], similarity);
    }

    [Fact]
    public void Invalid_rows_give_NaN_rows_and_columns_and_minus_one_matches()
    {
        float[] text = Rows([1, 0], [0, 0], [float.NaN, 1]);
        float[] image = Rows([1, 1], [float.PositiveInfinity, 0]);
        var s = new float[6];
        var bestImage = new int[3];
        var textSimilarity = new float[3];
        var bestText = new int[2];
        var imageSimilarity = new float[2];

        CrossModalSimilarity.CosineSimilarityMatrix(text, image, 2, s);
        CrossModalSimilarity.BestImageForText(text, image, 2, bestImage, textSimilarity);
        CrossModalSimilarity.BestTextForImage(text, image, 2, bestText, imageSimilarity);

        Assert.Equal(MathF.Sqrt(0.5f), s[0], 6);
        Assert.All(s.Skip(1), v => Assert.True(float.IsNaN(v)));
        Assert.Equal([0, -1, -1], bestImage);
        Assert.True(float.IsNaN(textSimilarity[1]) && float.IsNaN(textSimilarity[2]));
        Assert.Equal([0, -1], bestText);
        Assert.True(float.IsNaN(imageSimilarity[1]));
    }

    [Fact]
    public void No_counterpart_gives_minus_one_and_NaN()
    {
        float[] text = Rows([1, 0], [0, 1]);
        var best = new int[] { 7, 7 };
        var similarity = new float[] { 7, 7 };

        CrossModalSimilarity.BestImageForText(text, [], 2, best, similarity);

        Assert.Equal([-1, -1], best);
        Assert.All(similarity, v => Assert.True(float.IsNaN(v)));
    }

    [Theory]
    [InlineData(1e30f)]
    [InlineData(1e-30f)]
    [InlineData(1e-40f)] // subnormal
    [InlineData(3e38f)]  // the sum of squares overflows
    public void Very_large_and_very_small_rows_have_the_cosine_of_their_direction(float scale)
    {
        var random = new Random(9);
        const int d = 24;
        float[] text = Gaussian(random, 3, d), image = Gaussian(random, 5, d);
        float[] unitScale = [.. image.Select(v => Math.Clamp(v, -1f, 1f))];
        float[] scaled = [.. unitScale.Select(v => v * scale)];
        var expected = new float[15];
        var actual = new float[15];

        CrossModalSimilarity.CosineSimilarityMatrix(text, unitScale, d, expected);
        CrossModalSimilarity.CosineSimilarityMatrix(text, scaled, d, actual);

        // Subnormal scaling loses some mantissa bits, so allow a little more there.
        for (int i = 0; i < 15; i++)
        {
            Assert.Equal(expected[i], actual[i], scale < 1e-38f ? 1e-3f : 1e-6f);
        }
    }

    [Fact]
    public void Similarities_are_clamped_to_minus_one_and_one()
    {
        var random = new Random(13);
        const int d = 1000;
        float[] image = Gaussian(random, 8, d);
        float[] text = [.. image, .. image.Select(v => -v)];
        var s = new float[16 * 8];

        CrossModalSimilarity.CosineSimilarityMatrix(text, image, d, s);

        Assert.All(s, v => Assert.InRange(v, -1f, 1f));
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(1f, s[i * 8 + i], 5);
            Assert.Equal(-1f, s[(8 + i) * 8 + i], 5);
        }
    }

    [Fact]
    public void Half_input_gives_exactly_the_result_of_the_widened_float_input()
    {
        var random = new Random(17);
        const int n = 21, m = 150, d = 517;
        Half[] text = [.. Gaussian(random, n, d).Select(v => (Half)v)];
        Half[] image = [.. Gaussian(random, m, d).Select(v => (Half)v)];
        float[] wideText = [.. text.Select(v => (float)v)], wideImage = [.. image.Select(v => (float)v)];

        var halfMatrix = new float[n * m];
        var floatMatrix = new float[n * m];
        CrossModalSimilarity.CosineSimilarityMatrix(text, image, d, halfMatrix);
        CrossModalSimilarity.CosineSimilarityMatrix(wideText, wideImage, d, floatMatrix);
        var (halfBest, halfSim, floatBest, floatSim) = (new int[m], new float[m], new int[m], new float[m]);
        CrossModalSimilarity.BestTextForImage(text, image, d, halfBest, halfSim);
        CrossModalSimilarity.BestTextForImage(wideText, wideImage, d, floatBest, floatSim);
        var options = AttAnchorOptions.Default with { Threshold = 0.05f };

        Assert.Equal(floatMatrix, halfMatrix);
        Assert.Equal(floatBest, halfBest);
        Assert.Equal(floatSim, halfSim);
        Assert.Equal(
            AnchorPlan.Create(wideText, wideImage, d, options).Anchors,
            AnchorPlan.Create(text, image, d, options).Anchors);
        Assert.NotEmpty(AnchorPlan.Create(text, image, d, options).Anchors);
    }
}
