using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace AttAnchor.Vqa;

/// <summary>
/// The console's numeric options, each with a documented range (docs/spec/vqa-cli.md) checked while the command line
/// is parsed, so before any model, image or data file is opened: a value outside it, a value that is not a number, and
/// NaN or infinity for a decimal option are usage errors that name the option, the range and the value given.
/// </summary>
internal static class NumericOption
{
    /// <summary>The most ONNX Runtime threads per operator: a million threads would hang the process and take gigabytes.</summary>
    public const int MaxThreads = 256;

    /// <summary>The most tokens an answer may ask for; every model's context is smaller.</summary>
    public const int MaxNewTokens = 32_768;

    /// <summary>The highest sampling temperature.</summary>
    public const float MaxTemperature = 100f;

    /// <summary>The largest top-k: more than any vocabulary has.</summary>
    public const int MaxTopK = 1_000_000;

    /// <summary>The highest repetition penalty.</summary>
    public const float MaxRepetitionPenalty = 100f;

    /// <summary>The highest <c>--max-pixels</c>: a decoded RGBA image of this many pixels still fits one .NET array.</summary>
    public const long MaxPixels = 500_000_000;

    /// <summary>The highest <c>eval --limit</c>.</summary>
    public const int MaxLimit = 10_000_000;

    /// <summary>The most seconds <c>eval --progress-interval</c> may ask between two progress lines: an hour.</summary>
    public const int MaxProgressInterval = 3600;

    /// <summary>The AttAnchor threshold's range: a cosine similarity's; 1 inserts nothing.</summary>
    public const float MinThreshold = -1f, MaxThreshold = 1f;

    /// <summary>An integer option whose values must lie in <paramref name="min"/>..<paramref name="max"/>; <paramref name="note"/> (may be empty) follows the range in the message.</summary>
    public static Option<int> Int(string name, int min, int max, int defaultValue, string note = "") => new(name)
    {
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => (int)ParseWhole(result, name, min, max, note),
    };

    /// <summary>An optional integer option whose values must lie in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static Option<int?> OptionalInt(string name, int min, int max, string note = "") => new(name)
    {
        CustomParser = result => (int)ParseWhole(result, name, min, max, note),
    };

    /// <summary>A 64-bit integer option whose values must lie in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static Option<long> Long(string name, long min, long max, long defaultValue, string note = "") => new(name)
    {
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseWhole(result, name, min, max, note),
    };

    /// <summary>A decimal option whose values must be finite and lie in the interval given (<paramref name="minOpen"/>: the minimum itself is refused).</summary>
    public static Option<float> Float(string name, float min, bool minOpen, float max, float defaultValue, string note = "") => new(name)
    {
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseDecimal(result, name, min, minOpen, max, note),
    };

    /// <summary>An optional decimal option whose values must be finite and lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<float?> OptionalFloat(string name, float min, float max, string note = "") => new(name)
    {
        CustomParser = result => ParseDecimal(result, name, min, false, max, note),
    };

    /// <summary>The range as messages and help write it: <c>0..256</c>.</summary>
    public static string WholeRange(long min, long max) => string.Create(CultureInfo.InvariantCulture, $"{min}..{max}");

    /// <summary>The interval as messages and help write it: <c>(0, 1]</c> or <c>[0, 100]</c>.</summary>
    public static string DecimalRange(float min, bool minOpen, float max) =>
        string.Create(CultureInfo.InvariantCulture, $"{(minOpen ? "(" : "[")}{min}, {max}]");

    /// <summary>Parses a whole number in range; on failure adds the error to the result (the caller's default is then ignored).</summary>
    public static long ParseWhole(ArgumentResult result, string name, long min, long max, string note)
    {
        string range = WholeRange(min, max) + (note.Length > 0 ? $" ({note})" : string.Empty);
        string? text = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
        if (text is null || !long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            result.AddError($"{name} must be a whole number in {range}; got '{Shown(text)}'.");
            return min;
        }

        if (value < min || value > max)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be in {range}; got {value}."));
            return min;
        }

        return value;
    }

    /// <summary>Parses a finite decimal number in range; on failure adds the error to the result.</summary>
    public static float ParseDecimal(ArgumentResult result, string name, float min, bool minOpen, float max, string note)
    {
        string range = DecimalRange(min, minOpen, max) + (note.Length > 0 ? $" ({note})" : string.Empty);
        string? text = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
        if (text is null || !float.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
        {
            result.AddError($"{name} must be a number in {range}; got '{Shown(text)}'.");
            return min;
        }

        if (!float.IsFinite(value))
        {
            result.AddError($"{name} must be a finite number in {range}; got {Shown(text)}.");
            return min;
        }

        if (value < min || (minOpen && value == min) || value > max)
        {
            result.AddError($"{name} must be in {range}; got {Shown(text)}.");
            return min;
        }

        return value;
    }

    /// <summary>A value as given, cut short and on one line, for a message.</summary>
    private static string Shown(string? text)
    {
        if (text is null)
        {
            return string.Empty;
        }

        string line = new([.. text.Select(c => char.IsControl(c) ? '?' : c)]);
        return line.Length <= 40 ? line : string.Concat(line.AsSpan(0, 40), "…");
    }
}
