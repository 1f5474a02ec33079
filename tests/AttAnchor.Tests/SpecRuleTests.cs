using static AttAnchor.Tests.Embeddings;

namespace AttAnchor.Tests;

/// <summary>One test per rule of docs/spec/attanchor.md, on small hand-made embeddings.</summary>
public class SpecRuleTests
{
    private static readonly AttAnchorOptions TextIntoImage = AttAnchorOptions.Default;
    private static readonly AttAnchorOptions ImageIntoText = AttAnchorOptions.Default with { Direction = AnchorDirection.ImageIntoText };

    private static AttAnchorOptions Options(AnchorDirection direction, float threshold) =>
        AttAnchorOptions.Default with { Direction = direction, Threshold = threshold };

    private static string Layout(AnchorPlan plan, int prefixLength = 0) => string.Join(" ", plan.GetLayout(prefixLength));

    [Theory]
    [InlineData(AnchorDirection.TextIntoImage)]
    [InlineData(AnchorDirection.ImageIntoText)]
    public void Similarity_equal_to_the_threshold_inserts_and_the_next_float_up_does_not(AnchorDirection direction)
    {
        // cos((1,0,0,0), (1,1,1,1)) = 1 / 2 exactly; the other patch is orthogonal.
        float[] text = [1, 0, 0, 0];
        float[] image = Rows([0, 0, 0, 1], [1, 1, 1, 1]);

        var at = AnchorPlan.Create(text, image, 4, Options(direction, 0.5f));
        var above = AnchorPlan.Create(text, image, 4, Options(direction, MathF.BitIncrement(0.5f)));

        Anchor anchor = Assert.Single(at.Anchors);
        Assert.Equal((0, 1, 0.5f), (anchor.TextIndex, anchor.ImageIndex, anchor.Similarity));
        Assert.Empty(above.Anchors);
    }

    [Fact]
    public void Ties_go_to_the_lowest_image_index_even_across_tile_edges_and_scales()
    {
        // d = 37 leaves a scalar tail; M = 6 puts patches 4 and 5 outside the 4 × 4 tiles.
        const int d = 37;
        var random = new Random(7);
        float[] image = Gaussian(random, 6, d);
        float[] patch = Gaussian(random, 1, d);
        patch.CopyTo(Row(image, 2, d));
        patch.CopyTo(Row(image, 5, d));
        for (int k = 0; k < d; k++)
        {
            Row(image, 3, d)[k] = 2 * patch[k]; // a power-of-two multiple has exactly the same cosine
        }

        float[] text = [.. patch.Select((v, k) => v + 0.3f * MathF.Sin(k))];

        var best = new int[1];
        var similarity = new float[1];
        CrossModalSimilarity.BestImageForText(text, image, d, best, similarity);
        var matrix = new float[6];
        CrossModalSimilarity.CosineSimilarityMatrix(text, image, d, matrix);

        Assert.Equal(matrix[2], matrix[3]);
        Assert.Equal(matrix[2], matrix[5]);
        Assert.Equal(2, best[0]);
        Assert.Equal(2, Assert.Single(AnchorPlan.Create(text, image, d, TextIntoImage).Anchors).ImageIndex);
    }

    [Fact]
    public void Ties_go_to_the_lowest_text_index_in_image_into_text()
    {
        const int d = 19;
        var random = new Random(11);
        float[] image = Gaussian(random, 1, d);
        float[] text = Gaussian(random, 7, d);
        float[] word = [.. image.Select((v, k) => v + 0.2f * MathF.Cos(k))];
        word.CopyTo(Row(text, 1, d));
        word.CopyTo(Row(text, 6, d));

        Anchor anchor = Assert.Single(AnchorPlan.Create(text, image, d, ImageIntoText).Anchors);

        Assert.Equal(1, anchor.TextIndex);
    }

    [Fact]
    public void Several_copies_after_one_patch_keep_prompt_order_not_similarity_order()
    {
        float[] image = Rows([1, 0, 0], [0, 1, 0], [0, 0, 1]);
        // All three text tokens are closest to patch 2, with similarities 0.44, 0.99, 0.89.
        float[] text = Rows([0.2f, 0.2f, 0.5f], [0.1f, 0f, 0.9f], [0.3f, 0.2f, 0.8f]);

        var plan = AnchorPlan.Create(text, image, 3, TextIntoImage);

        Assert.Equal([0, 1, 2], plan.Anchors.Select(a => a.TextIndex));
        Assert.All(plan.Anchors, a => Assert.Equal(2, a.ImageIndex));
        Assert.Equal("I0 I1 I2 +T0 +T1 +T2 T0 T1 T2", Layout(plan));
    }

