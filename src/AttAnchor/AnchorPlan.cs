using System.Buffers;
using System.Collections.ObjectModel;

namespace AttAnchor;

/// <summary>
/// What AttAnchor does to one prompt: the anchors it inserts and the resulting sequence layout.
/// Built by <see cref="Create(ReadOnlySpan{float}, ReadOnlySpan{float}, int, AttAnchorOptions?)"/>;
/// applied by <see cref="Materialize{T}"/> and <see cref="WritePositionIds"/>.
/// </summary>
/// <remarks>
/// Applies the rule of docs/spec/attanchor.md: text-into-image (the default) copies each candidate text row whose
/// best image row reaches τ right after that row, image-into-text the mirror; ties go to the lowest index, invalid
/// rows never anchor, and when <see cref="AttAnchorOptions.IsIdentity"/> nothing is inserted. Positions run
/// 0 … L−1 over the final sequence, L = prefix + M + text + <see cref="InsertedCount"/>. See docs/core.md.
/// </remarks>
/// <example>
/// <code>
/// float[] image = [1, 0,   0, 1,   -1, 0];      // M = 3 patches, d = 2
/// float[] text  = [0, 1,   1, 0.1f,   0, -1];    // 3 text tokens after the image
/// var plan = AnchorPlan.Create(text, image, 2, AttAnchorOptions.Default);
/// // plan.Anchors: [TextIndex 1 → ImageIndex 0, sim 0.995], [TextIndex 0 → ImageIndex 1, sim 1]
/// // string.Join(" ", plan.GetLayout(prefixLength: 1)): P0 I0 +T1 I1 +T0 I2 T0 T1 T2
/// </code>
/// </example>
public sealed class AnchorPlan
{
    private readonly Anchor[] _anchors;
    private readonly int[] _candidatePositions;

    private AnchorPlan(AttAnchorOptions options, int dimension, int imageCount, int textCount, int[] candidatePositions, Anchor[] anchors)
    {
        Options = options;
        Dimension = dimension;
        ImageTokenCount = imageCount;
        TextTokenCount = textCount;
        _candidatePositions = candidatePositions;
        _anchors = anchors;
        Anchors = new ReadOnlyCollection<Anchor>(anchors);
        CandidatePositions = new ReadOnlyCollection<int>(candidatePositions);
    }

    /// <summary>The options the plan was made with.</summary>
    public AttAnchorOptions Options { get; }

    /// <summary>The embedding width d.</summary>
    public int Dimension { get; }

    /// <summary>The number of image rows M.</summary>
    public int ImageTokenCount { get; }

    /// <summary>The number of text rows after the image placeholder (candidates and others).</summary>
    public int TextTokenCount { get; }

    /// <summary>The text row of each candidate, in prompt order: candidate n is text row <c>CandidatePositions[n]</c>.</summary>
    public ReadOnlyCollection<int> CandidatePositions { get; }

    /// <summary>
    /// The inserted copies in sequence order: text-into-image by image index, then text index;
    /// image-into-text by text index, then image index. Empty for the identity plan.
    /// </summary>
    public ReadOnlyCollection<Anchor> Anchors { get; }

    /// <summary>How many rows the plan inserts: the length of <see cref="Anchors"/>.</summary>
    public int InsertedCount => _anchors.Length;

    /// <summary>Plans AttAnchor with every text row after the image as a candidate.</summary>
    /// <param name="text">The text rows after the image placeholder, S × <paramref name="dimension"/>, row-major: <c>embed_tokens</c> rows in prompt order.</param>
    /// <param name="image">The image rows, M × <paramref name="dimension"/>, row-major: the projector's output.</param>
    /// <param name="dimension">The embedding width d (the LLM's hidden size).</param>
    /// <param name="options">Threshold, direction and on/off; <see cref="AttAnchorOptions.Default"/> when null.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">
    /// A span is not a whole number of rows, or <paramref name="options"/> asks for
    /// <see cref="AnchorCandidates.QuestionOnly"/>, which needs the candidate overload.
    /// </exception>
    public static AnchorPlan Create(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int dimension, AttAnchorOptions? options = null)
        => Create(text, image, dimension, AllRows(text, dimension, options), options);

