using AttAnchor.GraphCheck;
using AttAnchor.OnnxRuntime;
using AttAnchor.Vqa.Eval;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// Decoders rebuilt by <c>tools/python/fuse.py</c> (GroupQueryAttention, fused projections): the committed
/// <c>models/fixtures/tiny-336-gqa-fused</c> (GroupQueryAttention), <c>tiny-336-gqa-fused-matmul</c> (grouped attention in
/// standard operators) and <c>models/shapes/attanchor-fused</c> run through the library and
/// answer as the exported graphs they were built from do, with and without AttAnchor copies (which move every
/// later position, so the fused attention's positions must follow the cache exactly).
/// </summary>
public sealed class FusedDecoderTests
{
    private const string Exported = "tiny-336-gqa";
    private const string Fused = "tiny-336-gqa-fused";
    private const string FusedMatMul = "tiny-336-gqa-fused-matmul";

    /// <summary>Float32 against float32 with a different summation order: 1e-4 absolute plus 1e-4 relative.</summary>
    private const float Tolerance = 1e-4f;

    private static string FusedShapes => ShapesModel.ModelFolder("attanchor-fused");

    /// <summary>Each fused fixture with anchoring settings that copy nothing, several tokens into the image, and patches into the text.</summary>
    public static TheoryData<string, string, string, string> Settings
    {
        get
        {
            var data = new TheoryData<string, string, string, string>();
            foreach (string folder in (string[])[Fused, FusedMatMul])
            {
                data.Add(folder, "square.png", "off", "What color is the circle?");
                data.Add(folder, "square.png", "text-into-image:0.05", "What color is the circle?");
                data.Add(folder, "wide.png", "text-into-image:-1", "Is there a red square in the picture?");
                data.Add(folder, "square.png", "image-into-text:0.3", "What color is the circle?");
                data.Add(folder, "tall.png", "image-into-text:0.4", "How many shapes are there?");
            }

            return data;
        }
    }