    [Fact]
    public void Several_copies_after_one_text_token_keep_image_order()
    {
        float[] text = Rows([1, 0, 0], [0, 1, 0]);
        float[] image = Rows([0.9f, 0.1f, 0f], [0f, 0.2f, 0.9f], [0.1f, 0.9f, 0.3f], [0.5f, 0.6f, 0f]);

        var plan = AnchorPlan.Create(text, image, 3, ImageIntoText);

        // Patch 1 (best text 1, sim 0.22) and patch 2 (text 1, 0.94) and patch 3 (text 1, 0.77) follow T1 in image order.
        Assert.Equal("I0 I1 I2 I3 T0 +I0 T1 +I1 +I2 +I3", Layout(plan));
    }

    public static TheoryData<float> InvalidValues => new() { 0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity };

    [Theory]
    [MemberData(nameof(InvalidValues))]
    public void An_invalid_text_row_never_anchors_and_is_never_matched(float value)
    {
        float[] image = Rows([1, 0], [0, 1]);
        // Row 1 is zero, or holds one non-finite value; with τ = -1 every valid pair qualifies.
        float[] text = Rows([1, 0.5f], [value == 0 ? 0 : value, 0], [0.5f, 1]);

        var textIntoImage = AnchorPlan.Create(text, image, 2, Options(AnchorDirection.TextIntoImage, -1f));
        var imageIntoText = AnchorPlan.Create(text, image, 2, Options(AnchorDirection.ImageIntoText, -1f));

        Assert.Equal([0, 2], textIntoImage.Anchors.Select(a => a.TextIndex));
        Assert.Equal(2, imageIntoText.InsertedCount);
        Assert.DoesNotContain(imageIntoText.Anchors, a => a.TextIndex == 1);
    }

    [Theory]
    [MemberData(nameof(InvalidValues))]
    public void An_invalid_image_row_is_never_matched_and_never_anchors(float value)
    {
        // Patch 0 would be everyone's best match if it were valid.
        float[] image = Rows([value == 0 ? 0 : value, value == 0 ? 0 : 1], [0, 1], [1, 1]);
        float[] text = Rows([1, 0.01f], [0.01f, 1]);

        var textIntoImage = AnchorPlan.Create(text, image, 2, Options(AnchorDirection.TextIntoImage, -1f));
        var imageIntoText = AnchorPlan.Create(text, image, 2, Options(AnchorDirection.ImageIntoText, -1f));

        Assert.Equal(2, textIntoImage.InsertedCount);
        Assert.DoesNotContain(textIntoImage.Anchors, a => a.ImageIndex == 0);
        Assert.Equal([1, 2], imageIntoText.Anchors.Select(a => a.ImageIndex).Order());
    }

    [Fact]
    public void No_anchor_when_every_image_row_is_invalid()
    {
        float[] image = Rows([0, 0], [float.NaN, 1]);
        float[] text = Rows([1, 0], [0, 1]);

        Assert.Empty(AnchorPlan.Create(text, image, 2, Options(AnchorDirection.TextIntoImage, -1f)).Anchors);
        Assert.Empty(AnchorPlan.Create(text, image, 2, Options(AnchorDirection.ImageIntoText, -1f)).Anchors);
    }

    [Fact]
    public void Every_text_token_is_copied_at_most_once_even_when_it_matches_many_patches()
    {
        // Every patch is identical, so each token is equally close to all of them.
        float[] image = Rows([1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0]);
        float[] text = Rows([1, 0.9f, 0], [0.8f, 1, 0.1f]);

        var plan = AnchorPlan.Create(text, image, 3, Options(AnchorDirection.TextIntoImage, -1f));

        Assert.Equal([0, 1], plan.Anchors.Select(a => a.TextIndex));
        Assert.All(plan.Anchors, a => Assert.Equal(0, a.ImageIndex));
        Assert.Equal(1, plan.GetLayout(0).Count(r => r.IsCopy && r.Index == 0));
    }

    [Theory]
    [InlineData(AnchorDirection.TextIntoImage)]
    [InlineData(AnchorDirection.ImageIntoText)]
    public void Image_rows_keep_their_order_and_the_prompt_is_kept_whole(AnchorDirection direction)
    {
        var random = new Random(3);
        const int d = 8, p = 3, m = 9, s = 6;
        float[] image = Gaussian(random, m, d);
        float[] text = Gaussian(random, s, d);

        var plan = AnchorPlan.Create(text, image, d, Options(direction, -1f));
        SequenceRow[] originals = [.. plan.GetLayout(p).Where(r => !r.IsCopy)];

        Assert.True(plan.InsertedCount > 0);
        Assert.Equal(
            Enumerable.Range(0, p).Select(i => new SequenceRow(SequenceSegment.Prefix, i, false))
                .Concat(Enumerable.Range(0, m).Select(i => new SequenceRow(SequenceSegment.Image, i, false)))
                .Concat(Enumerable.Range(0, s).Select(i => new SequenceRow(SequenceSegment.Text, i, false))),
            originals);
    }

