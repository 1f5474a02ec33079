namespace AttAnchor.Tests;

/// <summary>
/// A naive double-precision implementation of docs/spec/attanchor.md, written independently of the
/// library's kernel: one cosine per pair, every sum in double.
/// </summary>
internal static class Reference
{
    /// <summary>Best match of one row: its argmax (lowest index on ties), the best and the runner-up similarity.</summary>
    public readonly record struct Match(int Best, double Similarity, double RunnerUp);

    public static bool IsValid(ReadOnlySpan<float> row)
    {
        double sum = 0;
        foreach (float v in row)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }

            sum += (double)v * v;
        }

        return sum > 0;
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (!IsValid(a) || !IsValid(b))
        {
            return double.NaN;
        }

        double dot = 0, aa = 0, bb = 0;
        for (int k = 0; k < a.Length; k++)
        {
            dot += (double)a[k] * b[k];
            aa += (double)a[k] * a[k];
            bb += (double)b[k] * b[k];
        }

        return dot / (Math.Sqrt(aa) * Math.Sqrt(bb));
    }

    /// <summary>sim[n, m] in double.</summary>
    public static double[,] Matrix(float[] text, float[] image, int d)
    {
        int n = text.Length / d, m = image.Length / d;
        var s = new double[n, m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                s[i, j] = Cosine(text.AsSpan(i * d, d), image.AsSpan(j * d, d));
            }
        }

        return s;
    }

    /// <summary>For each text row (byText) or image row, the best match on the other side.</summary>
    public static Match[] BestMatches(double[,] s, bool byText)
    {
        int rows = byText ? s.GetLength(0) : s.GetLength(1);
        int others = byText ? s.GetLength(1) : s.GetLength(0);
        var matches = new Match[rows];
        for (int r = 0; r < rows; r++)
        {
            int best = -1;
            double top = double.NegativeInfinity, second = double.NegativeInfinity;
            for (int o = 0; o < others; o++)
            {
                double v = byText ? s[r, o] : s[o, r];
                if (double.IsNaN(v))
                {
                    continue;
                }

                if (v > top)
                {
                    second = top;
                    top = v;
                    best = o;
                }
                else if (v > second)
                {
                    second = v;
                }
            }

            matches[r] = new Match(best, best < 0 ? double.NaN : top, second);
        }

        return matches;
    }
}
