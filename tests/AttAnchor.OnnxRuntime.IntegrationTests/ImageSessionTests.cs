using System.Globalization;
using AttAnchor.OnnxRuntime;
using Xunit.Abstractions;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// <see cref="ImageSession"/>: several questions about one image answered from one image encoding and one shared
/// KV-cache prefix, each equal to the model's from-scratch answer (<see cref="VisionLanguageModel.AnswerAsync"/>):
/// the same tokens, text, anchors and lengths, first-step logits within <see cref="LogitsTolerance"/>, and the reused
/// length the AttAnchor layout allows. Then the session's rules: one answer at a time, disposal, cancellation, the
/// vision encoder run once, and the same checks on its questions as the model's.
/// </summary>
public class ImageSessionTests(ITestOutputHelper output)
{
    /// <summary>
    /// How far a session answer's first-step logits may lie from the from-scratch answer's, float32 graphs. The session
    /// prefills in two chunks (the shared prefix once, then the rest against its cache), so attention and the matrix
    /// products may add the same terms in another order: measured 0 (bit for bit) for most splits and at most 6.4e-6
    /// (the fused decoders) for others, on logits that span about ±10. 1e-4 is the tolerance the PyTorch references
    /// are held to, and far below the top-1 margins of the greedy tokens compared here.
    /// </summary>
    private const double LogitsTolerance = 1e-4;

    /// <summary>
    /// The same for the float16 fixture, whose graphs round every intermediate to float16: a changed summation order
    /// moves a logit by whole float16 steps, 0.0039 between 4 and 8, 0.0078 between 8 and 16 (measured 0.0039).
    /// Two steps at that size.
    /// </summary>
    private const double Float16LogitsTolerance = 0.016;

    private static double Tolerance(VisionLanguageModel model) =>
        model.Graphs.LogitsType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16 ? Float16LogitsTolerance : LogitsTolerance;

    private const int NewTokens = 8;

    /// <summary>A model to open: a committed fixture (random weights) or a trained shapes model.</summary>
    private static readonly string[] ModelNames = ["tiny-336-gqa", "tiny-336-gqa-fused", "tiny-noproj-mha", "tiny-noproj-mha-fp16", "shapes/attanchor", "shapes/attanchor-fused", "shapes/baseline"];

    /// <summary>Every model with every anchoring: off, and the two directions at thresholds that insert copies.</summary>
    public static TheoryData<string, string> ModelsAndSettings
    {
        get
        {
            var rows = new TheoryData<string, string>();
            foreach (string model in ModelNames)
            {
                foreach (string setting in new[] { "off", "text-into-image", "image-into-text" })
                {
                    rows.Add(model, setting);
                }
            }

            return rows;
        }
    }

    /// <summary>
    /// The questions of each model, asked in a varying order with repeats: the fixtures' reference prompts (one with
    /// non-ASCII words) and the shapes example's questions.
    /// </summary>
    private static string[] Questions(string name) => name.StartsWith("shapes/", StringComparison.Ordinal)
        ? ["What color is the circle?", "Is there a red circle in the image?", "What shape is blue?", "How many shapes are there?", "Is there a yellow square in the image?"]
        : [.. Fixtures.Get(name).References.Prompts.Select(p => p.Question).Where(q => q.Length > 0)];

    private static readonly int[] Order = [0, 1, 2, 3, 1, 0, 2];

    /// <summary>
    /// The AttAnchor settings per model: the fixtures' reference thresholds (τ = 0.12 text-into-image, 0.35
    /// image-into-text); the shapes models' own τ = 0.164 text-into-image, and 0.1 image-into-text.
    /// </summary>
    private static AttAnchorOptions Anchoring(string name, string setting) => setting switch
    {
        "off" => AttAnchorOptions.Off,
        "text-into-image" => new AttAnchorOptions { Threshold = name.StartsWith("shapes/", StringComparison.Ordinal) ? 0.164f : 0.12f },
        "image-into-text" => new AttAnchorOptions { Threshold = name.StartsWith("shapes/", StringComparison.Ordinal) ? 0.1f : 0.35f, Direction = AnchorDirection.ImageIntoText },
        _ => throw new ArgumentOutOfRangeException(nameof(setting), setting, null),
    };

    private static VisionLanguageModel Model(string name) => name.StartsWith("shapes/", StringComparison.Ordinal)
        ? ShapesModel.Get(name["shapes/".Length..])
        : Pipelines.Get(name);