    [Fact]
    public void Text_into_image_puts_copies_inside_the_image_block_and_image_into_text_inside_the_text()
    {
        float[] image = Rows([1, 0], [0, 1]);
        float[] text = Rows([0.1f, 1], [1, 0.1f]);

        var forward = AnchorPlan.Create(text, image, 2, TextIntoImage);
        var mirror = AnchorPlan.Create(text, image, 2, ImageIntoText);

        Assert.Equal("P0 I0 +T1 I1 +T0 T0 T1", Layout(forward, 1));
        Assert.Equal("P0 I0 I1 T0 +I1 T1 +I0", Layout(mirror, 1));
        Assert.Equal([(1, 0), (0, 1)], forward.Anchors.Select(a => (a.SourceIndex, a.TargetIndex)));
        Assert.Equal([(1, 0), (0, 1)], mirror.Anchors.Select(a => (a.SourceIndex, a.TargetIndex)));
    }

    public static TheoryData<float, AnchorDirection> IdentityThresholds => new()
    {
        { 1f, AnchorDirection.TextIntoImage },
        { 1f, AnchorDirection.ImageIntoText },
        { 1.5f, AnchorDirection.TextIntoImage },
        { float.PositiveInfinity, AnchorDirection.ImageIntoText },
    };

    [Theory]
    [MemberData(nameof(IdentityThresholds))]
    public void Threshold_of_one_or_more_gives_the_baseline_sequence_bit_for_bit(float threshold, AnchorDirection direction)
    {
        const int d = 5;
        float[] prefix = Tagged(1, 2, d);
        float[] image = Tagged(2, 4, d);
        float[] text = [.. image.AsSpan(0, 3 * d)]; // text rows identical to patches: cosine 1

        var plan = AnchorPlan.Create(text, image, d, Options(direction, threshold));
        var sequence = new float[plan.GetSequenceLength(2) * d];
        plan.Materialize<float>(prefix, image, text, sequence);
        var positions = new long[plan.GetSequenceLength(2)];
        plan.WritePositionIds(2, positions);

        Assert.Empty(plan.Anchors);
        Assert.Equal([.. prefix, .. image, .. text], sequence);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), positions);
    }

    [Fact]
    public void Anchoring_switched_off_gives_the_baseline_sequence()
    {
        float[] image = Rows([1, 0], [0, 1]);
        float[] text = Rows([1, 0], [0, 1]);

        var off = AnchorPlan.Create(text, image, 2, AttAnchorOptions.Off);
        var lowThresholdButOff = AnchorPlan.Create(text, image, 2, AttAnchorOptions.Default with { Threshold = -1f, Enabled = false });

        Assert.Equal("I0 I1 T0 T1", Layout(off));
        Assert.Equal("I0 I1 T0 T1", Layout(lowThresholdButOff));
    }

    [Fact]
    public void Only_candidate_rows_are_copied_and_text_index_counts_candidates()
    {
        float[] image = Rows([1, 0, 0], [0, 1, 0]);
        // Row 0 (say "\n") and row 2 are not candidates although they match perfectly.
        float[] text = Rows([1, 0, 0], [0.1f, 1, 0], [0, 1, 0], [0.9f, 0.1f, 0.1f]);

        var plan = AnchorPlan.Create(text, image, 3, [1, 3], TextIntoImage);

        Assert.Equal([(1, 3, 0), (0, 1, 1)], plan.Anchors.Select(a => (a.TextIndex, a.TextPosition, a.ImageIndex)));
        Assert.Equal("I0 +T3 I1 +T1 T0 T1 T2 T3", Layout(plan));
    }

    [Fact]
    public void Anchors_carry_the_similarity_of_their_pair()
    {
        float[] image = Rows([3, 4], [0, 1]);
        float[] text = [4, 3];

        Anchor anchor = Assert.Single(AnchorPlan.Create(text, image, 2, TextIntoImage).Anchors);

        Assert.Equal(24f / 25f, anchor.Similarity, 6);
        Assert.Equal(AnchorDirection.TextIntoImage, anchor.Direction);
    }
}
