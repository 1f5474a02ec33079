namespace AttAnchor.OnnxRuntime;

/// <summary>
/// The ranges of the generation options, defined once: <see cref="GenerationOptions"/>, the sampler and the chat
/// client check their values here and word their errors with these rules.
/// </summary>
internal static class SamplingRanges
{
    public const string MaxNewTokensRule = "must be at least 1";
    public const string TemperatureRule = "must be 0 (greedy) or a positive finite number";
    public const string TopKRule = "must be 0 (off) or a positive number of tokens";
    public const string TopPRule = "must be in (0, 1] (1 is off)";
    public const string RepetitionPenaltyRule = "must be a positive finite number (1 is off)";

    public static bool IsMaxNewTokens(long value) => value > 0;

    public static bool IsTemperature(float value) => value >= 0 && float.IsFinite(value);

    public static bool IsTopK(int value) => value >= 0;

    public static bool IsTopP(float value) => value > 0 && value <= 1;

    public static bool IsRepetitionPenalty(double value) => value > 0 && double.IsFinite(value);
}
