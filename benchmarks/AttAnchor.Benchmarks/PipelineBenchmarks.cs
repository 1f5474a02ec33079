using AttAnchor;
using AttAnchor.OnnxRuntime;
using BenchmarkDotNet.Attributes;

/// <summary>
/// The whole answer on the committed fixture models/fixtures/tiny-336-gqa (CPU), at two answer lengths:
/// the difference between them, divided by the extra tokens, is the steady-state cost of one decode step
/// in time and in managed allocation (all threads, as MemoryDiagnoser counts it).
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private VisionLanguageModel _model = null!;
    private ModelImage _image = null!;

    /// <summary>AttAnchor off, or text-into-image at the fixture's τ = 0.12.</summary>
    [Params(false, true)]
    public bool Anchoring { get; set; }

    /// <summary>Generated tokens (the fixture never produces EOS on this prompt within 40 tokens).</summary>
    [Params(8, 40)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = VisionLanguageModel.Open(PipelineReport.FixtureFolder(), new ModelOptions { Device = DevicePreference.Cpu });
        _image = _model.LoadImage(PipelineReport.ImagePath());
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark(Description = "answer")]
    public async Task<int> Answer()
    {
        var options = new GenerationOptions { MaxNewTokens = Tokens, Anchoring = Anchoring ? AttAnchorOptions.Default : AttAnchorOptions.Off };
        VqaResult result = await _model.AnswerAsync(_image, PipelineReport.Question, options);
        return result.TokenIds.Count == Tokens ? result.SequenceLength : throw new InvalidOperationException($"stopped after {result.TokenIds.Count} tokens ({result.StopReason})");
    }
}
