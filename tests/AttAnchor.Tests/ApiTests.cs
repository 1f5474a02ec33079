using static AttAnchor.Tests.Embeddings;

namespace AttAnchor.Tests;

/// <summary>Options, candidate selection, materialisation and argument checks.</summary>
public class ApiTests
{
    [Fact]
    public void Options_default_to_the_papers_settings_and_print_as_documented()
    {
        var options = AttAnchorOptions.Default with { Threshold = 0.08f };

        Assert.Equal((0.12f, AnchorDirection.TextIntoImage, AnchorCandidates.AllText, true),
            (AttAnchorOptions.Default.Threshold, AttAnchorOptions.Default.Direction, AttAnchorOptions.Default.Candidates, AttAnchorOptions.Default.Enabled));
        Assert.Equal(
            "AttAnchorOptions { Threshold = 0.08, Direction = TextIntoImage, Candidates = AllText, Enabled = True, IsIdentity = False }",
            options.ToString());
    }

    [Theory]
    [InlineData(0.12f, true, false)]
    [InlineData(0.9999f, true, false)]
    [InlineData(1f, true, true)]
    [InlineData(float.PositiveInfinity, true, true)]
    [InlineData(-5f, true, false)]
    [InlineData(0.12f, false, true)]
    public void Options_are_the_identity_when_off_or_at_threshold_one_or_more(float threshold, bool enabled, bool identity) =>
        Assert.Equal(identity, (AttAnchorOptions.Default with { Threshold = threshold, Enabled = enabled }).IsIdentity);

    [Fact]
    public void Options_reject_NaN_and_undefined_values_with_a_message_that_says_what_to_do()
    {
        var nan = Assert.Throws<ArgumentOutOfRangeException>(() => AttAnchorOptions.Default with { Threshold = float.NaN });
        Assert.Contains("0.12", nan.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AttAnchorOptions.Default with { Direction = (AnchorDirection)7 });
        Assert.Throws<ArgumentOutOfRangeException>(() => AttAnchorOptions.Default with { Candidates = (AnchorCandidates)7 });
    }

    [Theory]
    [InlineData("text-into-image", AnchorDirection.TextIntoImage)]
    [InlineData("text_into_image", AnchorDirection.TextIntoImage)]
    [InlineData("Text-Into-Image", AnchorDirection.TextIntoImage)]
    [InlineData("TextIntoImage", AnchorDirection.TextIntoImage)]
    [InlineData("image-into-text", AnchorDirection.ImageIntoText)]
    [InlineData("image_into_text", AnchorDirection.ImageIntoText)]
    [InlineData("imageintotext", AnchorDirection.ImageIntoText)]
    public void Direction_names_are_read_in_both_spellings_and_written_in_one(string name, AnchorDirection expected)
    {
        Assert.True(AttAnchorOptions.TryParseDirection(name, out AnchorDirection direction));
        Assert.Equal(expected, direction);
        Assert.Equal(expected == AnchorDirection.TextIntoImage ? "text-into-image" : "image-into-text", AttAnchorOptions.GetDirectionName(direction));
        Assert.True(AttAnchorOptions.TryParseDirection(AttAnchorOptions.GetDirectionName(direction), out AnchorDirection again));
        Assert.Equal(direction, again);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sideways")]
    [InlineData("text into image")]
    [InlineData("1")]
    public void Other_direction_names_are_refused(string? name) =>
        Assert.False(AttAnchorOptions.TryParseDirection(name, out _));

    public static TheoryData<int[], int[], AnchorCandidates, int[]> CandidateCases => new()
    {
        // The documented example: "\n Is it red ?\nASSISTANT:" with the question at 1..5.
        { [13, 1317, 372, 2654, 29973, 13, 22933, 9047, 13566, 29901], [1, 2], AnchorCandidates.AllText, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
        { [13, 1317, 372, 2654, 29973, 13, 22933, 9047, 13566, 29901], [1, 2], AnchorCandidates.QuestionOnly, [1, 2, 3, 4] },
        // Special tokens are never candidates.
        { [1, 13, 500, 2, 0, 600], [0, 1, 2], AnchorCandidates.AllText, [1, 2, 5] },
        { [1, 13, 500, 2, 0, 600], [0, 1, 2], AnchorCandidates.QuestionOnly, [1, 2] },
        { [], [1, 2], AnchorCandidates.AllText, [] },
    };

    [Theory]
    [MemberData(nameof(CandidateCases))]
    public void Candidates_are_the_non_special_tokens_of_the_chosen_part(int[] tokenIds, int[] special, AnchorCandidates which, int[] expected)
    {
        Range question = tokenIds.Length >= 5 ? 1..5 : 0..0;
        Assert.Equal(expected, TextCandidates.Select(tokenIds, question, special, which));
    }

    [Fact]
    public void Question_only_options_without_candidate_rows_are_an_error_not_a_silent_all_text_plan()
    {
        var options = AttAnchorOptions.Default with { Candidates = AnchorCandidates.QuestionOnly };
        float[] rows = Rows([1, 0], [0, 1]);

        var error = Assert.Throws<ArgumentException>(() => AnchorPlan.Create(rows, rows, 2, options));
        Assert.Contains("TextCandidates.Select", error.Message);
        Assert.Throws<ArgumentException>(() => AnchorPlan.Create([(Half)1, (Half)0], [(Half)1, (Half)0], 2, options));
        Assert.Single(AnchorPlan.Create(rows, rows, 2, [1], options).Anchors);
    }

    [Fact]
    public void Question_range_outside_the_text_is_an_error()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => TextCandidates.Select([1, 2, 3], 2..9, [], AnchorCandidates.QuestionOnly));
        Assert.Contains("outside the 3 text tokens", error.Message);
    }