    /// <summary>Plans AttAnchor with the given text rows as the candidates (see <see cref="TextCandidates.Select"/>).</summary>
    /// <param name="text">The text rows after the image placeholder, S × <paramref name="dimension"/>, row-major.</param>
    /// <param name="image">The image rows, M × <paramref name="dimension"/>, row-major.</param>
    /// <param name="dimension">The embedding width d.</param>
    /// <param name="candidatePositions">Strictly increasing text rows that may be copied or matched; special tokens left out.</param>
    /// <param name="options">Threshold, direction and on/off; <see cref="AttAnchorOptions.Default"/> when null.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">A span is not a whole number of rows, or a candidate position is out of range or out of order.</exception>
    public static AnchorPlan Create(ReadOnlySpan<float> text, ReadOnlySpan<float> image, int dimension, ReadOnlySpan<int> candidatePositions, AttAnchorOptions? options)
    {
        options ??= AttAnchorOptions.Default;
        var (textCount, imageCount) = Shape.RowCounts(text, image, dimension);
        int[] candidates = ValidateCandidates(candidatePositions, textCount);
        int n = candidates.Length;
        if (options.IsIdentity || n == 0 || imageCount == 0)
        {
            return new AnchorPlan(options, dimension, imageCount, textCount, candidates, []);
        }

        float[]? gathered = null;
        try
        {
            ReadOnlySpan<float> candidateRows = text;
            if (n != textCount)
            {
                gathered = ArrayPool<float>.Shared.Rent(n * dimension);
                for (int c = 0; c < n; c++)
                {
                    text.Slice(candidates[c] * dimension, dimension).CopyTo(gathered.AsSpan(c * dimension, dimension));
                }

                candidateRows = gathered.AsSpan(0, n * dimension);
            }

            Anchor[] anchors = FindAnchors(candidateRows, image, n, imageCount, dimension, candidates, options);
            return new AnchorPlan(options, dimension, imageCount, textCount, candidates, anchors);
        }
        finally
        {
            if (gathered is not null)
            {
                ArrayPool<float>.Shared.Return(gathered);
            }
        }
    }

    /// <summary>Plans AttAnchor on fp16 embeddings, widened to fp32 first: the same plan as on the widened values.</summary>
    /// <inheritdoc cref="Create(ReadOnlySpan{float}, ReadOnlySpan{float}, int, AttAnchorOptions?)"/>
    public static AnchorPlan Create(ReadOnlySpan<Half> text, ReadOnlySpan<Half> image, int dimension, AttAnchorOptions? options = null)
        => Create(text, image, dimension, AllRows(text, dimension, options), options);

    /// <summary>Plans AttAnchor on fp16 embeddings with the given candidates, widened to fp32 first.</summary>
    /// <inheritdoc cref="Create(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{int}, AttAnchorOptions?)"/>
    public static AnchorPlan Create(ReadOnlySpan<Half> text, ReadOnlySpan<Half> image, int dimension, ReadOnlySpan<int> candidatePositions, AttAnchorOptions? options)
    {
        using var widened = new CrossModalSimilarity.WidenedPair(text, image);
        return Create(widened.Text, widened.Image, dimension, candidatePositions, options);
    }

