using System.Globalization;
using AttAnchor.OnnxRuntime;
using Xunit.Abstractions;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// The library's pipeline (<see cref="VisionLanguageModel"/>) from the original image files and question
/// strings, against every reference case of every fixture: token ids, anchors and sequence lengths
/// equal, first-step logits within 1e-4, greedy tokens equal up to the first step whose PyTorch top-1
/// margin is below 1e-3.
/// </summary>
public class PipelineTests(ITestOutputHelper output)
{
    private const double LogitsTolerance = 1e-4;
    private const double MarginFloor = 1e-3;
    private const double SimilarityTolerance = 1e-4;

    public static TheoryData<string, int, string> Generations => ReferenceCases.Generations;

    public static TheoryData<string, int, string> RobustPlans
    {
        get
        {
            var rows = new TheoryData<string, int, string>();
            foreach (string fixture in ReferenceCases.FixturesWithReferences())
            {
                IReadOnlyList<PlanReference> plans = Fixtures.Get(fixture).References.Plans;
                for (int i = 0; i < plans.Count; i++)
                {
                    if (!plans[i].Fragile)
                    {
                        rows.Add(fixture, i, $"{plans[i].Image}, prompt {plans[i].Prompt}, {plans[i].Direction} τ={plans[i].Threshold.ToString(CultureInfo.InvariantCulture)}");
                    }
                }
            }

            return rows;
        }
    }

