using System.Collections.Concurrent;
using AttAnchor.OnnxRuntime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// The library's logging: silent by default; with a logger factory, the device decision and its reason, each
/// model-folder check, and each answer's AttAnchor copies, at the documented levels.
/// </summary>
public sealed class LoggingTests
{
    private const string Category = "AttAnchor.OnnxRuntime.VisionLanguageModel";

    [Fact]
    public void TheDefault_IsSilent()
    {
        Assert.Same(NullLoggerFactory.Instance, ModelOptions.Default.LoggerFactory);
        Assert.Same(NullLoggerFactory.Instance, new ModelOptions { Device = DevicePreference.Cpu }.LoggerFactory);
        Assert.Throws<ArgumentNullException>(() => new ModelOptions { LoggerFactory = null! });
    }

    [Fact]
    public async Task OpeningAndAnswering_LogTheDecisions()
    {
        var logs = new ListLoggerFactory(LogLevel.Trace);
        string folder = ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained);
        using var model = VisionLanguageModel.Open(folder, Pipelines.Cpu with { LoggerFactory = logs });

        Assert.All(logs.Entries, e => Assert.Equal(Category, e.Category));
        Entry device = logs.Single(4);
        Assert.Equal(LogLevel.Information, device.Level);
        Assert.Equal("Execution provider: cpu (asked for)", device.Message);
        Assert.Contains("attanchor.json", logs.Single(1).Message, StringComparison.Ordinal);
        Assert.Contains("text-into-image, τ = 0.164", logs.Single(1).Message, StringComparison.Ordinal);
        Assert.Contains("BOS 1 and EOS 2 agree", logs.Single(2).Message, StringComparison.Ordinal);
        Assert.Contains("decoder_model_merged.onnx", logs.Single(3).Message, StringComparison.Ordinal);
        Entry opened = logs.Single(6);
        Assert.Equal(LogLevel.Information, opened.Level);
        Assert.Contains("49 image tokens (7 × 7)", opened.Message, StringComparison.Ordinal);
        Assert.Equal([1, 2, 4, 3, 6], logs.Entries.Select(e => e.EventId));

        VqaResult result = await model.AnswerAsync(model.LoadImage(ShapesModel.ExampleImage), "What color is the circle?");
        int candidates = model.Prompts.Build("What color is the circle?").TextIds.Length; // every text token after <image> (the spec's default)
        Entry planned = logs.Single(10);
        Assert.Equal(LogLevel.Debug, planned.Level);
        Assert.Equal($"AttAnchor text-into-image, τ = 0.164: {result.Anchors.Count} copies of {candidates} candidate tokens; sequence {result.BaselineSequenceLength} -> {result.SequenceLength} positions", planned.Message);
        Entry[] copies = [.. logs.Entries.Where(e => e.EventId == 11)];
        Assert.Equal(result.Anchors.Count, copies.Length);
        Assert.All(copies, c => Assert.Equal(LogLevel.Trace, c.Level));
        Assert.Contains($"{result.Anchors[0].Token} (text {result.Anchors[0].TextIndex}) -> patch {result.Anchors[0].PatchIndex}", copies[0].Message, StringComparison.Ordinal);
        Assert.StartsWith($"Answered: {result.TokenIds.Count} tokens, stopped by EndOfSequence; preprocess", logs.Single(12).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMinimumLevel_IsRespected()
    {
        var logs = new ListLoggerFactory(LogLevel.Information);
        using var model = VisionLanguageModel.Open(ShapesModel.ModelFolder(ShapesModel.Baseline), Pipelines.Cpu with { LoggerFactory = logs });
        await model.AnswerAsync(model.LoadImage(ShapesModel.ExampleImage), "Is there a red circle?");
        Assert.Equal([4, 6], logs.Entries.Select(e => e.EventId));
    }

    [Fact]
    public async Task AnswerWithAnchoringOff_LogsOff()
    {
        var logs = new ListLoggerFactory(LogLevel.Debug);
        using var model = VisionLanguageModel.Open(ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), Pipelines.Cpu with { LoggerFactory = logs });
        await model.AnswerAsync(model.LoadImage(ShapesModel.ExampleImage), "What color is the circle?", new GenerationOptions { Anchoring = AttAnchorOptions.Off });
        Assert.StartsWith("AttAnchor off: 0 copies", logs.Single(10).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailedOpen_LogsNothingAfterTheFailedCheck()
    {
        var logs = new ListLoggerFactory(LogLevel.Trace);
        string folder = Directory.CreateTempSubdirectory("attanchor-log").FullName;
        try
        {
            File.Copy(Path.Combine(ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), "attanchor.json"), Path.Combine(folder, "attanchor.json"));
            Assert.Throws<FileNotFoundException>(() => VisionLanguageModel.Open(folder, Pipelines.Cpu with { LoggerFactory = logs }));
            Assert.Equal([1], logs.Entries.Select(e => e.EventId));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void TheStagesWarmUp_PlansEverySyntheticPair_AndLogsNothing()
    {
        var logs = new ListLoggerFactory(LogLevel.Trace);
        using var model = VisionLanguageModel.Open(ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), Pipelines.Cpu with { LoggerFactory = logs });
        Assert.True(PlanningWarmUp.Started); // an open starts it, once per process
        int before = logs.Entries.Count;

        RegroupedSequence warm = model.Regrouper.WarmUp();

        Assert.Equal(5, warm.Plan.CandidatePositions.Count); // no special token among the synthetic ids
        Assert.Equal(5, warm.Anchors.Count);                  // τ = −1: each text row is copied after its best patch
        Assert.Equal(1 + 5 + 5 + 5, warm.Length);
        Assert.Equal(before, logs.Entries.Count);             // no "Planned" or "copy" entries for a prompt nobody asked
    }

    [Fact]
    public void AFailingWarmUp_IsLoggedAtDebug_AndDoesNotThrow()
    {
        var logs = new ListLoggerFactory(LogLevel.Debug);
        using var model = VisionLanguageModel.Open(ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), Pipelines.Cpu);
        var broken = new Regrouper(model.Config, null!, logs.CreateLogger(Category)); // no tokenizer: the warm-up throws

        PlanningWarmUp.Run(broken, logs.CreateLogger(Category));

        Entry failed = logs.Single(15);
        Assert.Equal(LogLevel.Debug, failed.Level);
        Assert.Contains("warm-up failed", failed.Message, StringComparison.Ordinal);
    }

    private sealed record Entry(string Category, LogLevel Level, int EventId, string Message);

    /// <summary>Keeps every entry at or above a level, in order.</summary>
    private sealed class ListLoggerFactory(LogLevel minimum) : ILoggerFactory
    {
        private readonly ConcurrentQueue<Entry> _entries = new();

        public IReadOnlyList<Entry> Entries => [.. _entries];

        public Entry Single(int eventId) => Assert.Single(_entries, e => e.EventId == eventId);

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private sealed class Logger(ListLoggerFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimumLevel;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    owner._entries.Enqueue(new Entry(category, logLevel, eventId.Id, formatter(state, exception)));
                }
            }
        }

        private readonly LogLevel _minimumLevel = minimum;
    }
}