    [Theory]
    [InlineData(Fused, false)]        // GroupQueryAttention counts positions from the cache
    [InlineData(FusedMatMul, true)]   // RotaryEmbedding takes them
    public void The_fused_decoder_declares_the_spec_inputs(string folder, bool positionIds)
    {
        using var session = new InferenceSession(Path.Combine(Fixtures.FixturesFolder, folder, "decoder_model_merged.onnx"));
        using var exported = new InferenceSession(Path.Combine(Fixtures.FixturesFolder, Exported, "decoder_model_merged.onnx"));

        Assert.Equal(positionIds, session.InputMetadata.ContainsKey("position_ids"));
        Assert.Equal(exported.InputMetadata.Keys.Where(k => positionIds || k != "position_ids").Order(), session.InputMetadata.Keys.Order());
        Assert.Equal(exported.OutputMetadata.Keys.Order(), session.OutputMetadata.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public async Task The_fused_fixtures_answer_as_the_exported_one(string folder, string image, string setting, string question)
    {
        VisionLanguageModel exported = Pipelines.Get(Exported);
        VisionLanguageModel fused = Pipelines.Get(folder);
        GenerationOptions options = new() { MaxNewTokens = 8, Anchoring = EvalConfig.Parse(setting).Anchoring, CaptureFirstLogits = true }; // the evaluator's --config forms

        VqaResult expected = await exported.AnswerAsync(exported.LoadImage(Pipelines.ImagePath(image)), question, options);
        VqaResult actual = await fused.AnswerAsync(fused.LoadImage(Pipelines.ImagePath(image)), question, options);

        Assert.Equal(setting == "off", actual.Anchors.Count == 0);
        Assert.Equal(expected.SequenceLength, actual.SequenceLength);
        Assert.Equal(expected.Anchors.Select(a => (a.TokenId, a.PatchIndex, a.Direction)), actual.Anchors.Select(a => (a.TokenId, a.PatchIndex, a.Direction)));
        AssertClose(expected.FirstLogits!, actual.FirstLogits!);
        Assert.Equal(expected.TokenIds, actual.TokenIds);
    }

    [Theory]
    [InlineData(Fused)]
    [InlineData(FusedMatMul)]
    public async Task Copies_move_later_positions_in_the_fused_decoder_too(string folder)
    {
        // The same question with and without copies must differ in the fused decoder as in the exported one: a fused graph
        // that ignored the cache's positions (or the copies) would give equal logits where the exported gives different ones.
        VisionLanguageModel fused = Pipelines.Get(folder);
        VisionLanguageModel exported = Pipelines.Get(Exported);
        const string Question = "Is there a red square in the picture?";
        var off = new GenerationOptions { MaxNewTokens = 1, Anchoring = AttAnchorOptions.Off, CaptureFirstLogits = true };
        var all = new GenerationOptions { MaxNewTokens = 1, Anchoring = new AttAnchorOptions { Threshold = -1f }, CaptureFirstLogits = true };

        float[] fusedOff = (await fused.AnswerAsync(fused.LoadImage(Pipelines.ImagePath("wide.png")), Question, off)).FirstLogits!;
        VqaResult fusedAll = await fused.AnswerAsync(fused.LoadImage(Pipelines.ImagePath("wide.png")), Question, all);
        float[] exportedAll = (await exported.AnswerAsync(exported.LoadImage(Pipelines.ImagePath("wide.png")), Question, all)).FirstLogits!;

        Assert.NotEmpty(fusedAll.Anchors);
        Assert.True(fusedOff.Zip(fusedAll.FirstLogits!).Max(p => Math.Abs(p.First - p.Second)) > 1e-2f, "the copies changed nothing");
        AssertClose(exportedAll, fusedAll.FirstLogits!);
    }

    [Fact]
    public void The_fused_shapes_decoder_agrees_with_PyTorch_on_every_case_it_takes()
    {
        using var suite = GraphCheckSuite.Load(FusedShapes);
        using var exported = GraphCheckSuite.Load(ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained));
        GraphCheckResult[] results = [.. suite.RunAll()];

        Assert.All(results, r => Assert.True(r.Passed, r.ToString()));
        // tools/python/fuse.py leaves out only the left-padded batch: GroupQueryAttention takes a mask of ones.
        string[] missing = [.. exported.Cases.Select(c => c.Name).Except(suite.Cases.Select(c => c.Name))];
        Assert.Equal(["decoder: batch 2, past 5, sequence 4, left padding in row 1, keep 2 logits"], missing);
    }

    [Theory]
    [MemberData(nameof(ShapesModelTests.ExampleQuestions), MemberType = typeof(ShapesModelTests))]
    public async Task The_fused_shapes_model_answers_every_example_question_as_the_exported_one(string category, string question, string answer)
    {
        VisionLanguageModel fused = ShapesModel.Get("attanchor-fused");
        VisionLanguageModel exported = ShapesModel.Get(ShapesModel.AttAnchorTrained);
        var options = new GenerationOptions { CaptureFirstLogits = true };

        VqaResult expected = await exported.AnswerAsync(exported.LoadImage(ShapesModel.ExampleImage), question, options);
        VqaResult actual = await fused.AnswerAsync(fused.LoadImage(ShapesModel.ExampleImage), question, options);

        Assert.True(answer == actual.Text, $"{category}: '{question}' → '{actual.Text}', expected '{answer}'");
        Assert.Equal(expected.TokenIds, actual.TokenIds);
        Assert.Equal(expected.Anchors.Select(a => (a.TokenId, a.PatchIndex)), actual.Anchors.Select(a => (a.TokenId, a.PatchIndex)));
        AssertClose(expected.FirstLogits!, actual.FirstLogits!);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float bound = Tolerance + (Tolerance * Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= bound, $"logit {i}: exported {expected[i]}, fused {actual[i]} (bound {bound})");
        }
    }
}
