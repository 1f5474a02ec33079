using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// models/shapes/attanchor-q4: the AttAnchor shapes model with its decoder's MatMul weights rewritten to ONNX Runtime's
/// 4-bit <c>MatMulNBits</c> by <c>tools/python/quantize.py</c>. ONNX Runtime's C# runtime opens and runs it through the
/// library, and it answers the README example's questions as the float model does (the evaluator's sample floor
/// for it is in <see cref="ShapesModelTests"/>).
/// </summary>
public sealed class QuantizedShapesModelTests
{
    private static string FourBit => ShapesModel.ModelFolder(ShapesModel.AttAnchorFourBit);

    private static string Float => ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained);

    [Fact]
    public void OnlyTheDecoderDiffers_AndItIsAFifthOfItsFloatSize()
    {
        foreach (string file in (string[])["attanchor.json", "tokenizer.model", "vision_encoder.onnx", "projector.onnx", "embed_tokens.onnx"])
        {
            Assert.True(File.ReadAllBytes(Path.Combine(Float, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(FourBit, file))), $"{file} should be the float model's");
        }

        long quantised = new FileInfo(Path.Combine(FourBit, "decoder_model_merged.onnx")).Length;
        long original = new FileInfo(Path.Combine(Float, "decoder_model_merged.onnx")).Length;
        Assert.InRange((double)quantised / original, 0.1, 0.25);
    }

    [Theory]
    [MemberData(nameof(ShapesModelTests.ExampleQuestions), MemberType = typeof(ShapesModelTests))]
    public async Task AnswersEveryExampleQuestion_AsTheFloatModelDoes(string category, string question, string answer)
    {
        VisionLanguageModel quantised = ShapesModel.Get(ShapesModel.AttAnchorFourBit);
        VisionLanguageModel original = ShapesModel.Get(ShapesModel.AttAnchorTrained);
        VqaResult q4 = await quantised.AnswerAsync(quantised.LoadImage(ShapesModel.ExampleImage), question);
        VqaResult fp32 = await original.AnswerAsync(original.LoadImage(ShapesModel.ExampleImage), question);

        Assert.True(answer == q4.Text, $"{category}: '{question}' → '{q4.Text}', expected '{answer}'");
        Assert.Equal(fp32.Text, q4.Text);
        Assert.Equal(fp32.Anchors.Select(a => (a.TokenId, a.PatchIndex)), q4.Anchors.Select(a => (a.TokenId, a.PatchIndex))); // vision, projector and embeddings are the float ones
    }
}