    private static string ImagePath(string name) => name.StartsWith("shapes/", StringComparison.Ordinal) ? ShapesModel.ExampleImage : Pipelines.ImagePath("square.png");

    private static VisionLanguageModel OpenFresh(string name) => VisionLanguageModel.Open(
        name.StartsWith("shapes/", StringComparison.Ordinal) ? ShapesModel.ModelFolder(name["shapes/".Length..]) : Path.Combine(Fixtures.FixturesFolder, name),
        Pipelines.Cpu);

    // ---- equal to the from-scratch answers --------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ModelsAndSettings))]
    public async Task Session_answers_equal_the_models_answers_from_scratch(string name, string setting)
    {
        VisionLanguageModel model = Model(name);
        ModelImage image = model.LoadImage(ImagePath(name));
        string[] questions = Questions(name);
        var options = new GenerationOptions { MaxNewTokens = NewTokens, Anchoring = Anchoring(name, setting), CaptureFirstLogits = true };
        int prefix = model.Prompts.PrefixIds.Length;
        int shared = prefix + model.Config.NumImageTokens;

        using ImageSession session = model.OpenImage(image);
        Assert.Equal(shared, session.SharedPrefixLength);
        Assert.False(session.IsPrefixCached);
        var first = new Dictionary<int, VqaResult>();
        int copies = 0, cutShort = 0;
        foreach (int q in Order)
        {
            VqaResult ours = await session.AnswerAsync(questions[q], options);
            VqaResult scratch = await model.AnswerAsync(image, questions[q], options);

            double worst = MaxDifference(ours.FirstLogits!, scratch.FirstLogits!);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} {setting} q{q}: L = {ours.SequenceLength}, {ours.Anchors.Count} copies, reused {ours.ReusedPrefixLength} of {shared}; first logits max|Δ| {worst:G3}; [{string.Join(",", ours.TokenIds)}]"));
            Assert.Equal(scratch.TokenIds, ours.TokenIds);
            Assert.Equal(scratch.Text, ours.Text);
            Assert.Equal(scratch.StopReason, ours.StopReason);
            Assert.Equal(scratch.Anchors, ours.Anchors);
            Assert.Equal(scratch.SequenceLength, ours.SequenceLength);
            Assert.Equal(scratch.BaselineSequenceLength, ours.BaselineSequenceLength);
            Assert.Equal(scratch.PromptTokenCount, ours.PromptTokenCount);
            Assert.True(worst <= Tolerance(model), $"question {q}: the first-step logits differ from the from-scratch answer's by {worst:G3}");

            // What may be reused: the whole prefix and image block, unless a text-into-image copy sits inside it.
            int expected = setting == "text-into-image" && ours.Anchors.Count > 0 ? prefix + ours.Anchors[0].PatchIndex + 1 : shared;
            Assert.Equal(expected, ours.ReusedPrefixLength);
            Assert.Equal(0, scratch.ReusedPrefixLength);
            Assert.True(ours.FromImageSession);
            Assert.False(scratch.FromImageSession);
            Assert.Equal(TimeSpan.Zero, ours.Timings.Vision);
            Assert.Equal(TimeSpan.Zero, ours.Timings.Preprocess);
            Assert.Equal(TimeSpan.Zero, ours.Timings.Projector);
            Assert.True(scratch.Timings.Vision > TimeSpan.Zero);
            Assert.True(session.IsPrefixCached);
            copies += ours.Anchors.Count;
            cutShort += ours.ReusedPrefixLength < shared ? 1 : 0;

            // The shared cache is computed once, by the first answer; the same question again gives the same logits, bit for bit.
            Assert.Equal(first.Count == 0, ours.Timings.SharedPrefill > TimeSpan.Zero);
            Assert.True(ours.Timings.SharedPrefill <= ours.Timings.Prefill);
            if (first.TryGetValue(q, out VqaResult? earlier))
            {
                Assert.Equal(earlier.FirstLogits, ours.FirstLogits);
                Assert.Equal(earlier.TokenIds, ours.TokenIds);
            }
            else
            {
                first[q] = ours;
            }
        }

