namespace AttAnchor.Tests;

/// <summary>Synthetic embeddings for the tests.</summary>
internal static class Embeddings
{
    /// <summary>Flattens rows of equal width into one row-major array.</summary>
    public static float[] Rows(params float[][] rows) => [.. rows.SelectMany(r => r)];

    /// <summary>Rows × d standard normal values (Box-Muller), deterministic for a given <paramref name="random"/>.</summary>
    public static float[] Gaussian(Random random, int rows, int d)
    {
        var values = new float[rows * d];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        return values;
    }

    /// <summary>Row <paramref name="index"/> of a row-major matrix of width <paramref name="d"/>.</summary>
    public static Span<float> Row(float[] matrix, int index, int d) => matrix.AsSpan(index * d, d);

    /// <summary>Distinct, recognisable values: row r of a segment tagged <paramref name="tag"/> holds tag·1000 + r + k/100.</summary>
    public static float[] Tagged(int tag, int rows, int d)
    {
        var values = new float[rows * d];
        for (int r = 0; r < rows; r++)
        {
            for (int k = 0; k < d; k++)
            {
                values[r * d + k] = tag * 1000 + r + k / 100f;
            }
        }

        return values;
    }
}