    /// <summary>The length L of the regrouped sequence: prefix + M + text rows + inserted copies.</summary>
    /// <param name="prefixLength">The number of rows before the image (BOS and the template's head).</param>
    /// <returns>L; the decoder continues from position L.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="prefixLength"/> is negative.</exception>
    public int GetSequenceLength(int prefixLength)
    {
        if (prefixLength < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength), prefixLength, "The prefix length cannot be negative; pass the number of tokens before the image (0 if none).");
        }

        return checked(prefixLength + ImageTokenCount + TextTokenCount + InsertedCount);
    }

    /// <summary>Lists, for each output position 0 … L−1, the row that lands there.</summary>
    /// <param name="prefixLength">The number of rows before the image.</param>
    /// <returns>L entries; the non-copies are prefix, image and text rows once each, in order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="prefixLength"/> is negative.</exception>
    public SequenceRow[] GetLayout(int prefixLength)
    {
        var sink = new LayoutSink(new SequenceRow[GetSequenceLength(prefixLength)]);
        VisitRuns(prefixLength, ref sink);
        return sink.Rows;
    }

    /// <summary>
    /// Writes the regrouped embedding sequence, L × d values, row-major: the rows of
    /// <paramref name="prefix"/>, <paramref name="image"/> and <paramref name="text"/> in the plan's layout,
    /// copies included. Works for any element type (float, Half, …); only whole rows are copied.
    /// </summary>
    /// <typeparam name="T">The element type of the embeddings.</typeparam>
    /// <param name="prefix">The prefix rows, P × d (P may be 0).</param>
    /// <param name="image">The image rows the plan was made from, M × d.</param>
    /// <param name="text">The text rows the plan was made from, S × d.</param>
    /// <param name="destination">At least L × d values, L = <see cref="GetSequenceLength"/>(P).</param>
    /// <exception cref="ArgumentException">A span's row count differs from the plan's, or <paramref name="destination"/> is too short.</exception>
    public void Materialize<T>(ReadOnlySpan<T> prefix, ReadOnlySpan<T> image, ReadOnlySpan<T> text, Span<T> destination)
    {
        int d = Dimension;
        int prefixLength = Shape.Rows(prefix, d, nameof(prefix), "prefix embeddings");
        RequireRows(Shape.Rows(image, d, nameof(image), "image embeddings"), ImageTokenCount, nameof(image), "image");
        RequireRows(Shape.Rows(text, d, nameof(text), "text embeddings"), TextTokenCount, nameof(text), "text");
        long length = (long)GetSequenceLength(prefixLength) * d;
        Shape.RequireLength(destination.Length, length, nameof(destination), $"the regrouped sequence of {GetSequenceLength(prefixLength)} rows × {d}");
#if NET10_0_OR_GREATER
        var sink = new CopySink<T>(prefix, image, text, destination, d);
        VisitRuns(prefixLength, ref sink);
#else
        // net8.0 has no `allows ref struct`: list the runs, then copy them.
        var runs = new RunListSink([]);
        VisitRuns(prefixLength, ref runs);
        int offset = 0;
        foreach ((SequenceSegment segment, int start, int count) in runs.Runs)
        {
            CopyRun(segment, start, count, d, prefix, image, text, destination, ref offset);
        }
#endif
    }

    /// <summary>Copies one run of rows from its segment to <paramref name="destination"/> at <paramref name="offset"/>, and advances it.</summary>
    private static void CopyRun<T>(SequenceSegment segment, int start, int count, int d, ReadOnlySpan<T> prefix, ReadOnlySpan<T> image, ReadOnlySpan<T> text, Span<T> destination, ref int offset)
    {
        ReadOnlySpan<T> source = segment switch
        {
            SequenceSegment.Prefix => prefix,
            SequenceSegment.Image => image,
            _ => text,
        };
        int length = count * d;
        source.Slice(start * d, length).CopyTo(destination.Slice(offset, length));
        offset += length;
    }

    /// <summary>Writes the position ids 0 … L−1 of the regrouped sequence.</summary>
    /// <param name="prefixLength">The number of rows before the image.</param>
    /// <param name="destination">At least L values.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void WritePositionIds(int prefixLength, Span<long> destination)
    {
        int length = GetSequenceLength(prefixLength);
        Shape.RequireLength(destination.Length, length, nameof(destination), "one position id per row of the regrouped sequence");
        for (int i = 0; i < length; i++)
        {
            destination[i] = i;
        }
    }

    private static int[] ValidateCandidates(ReadOnlySpan<int> positions, int textCount)
    {
        for (int i = 0; i < positions.Length; i++)
        {
            int p = positions[i];
            if ((uint)p >= (uint)textCount || (i > 0 && p <= positions[i - 1]))
            {
                throw new ArgumentException(
                    $"Candidate position {p} (entry {i}) is out of range or out of order: candidates must be strictly increasing rows of the {textCount} text rows. " +
                    "Build them with TextCandidates.Select.", "candidatePositions");
            }
        }

        return positions.ToArray();
    }

    /// <summary>Applies the rule to each source row (candidates or patches): its best match, if ≥ τ, becomes an anchor.</summary>
    private static Anchor[] FindAnchors(ReadOnlySpan<float> candidates, ReadOnlySpan<float> image, int n, int m, int d, int[] positions, AttAnchorOptions options)
    {
        bool byText = options.Direction == AnchorDirection.TextIntoImage;
        int sources = byText ? n : m;
        int[] best = ArrayPool<int>.Shared.Rent(sources);
        float[] similarity = ArrayPool<float>.Shared.Rent(sources);
        try
        {
            CrossModalSimilarity.BestMatches(candidates, image, n, m, d, byText, best.AsSpan(0, sources), similarity.AsSpan(0, sources));
            int count = 0;
            for (int source = 0; source < sources; source++)
            {
                if (best[source] >= 0 && similarity[source] >= options.Threshold)
                {
                    count++;
                }
            }

            var found = new Anchor[count]; // in source order: prompt order or image order
            count = 0;
            for (int source = 0; source < sources; source++)
            {
                if (best[source] >= 0 && similarity[source] >= options.Threshold)
                {
                    var (text, patch) = byText ? (source, best[source]) : (best[source], source);
                    found[count++] = new Anchor(options.Direction, text, positions[text], patch, similarity[source]);
                }
            }

            return InSequenceOrder(found, byText ? m : n);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(best);
            ArrayPool<float>.Shared.Return(similarity);
        }
    }

    /// <summary>
    /// Sequence order: by the row each copy follows, then by source order. A stable counting sort by target of anchors
    /// already in source order, O(anchors + targets), with no comparer or generic sort to compile on the first call.
    /// </summary>
    private static Anchor[] InSequenceOrder(Anchor[] found, int targetCount)
    {
        if (found.Length < 2)
        {
            return found;
        }

        int[] next = ArrayPool<int>.Shared.Rent(targetCount + 1); // next[t]: where the next copy following row t goes
        try
        {
            Array.Clear(next, 0, targetCount + 1);
            foreach (Anchor a in found)
            {
                next[a.TargetIndex + 1]++;
            }

            for (int t = 1; t <= targetCount; t++)
            {
                next[t] += next[t - 1];
            }

            var sorted = new Anchor[found.Length];
            foreach (Anchor a in found)
            {
                sorted[next[a.TargetIndex]++] = a;
            }

            return sorted;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(next);
        }
    }

    /// <summary>0 … S−1: every text row is a candidate. A question-only request cannot be met without the question's rows.</summary>
    private static int[] AllRows<T>(ReadOnlySpan<T> text, int dimension, AttAnchorOptions? options)
    {
        if (options?.Candidates == AnchorCandidates.QuestionOnly)
        {
            throw new ArgumentException(
                "The options ask for question-only candidates, but no candidate rows were given. " +
                "Pick them with TextCandidates.Select(tokenIds, questionRange, specialIds, AnchorCandidates.QuestionOnly) and pass them to the Create overload that takes candidate positions.",
                nameof(options));
        }

        Shape.RequireDimension(dimension);
        int[] all = new int[Shape.Rows(text, dimension, nameof(text), "text embeddings")];
        for (int i = 0; i < all.Length; i++)
        {
            all[i] = i;
        }

        return all;
    }

    private static void RequireRows(int actual, int expected, string paramName, string what)
    {
        if (actual != expected)
        {
            throw new ArgumentException(
                $"The {what} embeddings hold {actual} rows but the plan was made from {expected}. Pass the same {what} rows the plan was created with.", paramName);
        }
    }

    /// <summary>
    /// Walks the regrouped sequence as runs of consecutive rows from one segment, so that
    /// <see cref="Materialize{T}"/> copies whole runs and <see cref="GetLayout"/> lists rows from the same walk.
    /// </summary>
    private void VisitRuns<TSink>(int prefixLength, ref TSink sink)
        where TSink : IRunSink
