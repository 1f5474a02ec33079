using System.Globalization;

namespace AttAnchor.Vqa.Eval;

/// <summary>
/// One <c>--config</c> of the evaluator: which AttAnchor setting a run uses. <c>off</c> is plain LLaVA,
/// <c>default</c> the model folder's <c>attanchor.json</c>, <c>X</c> text-into-image at τ = X, and
/// <c>text-into-image:X</c> or <c>image-into-text:X</c> a direction and τ.
/// </summary>
/// <param name="Argument">The <c>--config</c> value as given.</param>
/// <param name="Anchoring">The settings, or null for the model's own defaults.</param>
internal sealed record EvalConfig(string Argument, AttAnchorOptions? Anchoring)
{
    /// <summary>The accepted forms, for messages and help.</summary>
    public const string Forms = "off, default, X (text-into-image at τ = X), text-into-image:X or image-into-text:X";

    /// <summary>The configs run when no <c>--config</c> is given: plain LLaVA and the model's defaults.</summary>
    public static IReadOnlyList<EvalConfig> Defaults { get; } = [Parse("off"), Parse("default")];

    /// <summary>Whether this is <c>off</c>.</summary>
    public bool IsOff => Anchoring is { Enabled: false };

    /// <summary>Parses a <c>--config</c> value (case-insensitive; <c>_</c> may stand for <c>-</c> in a direction).</summary>
    /// <exception cref="ArgumentException">The value is none of <see cref="Forms"/>, or its τ is not a finite number.</exception>
    public static EvalConfig Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string text = value.Trim();
        if (text.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return new EvalConfig(value, AttAnchorOptions.Off);
        }

        if (text.Equals("default", StringComparison.OrdinalIgnoreCase))
        {
            return new EvalConfig(value, null);
        }

        AnchorDirection direction = AnchorDirection.TextIntoImage;
        string threshold = text;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            direction = AttAnchorOptions.TryParseDirection(text[..colon], out AnchorDirection named) ? named : throw Bad(value);
            threshold = text[(colon + 1)..];
        }

        if (!float.TryParse(threshold, NumberStyles.Float, CultureInfo.InvariantCulture, out float tau) || !float.IsFinite(tau))
        {
            throw Bad(value);
        }

        if (tau < NumericOption.MinThreshold || tau > NumericOption.MaxThreshold)
        {
            throw new ArgumentException($"--config {value}: τ must be in [{NumericOption.MinThreshold}, {NumericOption.MaxThreshold}] (1 inserts nothing); got {threshold}.");
        }

        return new EvalConfig(value, new AttAnchorOptions { Threshold = tau, Direction = direction });
    }

    /// <summary>
    /// The settings a run with this config uses on a model whose <c>attanchor.json</c> holds <paramref name="modelDefaults"/>:
    /// <c>off</c> keeps the model's τ and direction but switches anchoring off.
    /// </summary>
    public AttAnchorOptions Resolve(AttAnchorOptions modelDefaults)
    {
        ArgumentNullException.ThrowIfNull(modelDefaults);
        return Anchoring is null ? modelDefaults : IsOff ? modelDefaults with { Enabled = false } : Anchoring;
    }

    /// <summary>
    /// The config's name in labels: <c>off</c>, <c>τ=0.12 text-into-image</c>, or for <c>default</c>
    /// <c>default (τ=0.12 text-into-image)</c> with the model's values.
    /// </summary>
    public string Describe(AttAnchorOptions modelDefaults)
    {
        if (IsOff)
        {
            return "off";
        }

        AttAnchorOptions resolved = Resolve(modelDefaults);
        if (Anchoring is not null)
        {
            return Describe(resolved, "off");
        }

        // A model tuned without AttAnchor records τ ≥ 1 (or anchoring off): its default inserts nothing.
        return resolved.IsIdentity ? "default (off)" : $"default ({Describe(resolved, "off")})";
    }

    /// <summary><c>τ=0.12 text-into-image</c>, or <paramref name="whenDisabled"/> when anchoring is switched off.</summary>
    public static string Describe(AttAnchorOptions options, string whenDisabled)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Enabled
            ? string.Create(CultureInfo.InvariantCulture, $"τ={options.Threshold} {AttAnchorOptions.GetDirectionName(options.Direction)}")
            : whenDisabled;
    }

    private static ArgumentException Bad(string value) => new($"--config must be {Forms}; got '{value}'.");
}