    public static TheoryData<string, int> Prompts
    {
        get
        {
            var rows = new TheoryData<string, int>();
            foreach (string fixture in ReferenceCases.FixturesWithReferences())
            {
                for (int i = 0; i < Fixtures.Get(fixture).References.Prompts.Count; i++)
                {
                    rows.Add(fixture, i);
                }
            }

            return rows;
        }
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Prompt_token_ids_equal_SentencePieces(string fixture, int index)
    {
        PromptReference reference = Fixtures.Get(fixture).References.Prompts[index];

        Prompt prompt = Pipelines.Get(fixture).Prompts.Build(reference.Question);

        Assert.Equal(reference.PrefixIds, prompt.PrefixIds);
        Assert.Equal(reference.TextIds, prompt.TextIds);
        Assert.Equal(reference.QuestionRange, [prompt.Question.Start.Value, prompt.Question.End.Value]);
        Assert.Equal(reference.TextPieces, prompt.TextIds.Select(Pipelines.Get(fixture).Prompts.GetPiece));
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Answer_reproduces_the_PyTorch_generation(string fixture, int index, string description)
    {
        GenerationReference g = Fixtures.Get(fixture).References.Generations[index];
        PromptReference prompt = Fixtures.Get(fixture).References.Prompts[g.Prompt];
        VisionLanguageModel model = Pipelines.Get(fixture);

        VqaResult result = await model.AnswerAsync(model.LoadImage(Pipelines.ImagePath(g.Image)), prompt.Question, Pipelines.Options(g.Anchor, g.Tokens.Count));

        float[] first = result.FirstLogits!;
        double worst = 0;
        for (int i = 0; i < g.FirstLogits.Values.Count; i++)
        {
            worst = Math.Max(worst, Math.Abs(first[g.FirstLogits.Start + i] - g.FirstLogits.Values[i]));
        }

        int compared = Pipelines.ComparableSteps(g, MarginFloor);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{fixture} / {description}: L = {result.SequenceLength}, {result.Anchors.Count} anchors; first logits max|Δ| {worst:G3}; tokens compared {compared} of {g.Tokens.Count}: [{string.Join(", ", result.TokenIds)}] vs PyTorch [{string.Join(", ", g.Tokens)}]"));
        Assert.Equal(g.SequenceLength, result.SequenceLength);
        Assert.Equal(prompt.PrefixIds.Count + prompt.TextIds.Count, result.PromptTokenCount);
        Assert.True(worst <= LogitsTolerance, $"first-step logits differ from PyTorch's by {worst:G3}");
        Assert.Equal(g.Tokens.Take(compared), result.TokenIds.Take(compared));
        Assert.Equal(g.Tokens.Count, result.TokenIds.Count);
        Assert.Equal(StopReason.MaxNewTokens, result.StopReason);
        if (g.Anchor is null)
        {
            Assert.Empty(result.Anchors);
            Assert.Equal(result.BaselineSequenceLength, result.SequenceLength);
        }
    }

    [Theory]
    [MemberData(nameof(RobustPlans))]
    public async Task Anchors_equal_the_NumPy_plan(string fixture, int index, string description)
    {
        PlanReference reference = Fixtures.Get(fixture).References.Plans[index];
        PromptReference prompt = Fixtures.Get(fixture).References.Prompts[reference.Prompt];
        VisionLanguageModel model = Pipelines.Get(fixture);
        var options = Pipelines.Options(new AnchorSetting(reference.Direction, reference.Threshold), maxNewTokens: 1);

        VqaResult result = await model.AnswerAsync(model.LoadImage(Pipelines.ImagePath(reference.Image)), prompt.Question, options);

        output.WriteLine($"{fixture} / {description}: {result.Anchors.Count} anchors, L = {result.SequenceLength}");
        Assert.Equal(reference.BaselineLength, result.BaselineSequenceLength);
        Assert.Equal(reference.SequenceLength, result.SequenceLength);
        Assert.Equal(
            reference.Anchors.Select(a => (a.TextIndex, a.TextPosition, a.TokenId, a.Token, a.PatchIndex, a.PatchRow, a.PatchCol)),
            result.Anchors.Select(a => (a.TextIndex, a.TextPosition, a.TokenId, a.Token, a.PatchIndex, a.PatchRow, a.PatchColumn)));
        for (int i = 0; i < result.Anchors.Count; i++)
        {
            Assert.True(Math.Abs(result.Anchors[i].Similarity - reference.Anchors[i].Similarity) <= SimilarityTolerance,
                $"anchor {i}: similarity {result.Anchors[i].Similarity:G9}, NumPy {reference.Anchors[i].Similarity:G9}");
            Assert.Equal(DirectionNames.Parse(reference.Direction), result.Anchors[i].Direction);
        }
    }

    [Theory]
    [MemberData(nameof(FixtureNamesData))]
    public async Task Anchoring_off_and_threshold_one_give_the_plain_sequence_bit_for_bit(string fixture)
    {
        VisionLanguageModel model = Pipelines.Get(fixture);
        ModelImage image = model.LoadImage(Pipelines.ImagePath("square.png"));
        string question = Fixtures.Get(fixture).References.Prompts[1].Question;

        VqaResult off = await model.AnswerAsync(image, question, new GenerationOptions { MaxNewTokens = 6, Anchoring = AttAnchorOptions.Off, CaptureFirstLogits = true });
        VqaResult one = await model.AnswerAsync(image, question, new GenerationOptions { MaxNewTokens = 6, Anchoring = new AttAnchorOptions { Threshold = 1f }, CaptureFirstLogits = true });
        VqaResult on = await model.AnswerAsync(image, question, new GenerationOptions { MaxNewTokens = 6, Anchoring = new AttAnchorOptions { Threshold = 0.05f }, CaptureFirstLogits = true });

        Assert.Equal(off.BaselineSequenceLength, off.SequenceLength);
        Assert.Equal(off.SequenceLength, one.SequenceLength);
        Assert.Equal(off.FirstLogits, one.FirstLogits);
        Assert.Equal(off.TokenIds, one.TokenIds);
        Assert.Empty(one.Anchors);
        // A low threshold does insert copies, and they change the logits: the comparison above can fail.
        Assert.NotEmpty(on.Anchors);
        Assert.Equal(on.BaselineSequenceLength + on.Anchors.Count, on.SequenceLength);
        Assert.NotEqual(off.FirstLogits, on.FirstLogits);
    }

    public static TheoryData<string> FixtureNamesData => [.. Fixtures.Names];
}