#if NET10_0_OR_GREATER
        , allows ref struct
#endif
    {
        int m = ImageTokenCount, s = TextTokenCount;
        sink.Run(SequenceSegment.Prefix, 0, prefixLength, isCopy: false);
        int cursor = 0;
        if (Options.Direction == AnchorDirection.TextIntoImage)
        {
            foreach (Anchor a in _anchors)
            {
                sink.Run(SequenceSegment.Image, cursor, a.ImageIndex + 1 - cursor, isCopy: false);
                cursor = a.ImageIndex + 1;
                sink.Run(SequenceSegment.Text, a.TextPosition, 1, isCopy: true);
            }

            sink.Run(SequenceSegment.Image, cursor, m - cursor, isCopy: false);
            sink.Run(SequenceSegment.Text, 0, s, isCopy: false);
        }
        else
        {
            sink.Run(SequenceSegment.Image, 0, m, isCopy: false);
            foreach (Anchor a in _anchors)
            {
                sink.Run(SequenceSegment.Text, cursor, a.TextPosition + 1 - cursor, isCopy: false);
                cursor = a.TextPosition + 1;
                sink.Run(SequenceSegment.Image, a.ImageIndex, 1, isCopy: true);
            }

            sink.Run(SequenceSegment.Text, cursor, s - cursor, isCopy: false);
        }
    }

    private interface IRunSink
    {
        /// <summary>Rows start … start+count−1 of the segment come next (count may be 0).</summary>
        void Run(SequenceSegment segment, int start, int count, bool isCopy);
    }

    private struct LayoutSink(SequenceRow[] rows) : IRunSink
    {
        private int _next;

        public readonly SequenceRow[] Rows => rows;

        public void Run(SequenceSegment segment, int start, int count, bool isCopy)
        {
            for (int i = 0; i < count; i++)
            {
                rows[_next++] = new SequenceRow(segment, start + i, isCopy);
            }
        }
    }

#if !NET10_0_OR_GREATER
    private readonly struct RunListSink(List<(SequenceSegment Segment, int Start, int Count)> runs) : IRunSink
    {
        public List<(SequenceSegment Segment, int Start, int Count)> Runs => runs;

        public void Run(SequenceSegment segment, int start, int count, bool isCopy) => runs.Add((segment, start, count));
    }
#else
    private ref struct CopySink<T>(ReadOnlySpan<T> prefix, ReadOnlySpan<T> image, ReadOnlySpan<T> text, Span<T> destination, int d) : IRunSink
    {
        private readonly ReadOnlySpan<T> _prefix = prefix;
        private readonly ReadOnlySpan<T> _image = image;
        private readonly ReadOnlySpan<T> _text = text;
        private readonly Span<T> _destination = destination;
        private int _offset;

        public void Run(SequenceSegment segment, int start, int count, bool isCopy) =>
            CopyRun(segment, start, count, d, _prefix, _image, _text, _destination, ref _offset);
    }
#endif
}
