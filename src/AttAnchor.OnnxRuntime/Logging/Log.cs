using Microsoft.Extensions.Logging;

namespace AttAnchor.OnnxRuntime.Logging;

/// <summary>
/// What the library logs, and at which level. Everything goes to the <see cref="ILogger"/> of
/// <see cref="ModelOptions.LoggerFactory"/> under the category <c>AttAnchor.OnnxRuntime.VisionLanguageModel</c>;
/// with the default (<c>NullLoggerFactory</c>) nothing is written.
/// </summary>
/// <remarks>
/// Information: the device chosen and why, and the opened model. Warning: CUDA was present but did not
/// load, so the model fell back to the CPU. Debug: each model-folder check, each answer's AttAnchor plan and
/// timings. Trace: each inserted copy.
/// </remarks>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "{Path}: {Description}; template \"{Template}\"; AttAnchor {Anchoring}")]
    public static partial void ConfigRead(ILogger logger, string path, string description, string template, string anchoring);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "{Path}: {Pieces} pieces (vocab_size {VocabSize}), BOS {Bos} and EOS {Eos} agree with attanchor.json; tokenizer_check.json {CheckFile}")]
    public static partial void TokenizerChecked(ILogger logger, string path, int pieces, int vocabSize, int bos, int eos, string checkFile);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Graphs checked against attanchor.json and each other: {Graphs}")]
    public static partial void GraphsChecked(ILogger logger, string graphs);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Execution provider: {Device} ({Reason})")]
    public static partial void DeviceChosen(ILogger logger, string device, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "CUDA did not load, running on the CPU instead: {Reason}")]
    public static partial void CudaFellBack(ILogger logger, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Opened {Folder} in {Milliseconds:F0} ms: {Description}, on {Device}")]
    public static partial void Opened(ILogger logger, string folder, double milliseconds, string description, string device);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "AttAnchor {Anchoring}: {Copies} copies of {Candidates} candidate tokens; sequence {Baseline} -> {Length} positions")]
    public static partial void Planned(ILogger logger, string anchoring, int copies, int candidates, int baseline, int length);

    [LoggerMessage(EventId = 11, Level = LogLevel.Trace, Message = "AttAnchor copy: {Token} (text {TextIndex}) -> patch {Patch} (row {Row}, col {Column}), similarity {Similarity:F4}")]
    public static partial void Copied(ILogger logger, string token, int textIndex, int patch, int row, int column, float similarity);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "Answered: {Tokens} tokens, stopped by {StopReason}; {Timings}")]
    public static partial void Answered(ILogger logger, int tokens, StopReason stopReason, StageTimings timings);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "Image session: prefilled the shared prefix ({Positions} positions) once, in {Milliseconds:F1} ms")]
    public static partial void SharedPrefixBuilt(ILogger logger, int positions, double milliseconds);

    [LoggerMessage(EventId = 14, Level = LogLevel.Debug, Message = "Image session: reusing {Reused} of {Length} positions from the shared prefix's KV cache")]
    public static partial void PrefixReused(ILogger logger, int reused, int length);

    [LoggerMessage(EventId = 15, Level = LogLevel.Debug, Message = "The AttAnchor stage's warm-up failed; the first answer compiles it instead")]
    public static partial void WarmUpFailed(ILogger logger, Exception exception);

    /// <summary>The AttAnchor settings as logs and reports write them: <c>text-into-image, τ = 0.12</c> or <c>off</c>.</summary>
    public static string Describe(AttAnchorOptions options) => options.IsIdentity
        ? (options.Enabled ? FormattableString.Invariant($"off (τ = {options.Threshold:G4})") : "off")
        : FormattableString.Invariant($"{AttAnchorOptions.GetDirectionName(options.Direction)}, τ = {options.Threshold:G4}");
}
