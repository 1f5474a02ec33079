using System.Globalization;

namespace AttAnchor.GraphCheck;

/// <summary>
/// How one output of ONNX Runtime compares with its PyTorch reference. It passes when the shapes are
/// equal and every element satisfies <c>|ort − ref| ≤ atol + rtol·|ref|</c> (in double; NaN matches
/// only NaN, an infinity only the same infinity).
/// </summary>
/// <param name="Name">The output's name.</param>
/// <param name="ActualShape">The shape ONNX Runtime produced.</param>
/// <param name="ExpectedShape">The reference's shape.</param>
/// <param name="MaxAbsDiff">The largest |ort − ref| (+∞ where one side is NaN or an unmatched infinity; NaN when the shapes differ).</param>
/// <param name="WorstIndex">The multi-index of the element with the largest difference; empty when the shapes differ or there are no elements.</param>
/// <param name="ActualAtWorst">ONNX Runtime's value there (widened to float32).</param>
/// <param name="ExpectedAtWorst">The reference's value there (widened to float32).</param>
/// <param name="Violations">How many elements break the tolerance (0 when passing; the element count when the shapes differ).</param>
/// <param name="Atol">The absolute tolerance used.</param>
/// <param name="Rtol">The relative tolerance used.</param>
public sealed record TensorComparison(
    string Name,
    long[] ActualShape,
    long[] ExpectedShape,
    double MaxAbsDiff,
    long[] WorstIndex,
    float ActualAtWorst,
    float ExpectedAtWorst,
    long Violations,
    double Atol,
    double Rtol)
{
    /// <summary>Whether the shapes are equal.</summary>
    public bool ShapesMatch => ActualShape.AsSpan().SequenceEqual(ExpectedShape);

    /// <summary>Whether the output passes: equal shapes and no element outside the tolerance.</summary>
    public bool Passed => ShapesMatch && Violations == 0;

    /// <summary>Compares two tensors, widening floating-point (and integer) values to float32 first.</summary>
    /// <param name="name">The output's name.</param>
    /// <param name="actual">What ONNX Runtime produced.</param>
    /// <param name="expected">The reference.</param>
    /// <param name="atol">The absolute tolerance.</param>
    /// <param name="rtol">The relative tolerance.</param>
    /// <returns>The comparison.</returns>
    public static TensorComparison Compare(string name, HostTensor actual, HostTensor expected, double atol, double rtol)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        long[] actualShape = actual.Shape, expectedShape = expected.Shape;
        if (!actualShape.AsSpan().SequenceEqual(expectedShape))
        {
            return new TensorComparison(name, actualShape, expectedShape, double.NaN, [], float.NaN, float.NaN, expected.Length, atol, rtol);
        }

        float[] a = actual.ToSingleArray(), r = expected.ToSingleArray();
        double worst = -1;
        long worstAt = -1, violations = 0;
        for (long i = 0; i < a.LongLength; i++)
        {
            double x = a[i], y = r[i];
            double diff;
            bool ok;
            if (double.IsNaN(x) || double.IsNaN(y) || double.IsInfinity(x) || double.IsInfinity(y))
            {
                ok = x.Equals(y); // NaN equals NaN here; an infinity only the same infinity
                diff = ok ? 0 : double.PositiveInfinity;
            }
            else
            {
                diff = Math.Abs(x - y);
                ok = diff <= atol + (rtol * Math.Abs(y));
            }

            if (!ok)
            {
                violations++;
            }

            if (diff > worst)
            {
                worst = diff;
                worstAt = i;
            }
        }

        if (worstAt < 0)
        {
            return new TensorComparison(name, actualShape, expectedShape, 0, [], float.NaN, float.NaN, 0, atol, rtol);
        }

        return new TensorComparison(name, actualShape, expectedShape, worst, Unravel(worstAt, actualShape), a[worstAt], r[worstAt], violations, atol, rtol);
    }

    /// <summary>The C-order multi-index of a flat index.</summary>
    /// <param name="flat">The flat index.</param>
    /// <param name="shape">The dimensions.</param>
    /// <returns>One index per dimension.</returns>
    public static long[] Unravel(long flat, ReadOnlySpan<long> shape)
    {
        var index = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }

        return index;
    }

    /// <summary>One line: the name, the max abs difference and where, and ok or FAIL with the reason.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        if (!ShapesMatch)
        {
            return $"{Name}: FAIL shape {HostTensor.FormatShape(ActualShape)} != reference {HostTensor.FormatShape(ExpectedShape)}";
        }

        string where = MaxAbsDiff == 0 || (WorstIndex.Length == 0 && ActualShape.Length > 0) ? string.Empty
            : string.Format(c, " at [{0}] (ort {1:G9}, ref {2:G9})", string.Join(", ", WorstIndex), ActualAtWorst, ExpectedAtWorst);
        string verdict = Passed ? "ok"
            : string.Format(c, "FAIL: {0} of {1} elements outside {2:G3} + {3:G3}·|ref|", Violations, HostTensor.ElementCount(ActualShape), Atol, Rtol);
        return string.Format(c, "{0}: max|Δ| {1:G3}{2} {3}", Name, MaxAbsDiff, where, verdict);
    }
}
