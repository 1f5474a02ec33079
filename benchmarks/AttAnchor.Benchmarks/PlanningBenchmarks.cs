using System.Numerics.Tensors;
using AttAnchor;
using BenchmarkDotNet.Attributes;

/// <summary>
/// AttAnchor planning at TinyLLaVA v1 sizes (M = 576 image tokens, d = 2048) against the obvious
/// implementation: one <see cref="TensorPrimitives.CosineSimilarity(ReadOnlySpan{float}, ReadOnlySpan{float})"/>
/// call per (text, image) pair, then the same argmax and threshold.
/// </summary>
[MemoryDiagnoser]
public class PlanningBenchmarks
{
    private const int ImageTokens = 576;
    private const int Dimension = 2048;

    private float[] _text = [];
    private float[] _image = [];

    /// <summary>Candidate text tokens N.</summary>
    [Params(16, 64, 256)]
    public int TextTokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2509_23109);
        _image = Gaussian(random, ImageTokens * Dimension);
        _text = Gaussian(random, TextTokens * Dimension);

        // Plant a correlated copy of a patch in every fourth text row, so that anchors exist.
        for (int n = 0; n < TextTokens; n += 4)
        {
            Span<float> row = _text.AsSpan(n * Dimension, Dimension);
            ReadOnlySpan<float> patch = _image.AsSpan(random.Next(ImageTokens) * Dimension, Dimension);
            TensorPrimitives.MultiplyAdd(patch, 0.5f, row, row);
        }
    }

    [Benchmark(Baseline = true, Description = "naive CosineSimilarity per pair")]
    public int NaivePerPair() => NaivePlan.AnchorCount(_text, _image, Dimension, AttAnchorOptions.DefaultThreshold);

    [Benchmark(Description = "AnchorPlan.Create")]
    public int Blocked() => AnchorPlan.Create(_text, _image, Dimension, AttAnchorOptions.Default).InsertedCount;

    private static float[] Gaussian(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            // Box-Muller: one normal value from two uniform ones.
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        return values;
    }
}

/// <summary>The baseline: text-into-image anchors with one cosine call per pair.</summary>
internal static class NaivePlan
{
    public static int AnchorCount(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int d, float threshold)
    {
        int n = text.Length / d, m = image.Length / d, anchors = 0;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> t = text.Slice(i * d, d);
            float best = float.NegativeInfinity;
            for (int j = 0; j < m; j++)
            {
                float s = TensorPrimitives.CosineSimilarity(t, image.Slice(j * d, d));
                if (s > best)
                {
                    best = s;
                }
            }

            if (best >= threshold)
            {
                anchors++;
            }
        }

        return anchors;
    }
}
