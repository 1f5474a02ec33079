using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
#if !NET10_0_OR_GREATER
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
#endif

namespace AttAnchor;

/// <summary>
/// The blocked cosine-similarity product behind <see cref="CrossModalSimilarity"/>.
/// </summary>
/// <remarks>
/// Scales each row once (NaN for an invalid row), takes the raw dot products in 4 × 4 register tiles, then scales
/// and clamps to [−1, 1]. Every pair's dot product is the same sequence of operations, so equal rows give
/// bitwise-equal similarities. See docs/core.md.
/// </remarks>
internal static unsafe class SimilarityKernel
{
    /// <summary>Multiply-adds (N·M·d) from which the product is spread over the cores.</summary>
    internal const long ParallelThreshold = 1L << 22;

    /// <summary>Text rows kept hot together: 64 rows of d = 2048 are 512 KiB, within a core's L2.</summary>
    private const int TextPanelRows = 64;

    private const int Tile = 4;
    private const float MinSafeSumOfSquares = 1e-30f;
    private const float MaxSafeSumOfSquares = 1e30f;

    /// <summary>Writes sim(n, m) into <paramref name="s"/>[n·m + m]. Shapes must already be validated.</summary>
    public static void Compute(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int n, int m, int d, Span<float> s)
    {
        if (n == 0 || m == 0)
        {
            return;
        }

        float[] scales = ArrayPool<float>.Shared.Rent(n + m);
        float[]? textCopy = null;
        float[]? imageCopy = null;
        try
        {
            Span<float> textScale = scales.AsSpan(0, n);
            Span<float> imageScale = scales.AsSpan(n, m);
            if (!TryRowScales(text, n, d, textScale))
            {
                text = NormalisedCopy(text, n, d, textScale, out textCopy);
            }

            if (!TryRowScales(image, m, d, imageScale))
            {
                image = NormalisedCopy(image, m, d, imageScale, out imageCopy);
            }

            fixed (float* t = text, i = image, p = s)
            {
                DotProducts(t, i, p, n, m, d);
            }

            ScaleAndClamp(s, textScale, imageScale, n, m);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scales);
            if (textCopy is not null)
            {
                ArrayPool<float>.Shared.Return(textCopy);
            }

            if (imageCopy is not null)
            {
                ArrayPool<float>.Shared.Return(imageCopy);
            }
        }
    }

    /// <summary>
    /// s[i·m + j] = clamp(s[i·m + j] · imageScale[j] · textScale[i], −1, 1), NaN kept: the same two roundings per
    /// entry as element-wise multiplies, in one pass of <see cref="Vector{T}"/> lanes and a scalar tail, with no
    /// generic vector kernels to compile on the first call.
    /// </summary>
    private static void ScaleAndClamp(Span<float> s, ReadOnlySpan<float> textScale, ReadOnlySpan<float> imageScale, int n, int m)
    {
        var lower = new Vector<float>(-1f);
        var upper = new Vector<float>(1f);
        for (int row = 0; row < n; row++)
        {
            Span<float> r = s.Slice(row * m, m);
            float rowScale = textScale[row];
            int j = 0;
            for (; j <= m - Vector<float>.Count; j += Vector<float>.Count)
            {
                Vector<float> v = new Vector<float>(r[j..]) * new Vector<float>(imageScale[j..]) * rowScale;
                v = Vector.ConditionalSelect(Vector.LessThan(v, lower), lower, v); // NaN compares false both ways and stays NaN
                v = Vector.ConditionalSelect(Vector.GreaterThan(v, upper), upper, v);
                v.CopyTo(r[j..]);
            }

            for (; j < m; j++)
            {
                float v = r[j] * imageScale[j] * rowScale;
                r[j] = v < -1f ? -1f : v > 1f ? 1f : v;
            }
        }
    }

    /// <summary>
    /// Writes 1/‖row‖ for each row, or NaN for an invalid row (zero norm or a non-finite value).
    /// Returns false when a valid row is extreme and the side needs <see cref="NormalisedCopy"/>.
    /// </summary>
    private static bool TryRowScales(ReadOnlySpan<float> rows, int count, int d, Span<float> scales)
    {
        bool safe = true;
        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<float> row = rows.Slice(r * d, d);
            float sumOfSquares = TensorPrimitives.SumOfSquares(row);
            if (sumOfSquares is >= MinSafeSumOfSquares and <= MaxSafeSumOfSquares)
            {
                scales[r] = 1f / MathF.Sqrt(sumOfSquares);
            }
            else if (IsInvalid(row, sumOfSquares))
            {
                scales[r] = float.NaN;
            }
            else
            {
                scales[r] = 1f; // placeholder: NormalisedCopy sets it
                safe = false;
            }
        }

        return safe;
    }

    private static bool IsInvalid(ReadOnlySpan<float> row, float sumOfSquares)
    {
        if (float.IsNaN(sumOfSquares))
        {
            return true; // squares are never negative, so only a NaN value makes the sum NaN
        }

        float largest = MathF.Abs(TensorPrimitives.MaxMagnitude(row));
        return largest == 0f || float.IsInfinity(largest);
    }

    /// <summary>Copies the rows scaled to unit norm (invalid rows as zeros) and sets every valid scale to 1.</summary>
    private static ReadOnlySpan<float> NormalisedCopy(ReadOnlySpan<float> rows, int count, int d, Span<float> scales, out float[] buffer)
    {
        buffer = ArrayPool<float>.Shared.Rent(count * d);
        Span<float> copy = buffer.AsSpan(0, count * d);
        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<float> source = rows.Slice(r * d, d);
            Span<float> target = copy.Slice(r * d, d);
            if (float.IsNaN(scales[r]))
            {
                target.Clear();
                continue;
            }

            // Divide by the largest magnitude first: the scaled values lie in [-1, 1], so the
            // sum of squares lies in [1, d] and neither overflows nor underflows.
            TensorPrimitives.Divide(source, MathF.Abs(TensorPrimitives.MaxMagnitude(source)), target);
            TensorPrimitives.Divide(target, MathF.Sqrt(TensorPrimitives.SumOfSquares(target)), target);
            scales[r] = 1f;
        }

        return copy;
    }

    /// <summary>s[i·m + j] = T[i]·I[j] for all pairs: whole 4-row image blocks in parallel, then the last m % 4 columns.</summary>
    private static void DotProducts(float* t, float* i, float* s, int n, int m, int d)
    {
        int blocks = m / Tile;
        int chunks = (long)n * m * d >= ParallelThreshold && Environment.ProcessorCount > 1
            ? Math.Min(blocks, Environment.ProcessorCount * 4)
            : 1;
        if (chunks <= 1)
        {
            DotProductBlocks(t, i, s, n, m, d, 0, blocks); // small problems stay on the caller's thread: no thread pool, no closure
        }
        else
        {
            DotProductBlocksInParallel(t, i, s, n, m, d, blocks, chunks);
        }

        for (int col = blocks * Tile; col < m; col++)
        {
            for (int row = 0; row < n; row++)
            {
                s[(long)row * m + col] = Dot(t + (long)row * d, i + (long)col * d, d);
            }
        }
    }

    /// <summary>Image blocks split into <paramref name="chunks"/> ranges over the thread pool; the closure lives only here.</summary>
    private static void DotProductBlocksInParallel(float* t, float* i, float* s, int n, int m, int d, int blocks, int chunks)
    {
        nint tp = (nint)t, ip = (nint)i, sp = (nint)s;
        Parallel.For(0, chunks, c => DotProductBlocks(
            (float*)tp, (float*)ip, (float*)sp, n, m, d, (int)((long)blocks * c / chunks), (int)((long)blocks * (c + 1) / chunks)));
    }

    /// <summary>All text rows against image blocks [firstBlock, endBlock), text in panels that stay in cache.</summary>
    private static void DotProductBlocks(float* t, float* i, float* s, int n, int m, int d, int firstBlock, int endBlock)
    {
        for (int panel = 0; panel < n; panel += TextPanelRows)
        {
            int panelEnd = Math.Min(n, panel + TextPanelRows);
            for (int block = firstBlock; block < endBlock; block++)
            {
                int col = block * Tile;
                float* image = i + (long)col * d;
                int row = panel;
                for (; row + Tile <= panelEnd; row += Tile)
                {
                    Dot4x4(t + (long)row * d, image, d, s + (long)row * m + col, m);
                }

                for (; row < panelEnd; row++)
                {
                    float* text = t + (long)row * d;
                    float* dest = s + (long)row * m + col;
                    for (int c = 0; c < Tile; c++)
                    {
                        dest[c] = Dot(text, image + (long)c * d, d);
                    }
                }
            }
        }
    }

    /// <summary>One pair's dot product: lane-wise FMAs over k, a horizontal sum, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* x, float* y, int d)
    {
        var acc = Vector<float>.Zero;
        int k = 0;
        for (; k <= d - Vector<float>.Count; k += Vector<float>.Count)
        {
            acc = FusedMultiplyAdd(Vector.Load(x + k), Vector.Load(y + k), acc);
        }

        return Finish(acc, x, y, k, d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector<float> acc, float* x, float* y, int k, int d)
    {
        float sum = Vector.Sum(acc);
        for (; k < d; k++)
        {
            sum = MathF.FusedMultiplyAdd(x[k], y[k], sum);
        }

        return sum;
    }

    /// <summary>
    /// The 4 × 4 register tile: text rows t..t+3 against image rows i..i+3, 16 accumulators,
    /// 8 loads for 16 fused multiply-adds per step. Per pair, the same operations as <see cref="Dot"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4(float* t, float* i, int d, float* s, int ldS)
    {
        float* t0 = t, t1 = t + d, t2 = t1 + d, t3 = t2 + d;
        float* i0 = i, i1 = i + d, i2 = i1 + d, i3 = i2 + d;
        Vector<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector<float> a30 = default, a31 = default, a32 = default, a33 = default;
        int k = 0;
        for (; k <= d - Vector<float>.Count; k += Vector<float>.Count)
        {
            Vector<float> y0 = Vector.Load(i0 + k), y1 = Vector.Load(i1 + k), y2 = Vector.Load(i2 + k), y3 = Vector.Load(i3 + k);
            Vector<float> x = Vector.Load(t0 + k);
            a00 = FusedMultiplyAdd(x, y0, a00);
            a01 = FusedMultiplyAdd(x, y1, a01);
            a02 = FusedMultiplyAdd(x, y2, a02);
            a03 = FusedMultiplyAdd(x, y3, a03);
            x = Vector.Load(t1 + k);
            a10 = FusedMultiplyAdd(x, y0, a10);
            a11 = FusedMultiplyAdd(x, y1, a11);
            a12 = FusedMultiplyAdd(x, y2, a12);
            a13 = FusedMultiplyAdd(x, y3, a13);
            x = Vector.Load(t2 + k);
            a20 = FusedMultiplyAdd(x, y0, a20);
            a21 = FusedMultiplyAdd(x, y1, a21);
            a22 = FusedMultiplyAdd(x, y2, a22);
            a23 = FusedMultiplyAdd(x, y3, a23);
            x = Vector.Load(t3 + k);
            a30 = FusedMultiplyAdd(x, y0, a30);
            a31 = FusedMultiplyAdd(x, y1, a31);
            a32 = FusedMultiplyAdd(x, y2, a32);
            a33 = FusedMultiplyAdd(x, y3, a33);
        }

        float* s0 = s, s1 = s + ldS, s2 = s1 + ldS, s3 = s2 + ldS;
        s0[0] = Finish(a00, t0, i0, k, d); s0[1] = Finish(a01, t0, i1, k, d); s0[2] = Finish(a02, t0, i2, k, d); s0[3] = Finish(a03, t0, i3, k, d);
        s1[0] = Finish(a10, t1, i0, k, d); s1[1] = Finish(a11, t1, i1, k, d); s1[2] = Finish(a12, t1, i2, k, d); s1[3] = Finish(a13, t1, i3, k, d);
        s2[0] = Finish(a20, t2, i0, k, d); s2[1] = Finish(a21, t2, i1, k, d); s2[2] = Finish(a22, t2, i2, k, d); s2[3] = Finish(a23, t2, i3, k, d);
        s3[0] = Finish(a30, t3, i0, k, d); s3[1] = Finish(a31, t3, i1, k, d); s3[2] = Finish(a32, t3, i2, k, d); s3[3] = Finish(a33, t3, i3, k, d);
    }

    /// <summary>(a × b) + c per lane, rounded once, as <c>Vector.FusedMultiplyAdd</c> of .NET 9 and later.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> FusedMultiplyAdd(Vector<float> a, Vector<float> b, Vector<float> c)
    {
#if NET10_0_OR_GREATER
        return Vector.FusedMultiplyAdd(a, b, c);
#else
        // net8.0 has no Vector.FusedMultiplyAdd: the same fused operation through the hardware intrinsic of the
        // vector's width, else lane by lane with MathF.FusedMultiplyAdd (still rounded once, so the same bits).
        if (Vector<float>.Count == 16 && Avx512F.IsSupported)
        {
            return Avx512F.FusedMultiplyAdd(a.AsVector512(), b.AsVector512(), c.AsVector512()).AsVector();
        }

        if (Vector<float>.Count == 8 && Fma.IsSupported)
        {
            return Fma.MultiplyAdd(a.AsVector256(), b.AsVector256(), c.AsVector256()).AsVector();
        }

        if (Vector<float>.Count == 4 && Fma.IsSupported)
        {
            return Fma.MultiplyAdd(a.AsVector128(), b.AsVector128(), c.AsVector128()).AsVector();
        }

        if (Vector<float>.Count == 4 && AdvSimd.IsSupported)
        {
            return AdvSimd.FusedMultiplyAdd(c.AsVector128(), a.AsVector128(), b.AsVector128()).AsVector();
        }

        Span<float> lanes = stackalloc float[Vector<float>.Count];
        for (int i = 0; i < lanes.Length; i++)
        {
            lanes[i] = MathF.FusedMultiplyAdd(a[i], b[i], c[i]);
        }

        return new Vector<float>(lanes);
#endif
    }
}
