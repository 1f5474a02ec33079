using System.Buffers;
using System.Numerics.Tensors;

namespace AttAnchor;

/// <summary>
/// Cosine similarity between text-token embeddings and image-patch embeddings, and the best match
/// of each row on the other side: the measurement that AttAnchor's rule is built on.
/// </summary>
/// <remarks>
/// Rows are row-major (text N × d, image M × d); similarities are computed in fp32 (the <see cref="Half"/> overloads
/// give exactly the <see cref="float"/> result on the widened values) and clamped to [−1, 1]. A row whose norm is 0
/// or whose values are not all finite gets <see cref="float.NaN"/> similarities and is never a best match; ties go to
/// the lowest index, and a row with no valid counterpart gets best index −1 and similarity NaN. See docs/core.md.
/// </remarks>
/// <example>
/// <code>
/// float[] text  = [1, 0,   0, 1];        // 2 text rows, d = 2
/// float[] image = [1, 1,   0, 2,   3, 0]; // 3 image rows
/// var best = new int[2];
/// var similarity = new float[2];
/// CrossModalSimilarity.BestImageForText(text, image, 2, best, similarity);
/// // best = [2, 1], similarity = [1, 1]
/// </code>
/// </example>
public static class CrossModalSimilarity
{
    /// <summary>Writes the full N × M cosine-similarity matrix, row n for text row n.</summary>
    /// <param name="text">Text rows, N × <paramref name="dimension"/>, row-major.</param>
    /// <param name="image">Image rows, M × <paramref name="dimension"/>, row-major.</param>
    /// <param name="dimension">The embedding width d, at least 1.</param>
    /// <param name="destination">At least N·M values; entry n·M + m receives sim(n, m), or NaN when either row is invalid.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">A span is not a whole number of rows, or <paramref name="destination"/> is too short.</exception>
    public static void CosineSimilarityMatrix(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int dimension, Span<float> destination)
    {
        var (n, m) = Shape.RowCounts(text, image, dimension);
        int count = Shape.MatrixSize(n, m);
        Shape.RequireLength(destination.Length, count, nameof(destination), "the N × M similarity matrix");
        SimilarityKernel.Compute(text, image, n, m, dimension, destination[..count]);
    }

    /// <inheritdoc cref="CosineSimilarityMatrix(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float})"/>
    public static void CosineSimilarityMatrix(ReadOnlySpan<Half> text, ReadOnlySpan<Half> image, int dimension, Span<float> destination)
    {
        using var widened = new WidenedPair(text, image);
        CosineSimilarityMatrix(widened.Text, widened.Image, dimension, destination);
    }

    /// <summary>
    /// For each text row n: <c>bestImage[n] = argmax_m sim(n, m)</c> (ties: lowest m) and
    /// <c>similarity[n] = sim(n, bestImage[n])</c>. The text-into-image half of AttAnchor.
    /// </summary>
    /// <param name="text">Text rows, N × <paramref name="dimension"/>, row-major.</param>
    /// <param name="image">Image rows, M × <paramref name="dimension"/>, row-major.</param>
    /// <param name="dimension">The embedding width d, at least 1.</param>
    /// <param name="bestImage">At least N values; −1 for a text row that is invalid or has no valid image row.</param>
    /// <param name="similarity">At least N values; NaN where <paramref name="bestImage"/> is −1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">A span is not a whole number of rows, or a destination is too short.</exception>
    public static void BestImageForText(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int dimension, Span<int> bestImage, Span<float> similarity)
    {
        var (n, m) = Shape.RowCounts(text, image, dimension);
        Shape.RequireLength(bestImage.Length, n, nameof(bestImage), "one entry per text row");
        Shape.RequireLength(similarity.Length, n, nameof(similarity), "one entry per text row");
        BestMatches(text, image, n, m, dimension, byText: true, bestImage[..n], similarity[..n]);
    }

    /// <inheritdoc cref="BestImageForText(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{int}, Span{float})"/>
    public static void BestImageForText(ReadOnlySpan<Half> text, ReadOnlySpan<Half> image, int dimension, Span<int> bestImage, Span<float> similarity)
    {
        using var widened = new WidenedPair(text, image);
        BestImageForText(widened.Text, widened.Image, dimension, bestImage, similarity);
    }

