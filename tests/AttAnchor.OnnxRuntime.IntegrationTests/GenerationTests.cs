using System.Globalization;
using System.Text;
using System.Text.Json;
using AttAnchor.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// The public generation API (<see cref="VisionLanguageModel.Answer"/>, <see cref="AnswerStream"/>,
/// <see cref="VisionLanguageModel.AnswerAsync"/>, <see cref="GenerationOptions"/>) on the committed fixture
/// models: streaming, the references' SentencePiece texts, stop strings, length and EOS, seeded sampling,
/// the repetition penalty, cancellation, concurrent answers, option validation and the float16 graphs.
/// The fixtures have random weights, so the answers are noise, but they are deterministic.
/// </summary>
public class GenerationTests(ITestOutputHelper output)
{
    private const string Gqa = "tiny-336-gqa";
    private const string Mha = "tiny-noproj-mha";
    private const string MhaFp16 = "tiny-noproj-mha-fp16";
    private const double MarginFloor = 1e-3;

    // ---- cases ---------------------------------------------------------------------------------------

    /// <summary>Every reference generation of every fixture: (fixture, index).</summary>
    public static TheoryData<string, int> AllGenerations
    {
        get
        {
            var rows = new TheoryData<string, int>();
            foreach (string fixture in ReferenceCases.FixturesWithReferences())
            {
                for (int i = 0; i < Fixtures.Get(fixture).References.Generations.Count; i++)
                {
                    rows.Add(fixture, i);
                }
            }

            return rows;
        }
    }

    /// <summary>The reference generations whose every token is pinned down (all margins ≥ 1e-3) and that have a SentencePiece text.</summary>
    public static TheoryData<string, int> FullyComparedGenerations
    {
        get
        {
            var rows = new TheoryData<string, int>();
            foreach (string fixture in ReferenceCases.FixturesWithReferences())
            {
                IReadOnlyList<GenerationReference> generations = Fixtures.Get(fixture).References.Generations;
                string?[] texts = ReferenceTexts(fixture);
                for (int i = 0; i < generations.Count; i++)
                {
                    if (texts[i] is not null && Pipelines.ComparableSteps(generations[i], MarginFloor) == generations[i].Tokens.Count)
                    {
                        rows.Add(fixture, i);
                    }
                }
            }

            return rows;
        }
    }

    /// <summary>The float32 fixture's reference cases, answered again by its float16 twin.</summary>
    public static TheoryData<int> Fp16Cases
    {
        get
        {
            var rows = new TheoryData<int>();
            for (int i = 0; i < Fixtures.Get(Mha).References.Generations.Count; i++)
            {
                rows.Add(i);
            }

            return rows;
        }
    }