    [Fact]
    public void Materialize_works_for_Half_and_agrees_with_the_float_sequence()
    {
        var random = new Random(21);
        const int d = 6;
        float[] prefix = Gaussian(random, 2, d), image = Gaussian(random, 5, d), text = Gaussian(random, 4, d);
        var plan = AnchorPlan.Create(text, image, d, AttAnchorOptions.Default with { Threshold = -1f });
        int length = plan.GetSequenceLength(2);
        var single = new float[length * d];
        var half = new Half[length * d];

        plan.Materialize<float>(prefix, image, text, single);
        plan.Materialize<Half>([.. prefix.Select(v => (Half)v)], [.. image.Select(v => (Half)v)], [.. text.Select(v => (Half)v)], half);

        Assert.Equal(2 + 5 + 4 + 4, length);
        Assert.Equal(single.Select(v => (Half)v), half);
    }

    [Fact]
    public void Materialize_writes_only_its_rows_into_a_longer_destination()
    {
        float[] image = Rows([1, 0], [0, 1]);
        float[] text = Rows([1, 0.1f]);
        var plan = AnchorPlan.Create(text, image, 2);
        var destination = Enumerable.Repeat(-7f, 20).ToArray();

        plan.Materialize<float>([], image, text, destination);

        Assert.Equal([1, 0, 1, 0.1f, 0, 1, 1, 0.1f], destination[..8]);
        Assert.All(destination[8..], v => Assert.Equal(-7f, v));
    }

    [Fact]
    public void Bad_shapes_are_rejected_with_messages_that_say_what_to_do()
    {
        float[] image = Rows([1, 0], [0, 1]);
        float[] text = Rows([1, 0]);
        var plan = AnchorPlan.Create(text, image, 2);

        Assert.Contains("at least 1", Assert.Throws<ArgumentOutOfRangeException>(() => AnchorPlan.Create(text, image, 0)).Message);
        Assert.Contains("not a whole number of rows of width 3", Assert.Throws<ArgumentException>(() => AnchorPlan.Create(text, image, 3)).Message);
        Assert.Contains("strictly increasing", Assert.Throws<ArgumentException>(() => AnchorPlan.Create(Rows([1, 0], [0, 1]), image, 2, [1, 0], null)).Message);
        Assert.Contains("strictly increasing", Assert.Throws<ArgumentException>(() => AnchorPlan.Create(text, image, 2, [1], null)).Message);
        Assert.Contains("too short", Assert.Throws<ArgumentException>(() => plan.Materialize<float>([], image, text, new float[7])).Message);
        Assert.Contains("plan was made from 2", Assert.Throws<ArgumentException>(() => plan.Materialize<float>([], text, text, new float[99])).Message);
        Assert.Contains("too short", Assert.Throws<ArgumentException>(() => plan.WritePositionIds(3, new long[5])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.GetSequenceLength(-1));
        Assert.Contains("too short", Assert.Throws<ArgumentException>(() => CrossModalSimilarity.CosineSimilarityMatrix(text, image, 2, new float[1])).Message);
        Assert.Throws<ArgumentException>(() => CrossModalSimilarity.BestImageForText(text, image, 2, [], new float[1]));
        Assert.Throws<ArgumentException>(() => CrossModalSimilarity.BestTextForImage(text, image, 2, new int[2], new float[1]));
    }

    [Fact]
    public void Empty_text_or_image_plans_nothing_and_lays_out_the_rest()
    {
        float[] image = Rows([1, 0], [0, 1]);

        var noText = AnchorPlan.Create([], image, 2, AttAnchorOptions.Default with { Threshold = -1f });
        var noImage = AnchorPlan.Create(image, [], 2, AttAnchorOptions.Default with { Threshold = -1f });

        Assert.Equal("P0 I0 I1", string.Join(" ", noText.GetLayout(1)));
        Assert.Equal("T0 T1", string.Join(" ", noImage.GetLayout(0)));
    }
}