    /// <summary>
    /// For each image row m: <c>bestText[m] = argmax_n sim(n, m)</c> (ties: lowest n) and
    /// <c>similarity[m] = sim(bestText[m], m)</c>. The image-into-text half of AttAnchor.
    /// </summary>
    /// <param name="text">Text rows, N × <paramref name="dimension"/>, row-major.</param>
    /// <param name="image">Image rows, M × <paramref name="dimension"/>, row-major.</param>
    /// <param name="dimension">The embedding width d, at least 1.</param>
    /// <param name="bestText">At least M values; −1 for an image row that is invalid or has no valid text row.</param>
    /// <param name="similarity">At least M values; NaN where <paramref name="bestText"/> is −1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">A span is not a whole number of rows, or a destination is too short.</exception>
    public static void BestTextForImage(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int dimension, Span<int> bestText, Span<float> similarity)
    {
        var (n, m) = Shape.RowCounts(text, image, dimension);
        Shape.RequireLength(bestText.Length, m, nameof(bestText), "one entry per image row");
        Shape.RequireLength(similarity.Length, m, nameof(similarity), "one entry per image row");
        BestMatches(text, image, n, m, dimension, byText: false, bestText[..m], similarity[..m]);
    }

    /// <inheritdoc cref="BestTextForImage(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{int}, Span{float})"/>
    public static void BestTextForImage(ReadOnlySpan<Half> text, ReadOnlySpan<Half> image, int dimension, Span<int> bestText, Span<float> similarity)
    {
        using var widened = new WidenedPair(text, image);
        BestTextForImage(widened.Text, widened.Image, dimension, bestText, similarity);
    }

    /// <summary>Computes the matrix, then reduces it along rows (byText) or columns. Inputs already validated.</summary>
    internal static void BestMatches(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int n, int m, int dimension,
        bool byText, Span<int> best, Span<float> similarity)
    {
        for (int i = 0; i < best.Length; i++)
        {
            best[i] = -1; // plain loops here and below: Span.Fill's vector kernels cost more to compile than these few entries take
            similarity[i] = float.NaN;
        }

        if (n == 0 || m == 0)
        {
            return;
        }

        int count = Shape.MatrixSize(n, m);
        float[] matrix = ArrayPool<float>.Shared.Rent(count);
        try
        {
            Span<float> s = matrix.AsSpan(0, count);
            SimilarityKernel.Compute(text, image, n, m, dimension, s);
            if (byText)
            {
                ArgMaxOfRows(s, n, m, best, similarity);
            }
            else
            {
                ArgMaxOfColumns(s, n, m, best, similarity);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(matrix);
        }
    }

    // NaN entries never win: NaN > x is false, and every valid similarity is > -infinity.
    private static void ArgMaxOfRows(ReadOnlySpan<float> s, int n, int m, Span<int> best, Span<float> similarity)
    {
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = s.Slice(i * m, m);
            float top = float.NegativeInfinity;
            int arg = -1;
            for (int j = 0; j < row.Length; j++)
            {
                if (row[j] > top)
                {
                    top = row[j];
                    arg = j;
                }
            }

            if (arg >= 0)
            {
                best[i] = arg;
                similarity[i] = top;
            }
        }
    }

    private static void ArgMaxOfColumns(ReadOnlySpan<float> s, int n, int m, Span<int> best, Span<float> similarity)
    {
        for (int j = 0; j < m; j++)
        {
            similarity[j] = float.NegativeInfinity;
        }

        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = s.Slice(i * m, m);
            for (int j = 0; j < m; j++)
            {
                if (row[j] > similarity[j])
                {
                    similarity[j] = row[j];
                    best[j] = i;
                }
            }
        }

        for (int j = 0; j < m; j++)
        {
            if (best[j] < 0)
            {
                similarity[j] = float.NaN;
            }
        }
    }

    /// <summary>Both sides of a Half call widened to float in pooled buffers, returned on dispose.</summary>
    internal readonly ref struct WidenedPair
    {
        private readonly float[] _text;
        private readonly float[] _image;

        public WidenedPair(ReadOnlySpan<Half> text, ReadOnlySpan<Half> image)
        {
            _text = Widen(text);
            _image = Widen(image);
            Text = _text.AsSpan(0, text.Length);
            Image = _image.AsSpan(0, image.Length);
        }

        public ReadOnlySpan<float> Text { get; }

        public ReadOnlySpan<float> Image { get; }

        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(_text);
            ArrayPool<float>.Shared.Return(_image);
        }
    }

    /// <summary>Widens Half values into the first <c>values.Length</c> entries of a pooled float buffer.</summary>
    private static float[] Widen(ReadOnlySpan<Half> values)
    {
        float[] buffer = ArrayPool<float>.Shared.Rent(values.Length);
        TensorPrimitives.ConvertToSingle(values, buffer.AsSpan(0, values.Length));
        return buffer;
    }
}