    // ---- 1. streaming ---------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(AllGenerations))]
    public async Task Streamed_pieces_concatenate_to_the_result_text_and_AnswerAsync_gives_the_same_result(string fixture, int index)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, _) = Case(fixture, index);

        AnswerStream stream = model.Answer(image, question, options);
        List<string> pieces = await Collect(stream);
        VqaResult streamed = stream.Result;
        VqaResult awaited = await model.AnswerAsync(image, question, options);

        output.WriteLine($"{fixture} #{index}: {pieces.Count} pieces [{string.Join("|", pieces.Select(Escape))}]");
        Assert.Equal(streamed.Text, string.Concat(pieces));
        Assert.All(pieces, p =>
        {
            Assert.NotEmpty(p);
            Assert.False(char.IsLowSurrogate(p[0]), $"piece \"{Escape(p)}\" starts inside a surrogate pair");
            Assert.False(char.IsHighSurrogate(p[^1]), $"piece \"{Escape(p)}\" ends inside a surrogate pair");
        });
        Assert.Equal(StopReason.MaxNewTokens, streamed.StopReason);
        Assert.Equal(options.MaxNewTokens, streamed.TokenIds.Count);
        Assert.Equal(streamed.TokenIds, awaited.TokenIds);
        Assert.Equal(streamed.Text, awaited.Text);
        Assert.Equal(streamed.StopReason, awaited.StopReason);
        Assert.Equal(streamed.SequenceLength, awaited.SequenceLength);
        Assert.Equal(streamed.Anchors, awaited.Anchors);
        Assert.Equal(streamed.FirstLogits, awaited.FirstLogits);
    }

    [Fact]
    public async Task Result_before_the_enumeration_finished_throws_a_clear_InvalidOperationException()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, _) = Case(Gqa, 0);
        AnswerStream stream = model.Answer(image, question, options);

        AssertNotFinished(stream);                                          // not started
        await using (IAsyncEnumerator<string> e = stream.GetAsyncEnumerator())
        {
            Assert.True(await e.MoveNextAsync());
            AssertNotFinished(stream);                                      // after the first piece
            Assert.True(await e.MoveNextAsync());
            AssertNotFinished(stream);                                      // after the second
        }

        AssertNotFinished(stream);                                          // abandoned: it never finished

        AnswerStream whole = model.Answer(image, question, options);
        await Collect(whole);
        Assert.Equal(options.MaxNewTokens, whole.Result.TokenIds.Count);    // and once finished it is there
    }

    [Fact]
    public async Task An_AnswerStream_can_be_enumerated_only_once()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(Gqa, 0);

        AnswerStream stream = model.Answer(image, question, options);
        await using (IAsyncEnumerator<string> first = stream.GetAsyncEnumerator())
        {
            Assert.True(await first.MoveNextAsync());
            var during = Assert.Throws<InvalidOperationException>(() => stream.GetAsyncEnumerator());
            Assert.Contains("once", during.Message, StringComparison.Ordinal);
            while (await first.MoveNextAsync())
            {
            }
        }

        var after = Assert.Throws<InvalidOperationException>(() => stream.GetAsyncEnumerator());
        Assert.Contains("enumerated once", after.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await Collect(stream));
        Assert.Equal(g.Tokens, stream.Result.TokenIds); // the failed second enumeration did not disturb the first's result
    }

    // ---- 2. the references' text -------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(FullyComparedGenerations))]
    public async Task Greedy_answer_reproduces_the_reference_tokens_and_SentencePiece_text(string fixture, int index)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(fixture, index);
        string expected = ReferenceTexts(fixture)[index]!;

        AnswerStream stream = model.Answer(image, question, options);
        List<string> pieces = await Collect(stream);

        Assert.Equal(g.Tokens, stream.Result.TokenIds);
        Assert.Equal(expected, stream.Result.Text);
        Assert.Equal(expected, string.Concat(pieces));
    }

    [Fact]
    public void Some_reference_generation_is_compared_in_full()
    {
        Assert.True(FullyComparedGenerations.Count() >= 10, $"only {FullyComparedGenerations.Count()} reference generations have every margin ≥ {MarginFloor}");
    }

    // ---- 3. stop strings ----------------------------------------------------------------------------------

    /// <summary>
    /// Stop strings (separated by <c>|</c>) that occur in a reference text after its first piece: the answer ends just
    /// before the earliest, on the token that completed it. <c>eKi</c> spans three tokens (" house", "K", "i"), and
    /// the "e" of "ape" before it is held back, then released; <c>7an</c> spans "7" and "ang"; <c>.\n:</c> spans two
    /// tokens after a byte-fallback character; <c>% y</c> follows "�l".
    /// </summary>
    [Theory]
    [InlineData(Gqa, 6, "eKi")]
    [InlineData(Gqa, 0, "7an")]
    [InlineData(Gqa, 0, "ang")]
    [InlineData(Gqa, 2, ".\n:")]
    [InlineData(Gqa, 4, "\n.")]
    [InlineData(Mha, 1, "% y")]
    [InlineData(Mha, 6, " No")]
    [InlineData(Gqa, 2, ":\n|.\n:|Zq\uFFFD")]
    public async Task A_stop_string_ends_the_answer_just_before_its_first_occurrence(string fixture, int index, string stops)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions plain, GenerationReference g) = Case(fixture, index);
        string reference = ReferenceTexts(fixture)[index]!;
        string[] stopStrings = stops.Split('|');
        int at = stopStrings.Select(s => reference.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).Min();
        string expected = reference[..at];
        var unstopped = model.Answer(image, question, plain);
        string firstPiece = (await Collect(unstopped))[0];
        Assert.True(at >= 3 && at >= firstPiece.Length, $"the stop string should come after the first piece \"{Escape(firstPiece)}\" (it is at {at})");

        // The token that completes the earliest stop string: the first prefix of the reference tokens whose streamed text contains one.
        var detokenizer = new StreamingDetokenizer(Fixtures.Get(fixture).Tokenizer.Model);
        var soFar = new StringBuilder();
        int completing = 0;
        while (!stopStrings.Any(s => soFar.ToString().Contains(s, StringComparison.Ordinal)))
        {
            soFar.Append(detokenizer.Append(g.Tokens[completing++]));
        }

        AnswerStream stream = model.Answer(image, question, plain with { StopStrings = stopStrings });
        var pieces = new List<string>();
        await foreach (string piece in stream)
        {
            pieces.Add(piece);
            string streamed = string.Concat(pieces);
            Assert.True(expected.StartsWith(streamed, StringComparison.Ordinal),
                $"after {pieces.Count} pieces the stream reads \"{Escape(streamed)}\", which passes the stop string's start (the answer should be \"{Escape(expected)}\")");
        }

        VqaResult result = stream.Result;
        output.WriteLine($"{fixture} #{index}, stop [{string.Join(", ", stopStrings.Select(Escape))}]: pieces [{string.Join("|", pieces.Select(Escape))}], {result.TokenIds.Count} tokens, text \"{Escape(result.Text)}\"");
        Assert.Equal(StopReason.StopString, result.StopReason);
        Assert.Equal(expected, result.Text);
        Assert.Equal(expected, string.Concat(pieces));
        Assert.True(result.TokenIds.Count < plain.MaxNewTokens, "generation should stop before the maximum");
        Assert.Equal(g.Tokens.Take(completing), result.TokenIds);
    }

    /// <summary>
    /// Stop strings that never complete change nothing, even when a prefix of one keeps appearing (it is held back,
    /// then released): " yellow" appears twice in that answer; the answer ends in "squZ", held back until the end.
    /// </summary>
    [Theory]
    [InlineData(Gqa, 6, "zzz")]
    [InlineData(Gqa, 2, "squZ!")]
    [InlineData(Gqa, 2, "\uFFFD.\n: squZq")]
    [InlineData(Mha, 1, " yellow!|L yelp")]
    public async Task Stop_strings_that_never_occur_change_nothing(string fixture, int index, string stops)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions plain, GenerationReference g) = Case(fixture, index);
        string[] stopStrings = stops.Split('|');
        string reference = ReferenceTexts(fixture)[index]!;
        Assert.All(stopStrings, s => Assert.DoesNotContain(s, reference, StringComparison.Ordinal));

        AnswerStream stream = model.Answer(image, question, plain with { StopStrings = stopStrings });
        List<string> pieces = await Collect(stream);

        Assert.Equal(StopReason.MaxNewTokens, stream.Result.StopReason);
        Assert.Equal(g.Tokens, stream.Result.TokenIds);
        Assert.Equal(reference, stream.Result.Text);
        Assert.Equal(reference, string.Concat(pieces));
    }

    [Fact]
    public async Task A_stop_string_at_the_start_gives_an_empty_answer()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions plain, GenerationReference g) = Case(Gqa, 0);

        AnswerStream stream = model.Answer(image, question, plain with { StopStrings = ["squ"] });
        List<string> pieces = await Collect(stream);

        Assert.Empty(pieces);
        Assert.Equal(string.Empty, stream.Result.Text);
        Assert.Equal(StopReason.StopString, stream.Result.StopReason);
        Assert.Equal([g.Tokens[0]], stream.Result.TokenIds);
    }

    /// <summary>"\f�" ends the reference text 'squZq7angZq�\f�': the last allowed token completes it, and the stop string still wins over the length limit.</summary>
    [Fact]
    public async Task A_stop_string_completed_by_the_last_allowed_token_is_still_a_stop_string()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions plain, GenerationReference g) = Case(Gqa, 0);
        string reference = ReferenceTexts(Gqa)[0]!;
        const string Stop = "\f\uFFFD";
        Assert.EndsWith(Stop, reference, StringComparison.Ordinal);
        Assert.Equal(reference.Length - Stop.Length, reference.IndexOf(Stop, StringComparison.Ordinal));

        AnswerStream stream = model.Answer(image, question, plain with { StopStrings = [Stop] });
        List<string> pieces = await Collect(stream);

        Assert.Equal(StopReason.StopString, stream.Result.StopReason);
        Assert.Equal(reference[..^Stop.Length], stream.Result.Text);
        Assert.Equal(stream.Result.Text, string.Concat(pieces));
        Assert.Equal(g.Tokens, stream.Result.TokenIds);
    }

    // ---- 4. length and EOS ----------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(AllGenerations))]
    public async Task MaxNewTokens_one_gives_exactly_the_first_reference_token(string fixture, int index)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(fixture, index);

        VqaResult result = await model.AnswerAsync(image, question, options with { MaxNewTokens = 1 });

        Assert.Equal([g.Tokens[0]], result.TokenIds);
        Assert.Equal(StopReason.MaxNewTokens, result.StopReason);
        Assert.Equal(0, result.Timings.DecodeSteps);
    }

    [Theory]
    [InlineData(Gqa, 3, 4)]
    [InlineData(Gqa, 9, 7)]
    [InlineData(Mha, 0, 2)]
    public async Task MaxNewTokens_n_gives_the_first_n_reference_tokens(string fixture, int index, int n)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(fixture, index);

        VqaResult result = await model.AnswerAsync(image, question, options with { MaxNewTokens = n });

        Assert.Equal(g.Tokens.Take(n), result.TokenIds);
        Assert.Equal(StopReason.MaxNewTokens, result.StopReason);
        Assert.Equal(n - 1, result.Timings.DecodeSteps);
    }

    /// <summary>
    /// The float32 and float16 no-projector fixtures end these answers greedily with EOS (id 2), found by
    /// generating to the end of the context for every test image, question and anchoring: gray.png with
    /// "What color is the circle?" at token 38, tiny.png with the Unicode question at token 17, anchoring off.
    /// </summary>
    [Theory]
    [InlineData(Mha, "gray.png", 0, 38)]
    [InlineData(MhaFp16, "gray.png", 0, 38)]
    [InlineData(Mha, "tiny.png", 3, 17)]
    public async Task Generation_ends_at_the_EOS_token(string fixture, string imageName, int prompt, int length)
    {
        VisionLanguageModel model = Pipelines.Get(fixture);
        ModelImage image = model.LoadImage(Pipelines.ImagePath(imageName));
        string question = Fixtures.Get(fixture).References.Prompts[prompt].Question;
        int eos = model.Config.EosTokenId;
        var options = new GenerationOptions { MaxNewTokens = 100, Anchoring = AttAnchorOptions.Off };

        AnswerStream stream = model.Answer(image, question, options);
        List<string> pieces = await Collect(stream);
        VqaResult result = stream.Result;
        VqaResult exact = await model.AnswerAsync(image, question, options with { MaxNewTokens = length });
        VqaResult shorter = await model.AnswerAsync(image, question, options with { MaxNewTokens = length - 1 });

        output.WriteLine($"{fixture} {imageName} \"{question}\": EOS at token {result.TokenIds.Count}, text \"{Escape(result.Text)}\"");
        Assert.Equal(2, eos);
        Assert.Equal(StopReason.EndOfSequence, result.StopReason);
        Assert.Equal(length, result.TokenIds.Count);
        Assert.Equal(eos, result.TokenIds[^1]);
        Assert.DoesNotContain(eos, result.TokenIds.Take(length - 1));
        Assert.Equal(result.Text, string.Concat(pieces));
        Assert.Equal(Decode(fixture, result.TokenIds.Take(length - 1)), result.Text); // EOS adds no text

        // EOS on the last allowed token is still EOS; one token fewer is the length limit, same prefix.
        Assert.Equal(StopReason.EndOfSequence, exact.StopReason);
        Assert.Equal(result.TokenIds, exact.TokenIds);
        Assert.Equal(StopReason.MaxNewTokens, shorter.StopReason);
        Assert.Equal(result.TokenIds.Take(length - 1), shorter.TokenIds);
        Assert.Equal(result.Text, shorter.Text);
    }

    /// <summary>
    /// Square.png, "What color is the circle?", anchoring off on the no-projector fixture: 112 positions of 512, so 400
    /// new tokens fit (no EOS comes): the decoder runs to the last position; 401 are refused when the answer is asked for.
    /// </summary>
    [Fact]
    public async Task Generation_can_run_to_the_end_of_the_context_and_no_further()
    {
        VisionLanguageModel model = Pipelines.Get(Mha);
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        string question = Fixtures.Get(Mha).References.Prompts[0].Question;
        int room = model.Config.MaxPositionEmbeddings - 112;
        var options = new GenerationOptions { MaxNewTokens = room, Anchoring = AttAnchorOptions.Off };

        VqaResult result = await model.AnswerAsync(image, question, options);
        var e = Assert.Throws<ArgumentException>(() => model.Answer(image, question, options with { MaxNewTokens = room + 1 }));

        Assert.Equal(112, result.SequenceLength);
        Assert.Equal(StopReason.MaxNewTokens, result.StopReason);
        Assert.Equal(room, result.TokenIds.Count);
        Assert.Equal(room - 1, result.Timings.DecodeSteps);
        Assert.Equal("options", e.ParamName);
        Assert.Contains($"at most {room} new tokens fit", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A huge maximum is refused like any other that does not fit, naming how many do. (The check adds the prompt length
    /// and the maximum as <see cref="int"/>: without care the sum wraps negative and passes.)
    /// </summary>
    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(int.MaxValue - 588)]
    [InlineData(2_000_000_000)]
    public void A_huge_MaxNewTokens_is_refused_naming_how_many_fit(int maxNewTokens)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(Gqa, 0);
        Assert.Equal(589, g.SequenceLength);

        var e = Assert.Throws<ArgumentException>(() => model.Answer(image, question, options with { MaxNewTokens = maxNewTokens }));

        Assert.Equal("options", e.ParamName);
        Assert.Contains("at most 435 new tokens fit", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// With anchoring the copies (11 here: 123 positions instead of 112) are known only after the image has been
    /// encoded; a length that fits the plain sequence but not the anchored one is refused then, with the copies named,
    /// before any token.
    /// </summary>
    [Fact]
    public async Task A_length_that_only_the_anchored_sequence_overflows_is_refused_before_any_token()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(Mha, 1);
        Assert.Equal(123, g.SequenceLength);
        int tooMany = model.Config.MaxPositionEmbeddings - 112; // fits the plain 112, not the anchored 123
        int received = 0;

        var e = await Assert.ThrowsAnyAsync<ArgumentException>(async () =>
        {
            await foreach (string _ in model.Answer(image, question, options with { MaxNewTokens = tooMany }))
            {
                received++;
            }
        });

        Assert.Equal(0, received);
        Assert.Contains($"at most {model.Config.MaxPositionEmbeddings - 123} new tokens fit", e.Message, StringComparison.Ordinal);
        Assert.Contains("AttAnchor copies", e.Message, StringComparison.Ordinal);
        VqaResult fits = await model.AnswerAsync(image, question, options with { MaxNewTokens = model.Config.MaxPositionEmbeddings - 123 });
        Assert.Equal(g.Tokens, fits.TokenIds.Take(g.Tokens.Count));
    }

    // ---- 5. sampling -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(Gqa, 0, 0.7f, 40, 0.9f, 1234)]
    [InlineData(Gqa, 6, 1.3f, 0, 0.95f, 7)]
    [InlineData(Mha, 3, 5f, 100, 1f, -5)]
    [InlineData(Mha, 10, 0.9f, 5, 0.5f, 0)]
    public async Task The_same_seed_gives_the_same_sampled_answer(string fixture, int index, float temperature, int topK, float topP, int seed)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions greedy, _) = Case(fixture, index);
        GenerationOptions sampled = greedy with { MaxNewTokens = 24, Temperature = temperature, TopK = topK, TopP = topP, Seed = seed };

        VqaResult first = await model.AnswerAsync(image, question, sampled);
        AnswerStream stream = model.Answer(image, question, sampled);
        List<string> pieces = await Collect(stream);

        Assert.Equal(first.TokenIds, stream.Result.TokenIds);
        Assert.Equal(first.Text, stream.Result.Text);
        Assert.Equal(first.Text, string.Concat(pieces));
        Assert.All(first.TokenIds, id => Assert.InRange(id, 0, model.Config.VocabSize - 1));
    }

    /// <summary>
    /// At temperature 5 the fixtures' first-step distribution is nearly flat (logits spread about ±10 with a standard
    /// deviation near 3, so about ±2 after dividing by 5): the chance that two independent draws agree, Σp², is
    /// checked below 0.02 (measured 0.0029 on both fixtures, largest p 0.01; uniform would be 1/512 ≈ 0.002), so four
    /// seeds agreeing on all 10 tokens is out of reach.
    /// </summary>
    [Theory]
    [InlineData(Gqa, 0)]
    [InlineData(Mha, 6)]
    public async Task Different_seeds_give_different_answers_at_a_high_temperature(string fixture, int index)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions greedy, _) = Case(fixture, index);
        const float Temperature = 5f;

        VqaResult[] answers = new VqaResult[4];
        for (int seed = 0; seed < answers.Length; seed++)
        {
            answers[seed] = await model.AnswerAsync(image, question, greedy with { Temperature = Temperature, Seed = seed + 1 });
        }

        double[] p = Softmax(answers[0].FirstLogits!, Temperature);
        double collision = p.Sum(x => x * x);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{fixture} #{index}: first-step Σp² at T={Temperature} is {collision:G3} (max p {p.Max():G3}); seeds 1–4: {string.Join(" / ", answers.Select(a => string.Join(",", a.TokenIds)))}"));
        Assert.True(collision < 0.02, $"the first-step distribution at T={Temperature} is not flat (Σp² = {collision:G3}); the test's premise fails");
        Assert.True(answers.Select(a => string.Join(",", a.TokenIds)).Distinct().Count() > 1, "four seeds gave the same sampled answer");
        Assert.All(answers, a => Assert.All(a.TokenIds, id => Assert.InRange(id, 0, model.Config.VocabSize - 1)));
    }

    [Theory]
    [InlineData(Gqa, 3, 0.5f, 1, 1f)]
    [InlineData(Gqa, 9, 5f, 1, 1f)]
    [InlineData(Mha, 1, 100f, 1, 1f)]
    [InlineData(Mha, 0, 1f, 1, 0.5f)]
    [InlineData(Mha, 5, 5f, 0, 0.001f)] // top-p this small keeps only the most likely token (it always has p ≥ 1/512)
    public async Task Sampling_that_keeps_one_token_equals_greedy(string fixture, int index, float temperature, int topK, float topP)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions greedy, GenerationReference g) = Case(fixture, index);

        for (int seed = 0; seed < 3; seed++)
        {
            VqaResult sampled = await model.AnswerAsync(image, question, greedy with { Temperature = temperature, TopK = topK, TopP = topP, Seed = seed });
            Assert.Equal(g.Tokens, sampled.TokenIds);
        }
    }

    [Theory]
    [InlineData(Gqa, 100f)]
    [InlineData(Mha, 1000f)]
    public async Task Sampled_ids_lie_in_the_vocabulary(string fixture, float temperature)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions greedy, _) = Case(fixture, 0);

        VqaResult result = await model.AnswerAsync(image, question, greedy with { MaxNewTokens = 64, Temperature = temperature, Seed = 99 });

        output.WriteLine($"{fixture}: {result.TokenIds.Count} tokens, {result.TokenIds.Distinct().Count()} distinct, {result.StopReason}");
        Assert.All(result.TokenIds, id => Assert.InRange(id, 0, model.Config.VocabSize - 1));
        Assert.True(result.TokenIds.Distinct().Count() > result.TokenIds.Count / 2, "a near-uniform draw should rarely repeat a token");
        if (result.StopReason == StopReason.EndOfSequence)
        {
            Assert.Equal(model.Config.EosTokenId, result.TokenIds[^1]);
        }
        else
        {
            Assert.Equal(64, result.TokenIds.Count);
        }
    }

    // ---- 6. repetition penalty ----------------------------------------------------------------------------------

    /// <summary>Greedy answers that repeat a token (303 ".\n" six times; 393 " yellow"; 93 "Z" and 116 "q"): a penalty of 2 changes them and repeats the token less.</summary>
    [Theory]
    [InlineData(Gqa, 4)]
    [InlineData(Gqa, 0)]
    [InlineData(Mha, 1)]
    public async Task A_repetition_penalty_changes_a_repetitive_greedy_answer(string fixture, int index)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions greedy, GenerationReference g) = Case(fixture, index);

        VqaResult plain = await model.AnswerAsync(image, question, greedy);
        VqaResult penalised = await model.AnswerAsync(image, question, greedy with { RepetitionPenalty = 2f });

        var repeated = plain.TokenIds.GroupBy(id => id).OrderByDescending(group => group.Count()).First();
        int before = repeated.Count();
        int after = penalised.TokenIds.Count(id => id == repeated.Key);
        output.WriteLine($"{fixture} #{index}: [{string.Join(",", plain.TokenIds)}] → penalty 2: [{string.Join(",", penalised.TokenIds)}]; {repeated.Key} ×{before} → ×{after}");
        Assert.Equal(g.Tokens, plain.TokenIds);
        Assert.True(before >= 2, "the unpenalised answer should repeat a token");
        Assert.NotEqual(plain.TokenIds, penalised.TokenIds);
        Assert.True(after < before, $"token {repeated.Key} occurs {after} times with the penalty, {before} without");
        Assert.Equal(plain.TokenIds.Count, penalised.TokenIds.Count);
    }

    // ---- 7. cancellation ---------------------------------------------------------------------------------------

    [Fact]
    public async Task A_token_cancelled_before_the_enumeration_yields_nothing()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, _) = Case(Mha, 0);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => model.AnswerAsync(image, question, options, cts.Token));

        AnswerStream stream = model.Answer(image, question, options);
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (string _ in stream.WithCancellation(cts.Token))
            {
                received++;
            }
        });
        Assert.Equal(0, received);
        Assert.Throws<InvalidOperationException>(() => stream.Result);
    }

    [Fact]
    public async Task A_cancelled_token_stops_the_stages_before_the_vision_encoder_runs()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, _) = Case(Mha, 0);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        long encodings = model.ImageEncoder.Encodings;

        // The stages themselves check the token: preprocessing and the vision encoder, embedding, regrouping, prefill.
        using (RunOptions run = VisionLanguageModel.NewRunOptions())
        {
            Prompt prompt = model.PromptEncoder.Encode(question, options.MaxNewTokens);
            Assert.Throws<OperationCanceledException>(() => model.Prepare(image, session: null, prompt, options, run, cts.Token));
            Assert.Throws<OperationCanceledException>(() => model.ImageEncoder.Encode(image, run, cts.Token));
        }

        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (string _ in model.Answer(image, question, options).WithCancellation(cts.Token))
            {
                received++;
            }
        });

        Assert.Equal(0, received);
        Assert.Equal(encodings, model.ImageEncoder.Encodings);

        // And with a live token the same calls do run the encoder: the count above can move.
        using (RunOptions run = VisionLanguageModel.NewRunOptions())
        {
            model.ImageEncoder.Encode(image, run, CancellationToken.None);
        }

        Assert.Equal(encodings + 1, model.ImageEncoder.Encodings);
    }

    [Theory]
    [InlineData(Gqa, 3)]
    [InlineData(Mha, 1)]
    public async Task Cancelling_after_the_first_piece_stops_within_a_step_and_leaves_nothing_behind(string fixture, int index)
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(fixture, index);
        AnswerStream stream = model.Answer(image, question, options with { MaxNewTokens = 300 });
        using var cts = new CancellationTokenSource();
        int before = 0;
        int after = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (string _ in stream.WithCancellation(cts.Token))
            {
                if (cts.IsCancellationRequested)
                {
                    after++;
                }
                else
                {
                    before++;
                    await cts.CancelAsync();
                }
            }
        });

        output.WriteLine($"{fixture} #{index}: {before} piece(s) before Cancel(), {after} after");
        Assert.Equal(1, before);
        Assert.True(after <= 1, $"{after} pieces came after Cancel()");
        Assert.Throws<InvalidOperationException>(() => stream.Result);

        VqaResult again = await model.AnswerAsync(image, question, options);
        Assert.Equal(g.Tokens, again.TokenIds);
        Assert.Equal(ReferenceTexts(fixture)[index], again.Text);
    }

    /// <summary>
    /// Cancels from another thread after 0 to 20 ms, wherever the answer is (image encoder, prefill, a decode step):
    /// it ends with an <see cref="OperationCanceledException"/> and at most one piece after the cancellation, or (if the
    /// answer won the race) completes unchanged; either way the next answer is the reference.
    /// </summary>
    [Fact]
    public async Task Cancelling_at_any_moment_stops_cleanly()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(Gqa, 3);
        int cancelled = 0;
        foreach (int delay in new[] { 0, 1, 2, 5, 10, 20 })
        {
            using var cts = new CancellationTokenSource();
            int cancelledFlag = 0;
            using CancellationTokenRegistration registration = cts.Token.Register(() => Volatile.Write(ref cancelledFlag, 1));
            AnswerStream stream = model.Answer(image, question, options with { MaxNewTokens = 300 });
            int after = 0;
            Task canceller = Task.Run(async () =>
            {
                await Task.Delay(delay);
                await cts.CancelAsync();
            });
            try
            {
                await foreach (string _ in stream.WithCancellation(cts.Token))
                {
                    if (Volatile.Read(ref cancelledFlag) != 0)
                    {
                        after++;
                    }
                }

                Assert.Equal(g.Tokens, stream.Result.TokenIds.Take(g.Tokens.Count)); // the answer finished first
            }
            catch (OperationCanceledException)
            {
                cancelled++;
                Assert.True(after <= 1, $"{after} pieces came after the cancellation ({delay} ms)");
                Assert.Throws<InvalidOperationException>(() => stream.Result);
            }

            await canceller;
            VqaResult again = await model.AnswerAsync(image, question, options);
            Assert.Equal(g.Tokens, again.TokenIds);
        }

        output.WriteLine($"{cancelled} of 6 answers were cancelled");
        Assert.True(cancelled > 0, "no answer was cancelled");
    }

    // ---- 8. concurrency ----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(Gqa, new[] { 0, 4, 6, 11 })]
    [InlineData(Mha, new[] { 1, 3, 7, 9 })]
    public async Task Concurrent_answers_equal_the_same_answers_one_after_another(string fixture, int[] indices)
    {
        var cases = indices.Select(i => Case(fixture, i)).ToArray();
        VisionLanguageModel model = cases[0].Model;

        var sequential = new List<VqaResult>();
        foreach (var c in cases)
        {
            sequential.Add(await model.AnswerAsync(c.Image, c.Question, c.Options with { MaxNewTokens = 16 }));
        }

        VqaResult[] concurrent = await Task.WhenAll(cases.Select(c => Task.Run(() => model.AnswerAsync(c.Image, c.Question, c.Options with { MaxNewTokens = 16 }))));

        for (int i = 0; i < cases.Length; i++)
        {
            Assert.Equal(cases[i].Reference.Tokens, sequential[i].TokenIds.Take(cases[i].Reference.Tokens.Count));
            Assert.Equal(sequential[i].TokenIds, concurrent[i].TokenIds);
            Assert.Equal(sequential[i].Text, concurrent[i].Text);
            Assert.Equal(sequential[i].SequenceLength, concurrent[i].SequenceLength);
            Assert.Equal(sequential[i].Anchors, concurrent[i].Anchors);
            double worst = sequential[i].FirstLogits!.Zip(concurrent[i].FirstLogits!).Max(t => Math.Abs(t.First - t.Second));
            Assert.True(worst <= 1e-5, $"case {indices[i]}: first-step logits differ by {worst:G3} when run concurrently");
        }
    }

    [Fact]
    public async Task Cancelling_one_of_two_concurrent_answers_leaves_the_other_unchanged()
    {
        (VisionLanguageModel model, ModelImage image, string question, GenerationOptions options, GenerationReference g) = Case(Gqa, 6);
        (_, ModelImage otherImage, string otherQuestion, GenerationOptions otherOptions, _) = Case(Gqa, 3);
        using var cts = new CancellationTokenSource();

        Task<VqaResult> kept = Task.Run(() => model.AnswerAsync(image, question, options with { MaxNewTokens = 40 }));
        Task cancelled = Task.Run(async () =>
        {
            await foreach (string _ in model.Answer(otherImage, otherQuestion, otherOptions with { MaxNewTokens = 300 }).WithCancellation(cts.Token))
            {
                await cts.CancelAsync();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        VqaResult result = await kept;
        VqaResult alone = await model.AnswerAsync(image, question, options with { MaxNewTokens = 40 });
        Assert.Equal(g.Tokens, result.TokenIds.Take(g.Tokens.Count));
        Assert.Equal(alone.TokenIds, result.TokenIds);
        Assert.Equal(alone.Text, result.Text);
    }

    // ---- 9. option validation ----------------------------------------------------------------------------------

    [Theory]
    [InlineData(nameof(GenerationOptions.MaxNewTokens), "0")]
    [InlineData(nameof(GenerationOptions.MaxNewTokens), "-3")]
    [InlineData(nameof(GenerationOptions.Temperature), "-1")]
    [InlineData(nameof(GenerationOptions.Temperature), "NaN")]
    [InlineData(nameof(GenerationOptions.Temperature), "Infinity")]
    [InlineData(nameof(GenerationOptions.TopP), "0")]
    [InlineData(nameof(GenerationOptions.TopP), "1.5")]
    [InlineData(nameof(GenerationOptions.TopP), "-0.5")]
    [InlineData(nameof(GenerationOptions.TopP), "NaN")]
    [InlineData(nameof(GenerationOptions.TopK), "-1")]
    [InlineData(nameof(GenerationOptions.RepetitionPenalty), "0")]
    [InlineData(nameof(GenerationOptions.RepetitionPenalty), "-2")]
    [InlineData(nameof(GenerationOptions.RepetitionPenalty), "NaN")]
    [InlineData(nameof(GenerationOptions.RepetitionPenalty), "Infinity")]
    [InlineData(nameof(ModelOptions.IntraOpThreads), "-1")]
    [InlineData(nameof(ModelOptions.MaxImagePixels), "0")]
    [InlineData(nameof(ModelOptions.MaxImagePixels), "-1")]
    [InlineData(nameof(ModelOptions.CudaDeviceId), "-1")]
    [InlineData(nameof(ModelOptions.ExifOrientation), "2")]
    [InlineData(nameof(ModelOptions.ExifOrientation), "-1")]
    public void An_out_of_range_option_throws_naming_it(string option, string value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Make(option, value));

        Assert.Equal(option, e.ParamName);
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ok||")]
    [InlineData("ok|\0")] // "\0" stands for a null entry
    public void Empty_or_null_stop_strings_throw_naming_the_option(string stops)
    {
        string?[] list = [.. stops.Split('|').Select(s => s == "\0" ? null : s)];

        var e = Assert.Throws<ArgumentException>(() => new GenerationOptions { StopStrings = list! });

        Assert.Equal(nameof(GenerationOptions.StopStrings), e.ParamName);
        Assert.Contains(nameof(GenerationOptions.StopStrings), e.Message, StringComparison.Ordinal);
        Assert.Equal(nameof(GenerationOptions.StopStrings), Assert.Throws<ArgumentNullException>(() => new GenerationOptions { StopStrings = null! }).ParamName);
    }

    [Theory]
    [InlineData(nameof(GenerationOptions.MaxNewTokens), "1")]
    [InlineData(nameof(GenerationOptions.Temperature), "0")]
    [InlineData(nameof(GenerationOptions.Temperature), "1e-6")]
    [InlineData(nameof(GenerationOptions.TopP), "1")]
    [InlineData(nameof(GenerationOptions.TopP), "1e-6")]
    [InlineData(nameof(GenerationOptions.TopK), "0")]
    [InlineData(nameof(GenerationOptions.RepetitionPenalty), "0.01")]
    [InlineData(nameof(ModelOptions.IntraOpThreads), "0")]
    [InlineData(nameof(ModelOptions.MaxImagePixels), "1")]
    [InlineData(nameof(ModelOptions.CudaDeviceId), "0")]
    [InlineData(nameof(ModelOptions.ExifOrientation), "1")]
    public void A_boundary_value_is_accepted(string option, string value)
    {
        object options = Make(option, value);

        object stored = options.GetType().GetProperty(option)!.GetValue(options)!;
        Assert.Equal((double)float.Parse(value, CultureInfo.InvariantCulture), Convert.ToDouble(stored, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void A_stop_list_is_copied_when_set()
    {
        var list = new List<string> { "a" };
        var options = new GenerationOptions { StopStrings = list };
        list.Add(string.Empty);

        Assert.Equal(["a"], options.StopStrings);
    }

    // ---- 10. float16 graphs ------------------------------------------------------------------------------------

    /// <summary>
    /// The float16 fixture has the float32 fixture's weights rounded to float16: the same sequence length and answer,
    /// and first-step logits within 0.05 (measured about 0.008). Tokens are compared where the float32 reference's
    /// margin is at least 0.1, twice the logits tolerance, so the rounding cannot flip them.
    /// </summary>
    [Theory]
    [MemberData(nameof(Fp16Cases))]
    public async Task The_float16_graphs_answer_like_the_float32_graphs(int index)
    {
        (VisionLanguageModel model32, ModelImage image32, string question, GenerationOptions options, GenerationReference g) = Case(Mha, index);
        VisionLanguageModel model16 = Pipelines.Get(MhaFp16);
        ModelImage image16 = model16.LoadImage(Pipelines.ImagePath(g.Image));

        VqaResult single = await model32.AnswerAsync(image32, question, options);
        VqaResult half = await model16.AnswerAsync(image16, question, options);

        float[] a = single.FirstLogits!;
        float[] b = half.FirstLogits!;
        Assert.Equal(model32.Config.VocabSize, b.Length);
        double worst = a.Zip(b).Max(t => Math.Abs(t.First - t.Second));
        int compared = Pipelines.ComparableSteps(g, 0.1);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"#{index} {g.Image} prompt {g.Prompt} {(g.Anchor is null ? "off" : g.Anchor.Direction)}: L {half.SequenceLength} vs {single.SequenceLength}; first logits max|Δ| {worst:G4}; tokens compared {compared}: [{string.Join(",", half.TokenIds)}] vs [{string.Join(",", single.TokenIds)}]"));
        Assert.Equal(single.SequenceLength, half.SequenceLength);
        Assert.Equal(single.BaselineSequenceLength, half.BaselineSequenceLength);
        Assert.Equal(single.Anchors.Count, half.Anchors.Count);
        Assert.True(worst <= 0.05, $"float16 first-step logits differ from float32 by {worst:G4}");
        Assert.True(worst > 0, "the float16 logits are bit-identical to float32: the fixture is not float16");
        Assert.Equal(10, half.TokenIds.Count);
        Assert.Equal(StopReason.MaxNewTokens, half.StopReason);
        Assert.Equal(single.TokenIds.Take(compared), half.TokenIds.Take(compared));
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /// <summary>A reference generation's model, image, question and options (its anchoring, its token count, first logits captured).</summary>
    private static (VisionLanguageModel Model, ModelImage Image, string Question, GenerationOptions Options, GenerationReference Reference) Case(string fixture, int index)
    {
        GenerationReference g = Fixtures.Get(fixture).References.Generations[index];
        VisionLanguageModel model = Pipelines.Get(fixture);
        return (model, model.LoadImage(Pipelines.ImagePath(g.Image)), Fixtures.Get(fixture).References.Prompts[g.Prompt].Question, Pipelines.Options(g.Anchor, g.Tokens.Count), g);
    }

    private static async Task<List<string>> Collect(AnswerStream stream)
    {
        var pieces = new List<string>();
        await foreach (string piece in stream)
        {
            pieces.Add(piece);
        }

        return pieces;
    }

    private static void AssertNotFinished(AnswerStream stream)
    {
        var e = Assert.Throws<InvalidOperationException>(() => stream.Result);
        Assert.Contains("not finished", e.Message, StringComparison.Ordinal);
        Assert.Contains("enumerate", e.Message, StringComparison.Ordinal);
    }

    /// <summary><c>generations[i].text</c> of a fixture's references.json (SentencePiece's decode of the tokens; null when it has none).</summary>
    private static string?[] ReferenceTexts(string fixture)
    {
        string path = Path.Combine(Fixtures.FixturesFolder, fixture, "references", "references.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        return [.. document.RootElement.GetProperty("generations").EnumerateArray()
            .Select(g => g.GetProperty("text").ValueKind == JsonValueKind.Null ? null : g.GetProperty("text").GetString())];
    }

    /// <summary>The streamed text of token ids, by the fixture's tokenizer.</summary>
    private static string Decode(string fixture, IEnumerable<int> ids)
    {
        var detokenizer = new StreamingDetokenizer(Fixtures.Get(fixture).Tokenizer.Model);
        var text = new StringBuilder();
        foreach (int id in ids)
        {
            text.Append(detokenizer.Append(id));
        }

        return text.Append(detokenizer.Flush()).ToString();
    }

    private static double[] Softmax(float[] logits, float temperature)
    {
        double max = logits.Max() / (double)temperature;
        double[] e = [.. logits.Select(l => Math.Exp(l / (double)temperature - max))];
        double sum = e.Sum();
        return [.. e.Select(x => x / sum)];
    }

    private static object Make(string option, string value)
    {
        float F() => float.Parse(value, CultureInfo.InvariantCulture);
        int I() => int.Parse(value, CultureInfo.InvariantCulture);
        return option switch
        {
            nameof(GenerationOptions.MaxNewTokens) => new GenerationOptions { MaxNewTokens = I() },
            nameof(GenerationOptions.Temperature) => new GenerationOptions { Temperature = F() },
            nameof(GenerationOptions.TopP) => new GenerationOptions { TopP = F() },
            nameof(GenerationOptions.TopK) => new GenerationOptions { TopK = I() },
            nameof(GenerationOptions.RepetitionPenalty) => new GenerationOptions { RepetitionPenalty = F() },
            nameof(ModelOptions.IntraOpThreads) => new ModelOptions { IntraOpThreads = I() },
            nameof(ModelOptions.MaxImagePixels) => new ModelOptions { MaxImagePixels = long.Parse(value, CultureInfo.InvariantCulture) },
            nameof(ModelOptions.CudaDeviceId) => new ModelOptions { CudaDeviceId = I() },
            nameof(ModelOptions.ExifOrientation) => new ModelOptions { ExifOrientation = (ExifOrientationMode)I() },
            _ => throw new ArgumentException($"unknown option {option}", nameof(option)),
        };
    }

    private static string Escape(string s) => s.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\f", "\\f", StringComparison.Ordinal);
}
