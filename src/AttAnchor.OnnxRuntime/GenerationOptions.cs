namespace AttAnchor.OnnxRuntime;

/// <summary>
/// How to generate an answer: length, sampling, stop strings and the AttAnchor settings. The defaults are
/// greedy decoding, 64 new tokens, and the AttAnchor settings of the model's <c>attanchor.json</c>.
/// </summary>
/// <remarks>
/// The logits go through, in this order: repetition penalty, then (when <see cref="Temperature"/> &gt; 0)
/// temperature, top-k, top-p and a draw from a <see cref="Random"/> seeded with <see cref="Seed"/>, as
/// Hugging Face transformers' <c>generate</c> does. Temperature 0 is greedy: the highest logit, ties to the lowest id.
/// See docs/decoding.md.
/// </remarks>
/// <example>
/// <code>
/// var greedy = new GenerationOptions { MaxNewTokens = 32 };
/// var sampled = greedy with { Temperature = 0.7f, TopP = 0.9f, Seed = 42 };
/// var plain = greedy with { Anchoring = AttAnchorOptions.Off };   // the plain LLaVA sequence
/// </code>
/// </example>
public sealed record GenerationOptions
{
    /// <summary>The defaults: greedy, 64 new tokens, the model's AttAnchor settings.</summary>
    public static GenerationOptions Default { get; } = new();

    /// <summary>The most tokens to generate, the EOS included. Default 64.</summary>
    public int MaxNewTokens
    {
        get;
        init => field = SamplingRanges.IsMaxNewTokens(value) ? value : throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), value, $"MaxNewTokens {SamplingRanges.MaxNewTokensRule}.");
    } = 64;

    /// <summary>Sampling temperature; 0 (the default) is greedy decoding.</summary>
    public float Temperature
    {
        get;
        init => field = SamplingRanges.IsTemperature(value) ? value : throw new ArgumentOutOfRangeException(nameof(Temperature), value, $"Temperature {SamplingRanges.TemperatureRule}.");
    }

    /// <summary>Keep only the k most likely tokens before sampling; 0 (the default) keeps all.</summary>
    public int TopK
    {
        get;
        init => field = SamplingRanges.IsTopK(value) ? value : throw new ArgumentOutOfRangeException(nameof(TopK), value, $"TopK {SamplingRanges.TopKRule}.");
    }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 (the default) keeps all.</summary>
    public float TopP
    {
        get;
        init => field = SamplingRanges.IsTopP(value) ? value : throw new ArgumentOutOfRangeException(nameof(TopP), value, $"TopP {SamplingRanges.TopPRule}.");
    } = 1f;

    /// <summary>The seed of the sampler's random numbers; the same seed gives the same answer. Null (the default): a random seed.</summary>
    public int? Seed { get; init; }

    /// <summary>Divides the positive logits (multiplies the negative ones) of tokens already in the prompt or the answer; 1 (the default) is off.</summary>
    public float RepetitionPenalty
    {
        get;
        init => field = SamplingRanges.IsRepetitionPenalty(value) ? value : throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), value, $"RepetitionPenalty {SamplingRanges.RepetitionPenaltyRule}.");
    } = 1f;

    /// <summary>Generation stops when the answer contains one of these; the answer ends before it. Default none.</summary>
    public IReadOnlyList<string> StopStrings
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(StopStrings));
            field = value.Any(string.IsNullOrEmpty)
                ? throw new ArgumentException("Stop strings must not be null or empty.", nameof(StopStrings))
                : [.. value];
        }
    } = [];

    /// <summary>The AttAnchor settings; null (the default) takes the model's <c>attanchor.json</c>. <see cref="AttAnchorOptions.Off"/> gives the plain LLaVA sequence.</summary>
    public AttAnchorOptions? Anchoring { get; init; }

    /// <summary>Tests: keep a copy of the first-step logits in <see cref="VqaResult.FirstLogits"/>.</summary>
    internal bool CaptureFirstLogits { get; init; }
}
