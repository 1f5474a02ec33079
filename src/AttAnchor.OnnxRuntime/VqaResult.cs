using System.Globalization;

namespace AttAnchor.OnnxRuntime;

/// <summary>Why generation stopped.</summary>
public enum StopReason
{
    /// <summary>The model produced its end-of-sequence token (<c>eos</c>).</summary>
    EndOfSequence,

    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> tokens were generated (<c>length</c>).</summary>
    MaxNewTokens,

    /// <summary>The answer reached one of <see cref="GenerationOptions.StopStrings"/> (<c>stop_string</c>).</summary>
    StopString,
}

/// <summary>
/// One token the AttAnchor plan copied: which text token, which image patch, how similar. In
/// text-into-image mode the text token's copy follows the patch; in image-into-text mode the patch's copy
/// follows the text token.
/// </summary>
/// <param name="Direction">The plan's direction.</param>
/// <param name="TextIndex">The text token's index among the candidates (counted from 0).</param>
/// <param name="TextPosition">The text token's position among the tokens after <c>&lt;image&gt;</c>.</param>
/// <param name="TokenId">The text token's id.</param>
/// <param name="Token">The text token's SentencePiece piece, e.g. <c>▁dog</c>.</param>
/// <param name="PatchIndex">The image patch, 0 … M − 1, row-major over the patch grid.</param>
/// <param name="PatchRow">The patch's row in the grid.</param>
/// <param name="PatchColumn">The patch's column in the grid.</param>
/// <param name="Similarity">The cosine similarity of the text token's and the patch's embeddings.</param>
public sealed record AnchorInfo(
    AnchorDirection Direction,
    int TextIndex,
    int TextPosition,
    int TokenId,
    string Token,
    int PatchIndex,
    int PatchRow,
    int PatchColumn,
    float Similarity);

/// <summary>Where the time of one answer went. Stages run one after the other; <see cref="Total"/> is the whole answer.</summary>
/// <remarks>
/// An answer from an <see cref="ImageSession"/> (<see cref="VqaResult.FromImageSession"/>) reports zero
/// <see cref="Preprocess"/>, <see cref="Vision"/> and <see cref="Projector"/>: the image was encoded once, when the
/// session opened, and the session's own properties hold those times. Its <see cref="Prefill"/> covers the positions
/// after the reused prefix, the copy of the reused cache, and, on the session's first answer, the shared prefix's
/// prefill (<see cref="SharedPrefill"/>).
/// </remarks>
/// <param name="Preprocess">Resize, crop and normalise the image.</param>
/// <param name="Vision">The vision encoder.</param>
/// <param name="Projector">The projector (zero without one).</param>
/// <param name="Embed">Tokenize the prompt and embed its tokens.</param>
/// <param name="Anchor">AttAnchor: similarities, plan and the regrouped sequence.</param>
/// <param name="Prefill">The decoder on the prompt sequence (from an image session: the part after the reused prefix), up to the first token.</param>
/// <param name="Decode">The decode steps after the first token, each embedding one token and running the decoder once.</param>
/// <param name="DecodeSteps">How many decode steps <see cref="Decode"/> covers.</param>
/// <param name="Total">From the call to the last token.</param>
public sealed record StageTimings(
    TimeSpan Preprocess,
    TimeSpan Vision,
    TimeSpan Projector,
    TimeSpan Embed,
    TimeSpan Anchor,
    TimeSpan Prefill,
    TimeSpan Decode,
    int DecodeSteps,
    TimeSpan Total)
{
    /// <summary>
    /// The part of <see cref="Prefill"/> that computed an <see cref="ImageSession"/>'s shared prefix cache (prefix tokens
    /// and image block) for this and the session's later answers: nonzero only on a session's first answer.
    /// </summary>
    public TimeSpan SharedPrefill { get; init; }

    /// <summary>The mean time of one decode step; zero when there was none.</summary>
    public TimeSpan DecodePerToken => DecodeSteps > 0 ? Decode / DecodeSteps : TimeSpan.Zero;

    /// <summary>The stages in milliseconds, one per line.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"preprocess {Preprocess.TotalMilliseconds:F1} ms, vision {Vision.TotalMilliseconds:F1} ms, projector {Projector.TotalMilliseconds:F1} ms, embed {Embed.TotalMilliseconds:F1} ms, anchor {Anchor.TotalMilliseconds:F1} ms, prefill {Prefill.TotalMilliseconds:F1} ms, decode {Decode.TotalMilliseconds:F1} ms ({DecodeSteps} steps), total {Total.TotalMilliseconds:F1} ms");
}

/// <summary>A finished answer: the text and tokens, why it stopped, what AttAnchor did and where the time went.</summary>
public sealed record VqaResult
{
    /// <summary>The answer, as SentencePiece decodes the generated tokens (ending before a stop string, if one was hit).</summary>
    public required string Text { get; init; }

    /// <summary>The generated tokens, the EOS that ended the answer included.</summary>
    public required IReadOnlyList<int> TokenIds { get; init; }

    /// <summary>Why generation stopped.</summary>
    public required StopReason StopReason { get; init; }

    /// <summary>The prompt's tokens (prefix with BOS, and the text after the image); the image rows are not counted.</summary>
    public required int PromptTokenCount { get; init; }

    /// <summary>The prefill sequence's length: prefix, image rows, text and AttAnchor's copies.</summary>
    public required int SequenceLength { get; init; }

    /// <summary>The plain LLaVA sequence's length, without AttAnchor's copies.</summary>
    public required int BaselineSequenceLength { get; init; }

    /// <summary>The AttAnchor settings used.</summary>
    public required AttAnchorOptions Anchoring { get; init; }

    /// <summary>The copies AttAnchor inserted, in sequence order.</summary>
    public required IReadOnlyList<AnchorInfo> Anchors { get; init; }

    /// <summary>Where the time went.</summary>
    public required StageTimings Timings { get; init; }

    /// <summary>The device the graphs ran on.</summary>
    public required DeviceInfo Device { get; init; }

    /// <summary>
    /// Whether the answer came from an <see cref="ImageSession"/>: the image was encoded when the session opened, so
    /// <see cref="Timings"/> has zero preprocess, vision and projector time.
    /// </summary>
    public bool FromImageSession { get; init; }

    /// <summary>
    /// How many leading positions of the prefill sequence had their KV cache copied from the <see cref="ImageSession"/>'s
    /// shared prefix instead of computed for this answer; the decoder prefilled the other
    /// <see cref="SequenceLength"/> − <see cref="ReusedPrefixLength"/>. Zero for <see cref="VisionLanguageModel.Answer"/>.
    /// </summary>
    public int ReusedPrefixLength { get; init; }

    /// <summary>Tests: the logits at the last prompt position, when <see cref="GenerationOptions.CaptureFirstLogits"/> asked for them.</summary>
    internal float[]? FirstLogits { get; init; }
}