        // The settings do what they are here for: copies, and with text-into-image a reuse cut short by them.
        Assert.Equal(setting == "off", copies == 0);
        Assert.Equal(setting == "text-into-image", cutShort > 0);
    }

    /// <summary>One session, several anchorings interleaved: the shared prefix serves them all; a second session asked in the reverse order gives the same answers, bit for bit.</summary>
    [Theory]
    [InlineData("tiny-336-gqa")]
    [InlineData("shapes/attanchor")]
    public async Task One_session_serves_every_anchoring_in_any_order(string name)
    {
        VisionLanguageModel model = Model(name);
        ModelImage image = model.LoadImage(ImagePath(name));
        string[] questions = Questions(name);
        var asks = (from setting in new[] { "text-into-image", "off", "image-into-text" }
                    from q in new[] { 0, 2 }
                    select (Question: questions[q], Options: new GenerationOptions { MaxNewTokens = 4, Anchoring = Anchoring(name, setting), CaptureFirstLogits = true })).ToArray();

        using ImageSession forward = model.OpenImage(image);
        using ImageSession backward = model.OpenImage(image);
        var results = new VqaResult[asks.Length];
        for (int i = 0; i < asks.Length; i++)
        {
            results[i] = await forward.AnswerAsync(asks[i].Question, asks[i].Options);
        }

        for (int i = asks.Length - 1; i >= 0; i--)
        {
            VqaResult reversed = await backward.AnswerAsync(asks[i].Question, asks[i].Options);
            VqaResult scratch = await model.AnswerAsync(image, asks[i].Question, asks[i].Options);
            Assert.Equal(results[i].FirstLogits, reversed.FirstLogits);
            Assert.Equal(results[i].TokenIds, reversed.TokenIds);
            Assert.Equal(results[i].ReusedPrefixLength, reversed.ReusedPrefixLength);
            Assert.Equal(scratch.TokenIds, reversed.TokenIds);
            Assert.Equal(scratch.Anchors, reversed.Anchors);
            Assert.True(MaxDifference(scratch.FirstLogits!, reversed.FirstLogits!) <= Tolerance(model));
        }
    }

    /// <summary>The trained model's answers to the example from a session are the README's right answers.</summary>
    [Fact]
    public async Task The_trained_model_answers_the_example_questions_right_from_one_session()
    {
        VisionLanguageModel model = ShapesModel.Get(ShapesModel.AttAnchorTrained);
        using ImageSession session = model.OpenImage(model.LoadImage(ShapesModel.ExampleImage));

        foreach (var (_, question, answer) in ShapesModel.ExampleQuestions)
        {
            VqaResult result = await session.AnswerAsync(question);
            Assert.Equal(answer, result.Text);
            Assert.Equal(StopReason.EndOfSequence, result.StopReason);
        }
    }

    // ---- the decoder in chunks --------------------------------------------------------------------------------

    /// <summary>
    /// The decoder graphs take S &gt; 1 new positions after P &gt; 0 cached ones (the causal mask counts from P): a
    /// prefill split anywhere, and a prefill resumed from a slice of another state's cache, give the one-pass logits,
    /// and the cache it resumed from is left as it was.
    /// </summary>
    [Theory]
    [InlineData("tiny-336-gqa", 1)]
    [InlineData("tiny-336-gqa", 5)]
    [InlineData("tiny-336-gqa", 300)]
    [InlineData("tiny-336-gqa", -1)]
    [InlineData("tiny-noproj-mha", 1)]
    [InlineData("tiny-noproj-mha", 57)]
    [InlineData("tiny-noproj-mha", -1)]
    [InlineData("tiny-noproj-mha-fp16", 2)]
    [InlineData("tiny-noproj-mha-fp16", 57)]
    [InlineData("shapes/attanchor", 30)]
    [InlineData("tiny-336-gqa-fused", 1)]
    [InlineData("tiny-336-gqa-fused", 300)]
    [InlineData("tiny-336-gqa-fused", -1)]
    [InlineData("shapes/attanchor-fused", 9)]
    public void A_prefill_in_two_chunks_and_one_resumed_from_a_cache_slice_equal_one_pass(string name, int split)
    {
        VisionLanguageModel model = Model(name);
        using var run = new Microsoft.ML.OnnxRuntime.RunOptions();
        int d = model.Config.HiddenSize;
        Prompt prompt = model.Prompts.Build(Questions(name)[0]);
        float[] image = model.ImageEncoder.Encode(model.LoadImage(ImagePath(name)), run).Rows;
        float[] rows = [.. model.PromptEncoder.Embed(prompt.PrefixIds, run), .. image, .. model.PromptEncoder.Embed(prompt.TextIds, run)];
        int length = rows.Length / d;
        int k = split > 0 ? split : length - 1;

        using DecoderState whole = model.NewDecoderState(length + 2, run);
        whole.Prefill(rows, length);
        float[] expected = [.. whole.Logits];

        using DecoderState chunked = model.NewDecoderState(length + 2, run);
        chunked.Prefill(rows.AsSpan(0, k * d), k);
        Assert.Equal(k, chunked.Length);
        chunked.Prefill(rows.AsSpan(k * d), length - k);

        // A host cache of the first k + 3 positions, resumed at k, k + 3 and 0.
        using DecoderState source = model.NewHostDecoderState(length, run);
        source.Prefill(rows.AsSpan(0, Math.Min(k + 3, length) * d), Math.Min(k + 3, length));
        Microsoft.ML.OnnxRuntime.OrtValue[] cache = source.TakeCache();
        Assert.Equal(0, source.Length);
        try
        {
            byte[][] before = [.. cache.Select(Bytes)];
            foreach (int at in new[] { k, Math.Min(k + 3, length - 1), 0 }.Distinct())
            {
                using DecoderState resumed = model.NewDecoderState(length + 2, run);
                resumed.ResumeFrom(cache, at);
                Assert.Equal(at, resumed.Length);
                resumed.Prefill(rows.AsSpan(at * d), length - at);
                double worst = MaxDifference(expected, resumed.Logits);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: L = {length}, resumed at {at}: max|Δ| {worst:G3}"));
                Assert.True(worst <= Tolerance(model), $"resumed at {at}: logits differ by {worst:G3}");
                if (at == k)
                {
                    // A decode step after it attends to the resumed positions too.
                    int token = Array.IndexOf(expected, expected.Max());
                    whole.Step(token);
                    resumed.Step(token);
                    Assert.Equal(length + 1, resumed.Length);
                    Assert.True(MaxDifference(whole.Logits, resumed.Logits) <= Tolerance(model));
                }
            }

            Assert.Equal(before, cache.Select(Bytes));
            Assert.Throws<InvalidOperationException>(() =>
            {
                using DecoderState used = model.NewDecoderState(length, run);
                used.Prefill(rows.AsSpan(0, d), 1);
                used.ResumeFrom(cache, 1);
            });
        }
        finally
        {
            foreach (var value in cache)
            {
                value.Dispose();
            }
        }

        double chunks = MaxDifference(expected, chunked.Logits);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: L = {length}, split at {k}: max|Δ| {chunks:G3}"));
        Assert.True(chunks <= Tolerance(model), $"split at {k}: logits differ by {chunks:G3}");
        Assert.NotEqual(0, expected.Max() - expected.Min()); // real logits, not a constant
    }

    // ---- the session's rules ----------------------------------------------------------------------------------

    [Fact]
    public async Task The_vision_encoder_runs_once_per_session()
    {
        using VisionLanguageModel model = OpenFresh("tiny-336-gqa");
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        string[] questions = Questions("tiny-336-gqa");

        using ImageSession session = model.OpenImage(image);
        Assert.Equal(1, model.ImageEncoder.Encodings);
        Assert.True(session.Vision > TimeSpan.Zero);
        Assert.True(session.Projector > TimeSpan.Zero);
        foreach (string question in questions)
        {
            await session.AnswerAsync(question, new GenerationOptions { MaxNewTokens = 2 });
        }

        Assert.Equal(1, model.ImageEncoder.Encodings);
        await model.AnswerAsync(image, questions[0], new GenerationOptions { MaxNewTokens = 2 }); // from scratch: encodes again
        Assert.Equal(2, model.ImageEncoder.Encodings);
    }

    [Fact]
    public async Task A_second_answer_while_one_runs_is_refused_and_the_session_stays_usable()
    {
        VisionLanguageModel model = Model("tiny-336-gqa");
        string[] questions = Questions("tiny-336-gqa");
        var options = new GenerationOptions { MaxNewTokens = 12, Anchoring = AttAnchorOptions.Off };
        using ImageSession session = model.OpenImage(model.LoadImage(Pipelines.ImagePath("square.png")));

        // Two streams made before either runs are fine one after the other.
        AnswerStream a = session.Answer(questions[0], options);
        AnswerStream b = session.Answer(questions[1], options);
        string[] pieces;
        await using (IAsyncEnumerator<string> running = a.GetAsyncEnumerator())
        {
            Assert.True(await running.MoveNextAsync()); // a is running, between two pieces

            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => session.AnswerAsync(questions[2], options));
            Assert.Contains("already answering a question", e.Message, StringComparison.Ordinal);
            Assert.Contains("OpenImage", e.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await b.GetAsyncEnumerator().MoveNextAsync());

            var rest = new List<string> { running.Current };
            while (await running.MoveNextAsync())
            {
                rest.Add(running.Current);
            }

            pieces = [.. rest];
        }

        Assert.Equal(a.Result.Text, string.Concat(pieces));
        VqaResult again = await session.AnswerAsync(questions[0], options);
        Assert.Equal(a.Result.TokenIds, again.TokenIds);
        VqaResult other = await session.AnswerAsync(questions[2], options);
        Assert.Equal((await model.AnswerAsync(session.Image, questions[2], options)).TokenIds, other.TokenIds);
    }

    [Fact]
    public async Task An_abandoned_stream_frees_the_session()
    {
        VisionLanguageModel model = Model("tiny-noproj-mha");
        string question = Questions("tiny-noproj-mha")[0];
        using ImageSession session = model.OpenImage(model.LoadImage(Pipelines.ImagePath("square.png")));

        await using (IAsyncEnumerator<string> e = session.Answer(question, new GenerationOptions { MaxNewTokens = 30 }).GetAsyncEnumerator())
        {
            Assert.True(await e.MoveNextAsync());
        }

        VqaResult result = await session.AnswerAsync(question, new GenerationOptions { MaxNewTokens = 3 });
        Assert.Equal(3, result.TokenIds.Count);
    }

    [Fact]
    public async Task Cancelling_a_session_answer_stops_it_and_the_next_answer_is_unchanged()
    {
        VisionLanguageModel model = Model("tiny-336-gqa");
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        string question = Questions("tiny-336-gqa")[1];
        var options = new GenerationOptions { MaxNewTokens = 10, CaptureFirstLogits = true };
        using ImageSession session = model.OpenImage(image);

        // Cancelled before it starts: nothing runs, not even the shared prefix.
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session.AnswerAsync(question, options, cancelled.Token));
        }

        Assert.False(session.IsPrefixCached);

        // Cancelled after its first piece.
        using (var cts = new CancellationTokenSource())
        {
            int pieces = 0;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (string _ in session.Answer(question, options with { MaxNewTokens = 200 }).WithCancellation(cts.Token))
                {
                    pieces++;
                    await cts.CancelAsync();
                }
            });
            Assert.InRange(pieces, 1, 2);
        }

        VqaResult after = await session.AnswerAsync(question, options);
        VqaResult scratch = await model.AnswerAsync(image, question, options);
        Assert.Equal(scratch.TokenIds, after.TokenIds);
        Assert.True(MaxDifference(scratch.FirstLogits!, after.FirstLogits!) <= Tolerance(model));
    }

    [Fact]
    public async Task Disposing_the_session_refuses_new_answers_and_ends_the_one_running()
    {
        VisionLanguageModel model = Model("tiny-336-gqa");
        string question = Questions("tiny-336-gqa")[0];
        ImageSession session = model.OpenImage(model.LoadImage(Pipelines.ImagePath("square.png")));
        AnswerStream made = session.Answer(question, new GenerationOptions { MaxNewTokens = 3 });

        IAsyncEnumerator<string> running = session.Answer(question, new GenerationOptions { MaxNewTokens = 50 }).GetAsyncEnumerator();
        try
        {
            Assert.True(await running.MoveNextAsync());
            Assert.True(session.IsPrefixCached);
            session.Dispose();
            session.Dispose(); // twice is fine
            var e = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await running.MoveNextAsync());
            Assert.Contains("disposed while this answer was being generated", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await running.DisposeAsync();
        }

        Assert.False(session.IsPrefixCached); // released once the running answer stopped
        Assert.Throws<ObjectDisposedException>(() => session.Answer(question));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => session.AnswerAsync(question));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await made.GetAsyncEnumerator().MoveNextAsync()); // made before, run after
        Assert.Equal(3, (await model.AnswerAsync(session.Image, question, new GenerationOptions { MaxNewTokens = 3 })).TokenIds.Count); // the model is untouched
    }

    [Fact]
    public async Task Disposing_the_model_refuses_new_sessions_and_answers_and_ends_the_one_running()
    {
        VisionLanguageModel model = OpenFresh("tiny-noproj-mha");
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        string question = Questions("tiny-noproj-mha")[0];
        using ImageSession session = model.OpenImage(image);
        using ImageSession idle = model.OpenImage(image);

        IAsyncEnumerator<string> running = session.Answer(question, new GenerationOptions { MaxNewTokens = 50 }).GetAsyncEnumerator();
        try
        {
            Assert.True(await running.MoveNextAsync());
            model.Dispose();
            var e = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await running.MoveNextAsync());
            Assert.Contains("model was disposed while this answer was being generated", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await running.DisposeAsync();
        }

        Assert.Throws<ObjectDisposedException>(() => idle.Answer(question));
        Assert.Throws<ObjectDisposedException>(() => model.OpenImage(image));
        Assert.Throws<ObjectDisposedException>(() => model.Answer(image, question));
    }

    [Fact]
    public async Task A_model_disposed_between_making_a_stream_and_running_it_refuses_to_run()
    {
        VisionLanguageModel model = OpenFresh("tiny-noproj-mha");
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        string question = Questions("tiny-noproj-mha")[0];
        using ImageSession session = model.OpenImage(image);
        AnswerStream fromSession = session.Answer(question);
        AnswerStream fromModel = model.Answer(image, question);

        model.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await fromSession.GetAsyncEnumerator().MoveNextAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await fromModel.GetAsyncEnumerator().MoveNextAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("What is in <image>?")]
    public void A_bad_question_is_refused_as_the_model_refuses_it(string question)
    {
        VisionLanguageModel model = Model("tiny-336-gqa");
        using ImageSession session = model.OpenImage(model.LoadImage(Pipelines.ImagePath("square.png")));

        var ours = Assert.Throws<ArgumentException>(() => session.Answer(question));
        var theirs = Assert.Throws<ArgumentException>(() => model.Answer(session.Image, question));

        Assert.Equal(theirs.Message, ours.Message);
        Assert.Equal("question", ours.ParamName);
        Assert.Throws<ArgumentNullException>(() => session.Answer(null!));
        Assert.Throws<ArgumentNullException>(() => model.OpenImage(null!));
    }

    [Fact]
    public void A_length_that_does_not_fit_the_context_is_refused_as_the_model_refuses_it()
    {
        VisionLanguageModel model = Model("tiny-336-gqa");
        using ImageSession session = model.OpenImage(model.LoadImage(Pipelines.ImagePath("square.png")));
        var options = new GenerationOptions { MaxNewTokens = 5000 };

        var ours = Assert.Throws<ArgumentException>(() => session.Answer(Questions("tiny-336-gqa")[0], options));

        Assert.Equal(Assert.Throws<ArgumentException>(() => model.Answer(session.Image, Questions("tiny-336-gqa")[0], options)).Message, ours.Message);
        Assert.Equal("options", ours.ParamName);
    }

    /// <summary>Sampling, stop strings and the repetition penalty behave on a session as on the model.</summary>
    [Fact]
    public async Task Sampling_stop_strings_and_the_repetition_penalty_give_the_models_answers()
    {
        VisionLanguageModel model = Model("tiny-336-gqa");
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        string question = Questions("tiny-336-gqa")[0];
        using ImageSession session = model.OpenImage(image);

        VqaResult plain = await model.AnswerAsync(image, question, new GenerationOptions { MaxNewTokens = 12 });
        string stop = plain.Text.Substring(plain.Text.Length / 2, 2);
        GenerationOptions[] variants =
        [
            new() { MaxNewTokens = 12, Temperature = 0.8f, TopK = 40, TopP = 0.9f, Seed = 17 },
            new() { MaxNewTokens = 12, StopStrings = [stop] },
            new() { MaxNewTokens = 12, RepetitionPenalty = 2f },
        ];
        foreach (GenerationOptions options in variants)
        {
            AnswerStream stream = session.Answer(question, options);
            var pieces = new List<string>();
            await foreach (string piece in stream)
            {
                pieces.Add(piece);
            }

            VqaResult scratch = await model.AnswerAsync(image, question, options);
            Assert.Equal(scratch.TokenIds, stream.Result.TokenIds);
            Assert.Equal(scratch.Text, stream.Result.Text);
            Assert.Equal(scratch.StopReason, stream.Result.StopReason);
            Assert.Equal(stream.Result.Text, string.Concat(pieces));
        }

        Assert.Equal(StopReason.StopString, (await session.AnswerAsync(question, variants[1])).StopReason);
    }

    private static double MaxDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs((double)a[i] - b[i]));
        }

        return worst;
    }

    private static byte[] Bytes(Microsoft.ML.OnnxRuntime.OrtValue value) => value.GetTensorTypeAndShape().ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16
        ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.GetTensorDataAsSpan<Microsoft.ML.OnnxRuntime.Float16>()).ToArray()
        : System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.GetTensorDataAsSpan<float>()).ToArray();
}
