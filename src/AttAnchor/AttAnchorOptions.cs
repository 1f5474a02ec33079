namespace AttAnchor;

/// <summary>Which way AttAnchor copies tokens (spec: "Text-into-image" and "Image-into-text").</summary>
public enum AnchorDirection
{
    /// <summary>
    /// The paper's main variant and the default: each candidate text token whose best image patch
    /// clears the threshold is copied immediately after that patch, inside the image block.
    /// </summary>
    TextIntoImage = 0,

    /// <summary>
    /// The mirror: each image patch whose best candidate text token clears the threshold is copied
    /// immediately after that text token, inside the text that follows the image.
    /// </summary>
    ImageIntoText = 1,
}

/// <summary>Which text tokens after the image placeholder are candidates for anchoring.</summary>
public enum AnchorCandidates
{
    /// <summary>
    /// Every text token after the image placeholder except special tokens (BOS, EOS, pad): the
    /// question and the chat-template words after it ("\n", "ASSISTANT", ":"). The default.
    /// </summary>
    AllText = 0,

    /// <summary>Only the tokens of the question itself, special tokens excluded.</summary>
    QuestionOnly = 1,
}

/// <summary>
/// The settings of AttAnchor regrouping: threshold τ, direction and candidate tokens.
/// </summary>
/// <remarks>
/// The defaults are the paper's TinyLLaVA settings (τ = 0.12, text-into-image, every text token after the image);
/// a model's <c>attanchor.json</c> may carry others. <see cref="IsIdentity"/> is <see langword="true"/> when
/// <see cref="Enabled"/> is <see langword="false"/> or τ ≥ 1: nothing is inserted, not even a copy at cosine 1.
/// See docs/core.md.
/// </remarks>
/// <example>
/// <code>
/// var options = AttAnchorOptions.Default with { Threshold = 0.08f };
/// Console.WriteLine(options); // AttAnchorOptions { Threshold = 0.08, Direction = TextIntoImage, Candidates = AllText, Enabled = True, IsIdentity = False }
/// </code>
/// </example>
public sealed record AttAnchorOptions
{
    /// <summary>The paper's default threshold for TinyLLaVA and LLaVA-7B.</summary>
    public const float DefaultThreshold = 0.12f;

    private readonly float _threshold = DefaultThreshold;
    private readonly AnchorDirection _direction = AnchorDirection.TextIntoImage;
    private readonly AnchorCandidates _candidates = AnchorCandidates.AllText;

    /// <summary>The paper's settings: τ = 0.12, text-into-image, all text tokens after the image.</summary>
    public static AttAnchorOptions Default { get; } = new();

    /// <summary>Anchoring switched off: the plain LLaVA sequence.</summary>
    public static AttAnchorOptions Off { get; } = new() { Enabled = false };

    /// <summary>
    /// The threshold τ: a token is copied when its best cosine similarity is ≥ τ. Any finite or
    /// infinite value is accepted (τ ≤ −1 anchors every valid token, τ ≥ 1 anchors none);
    /// <see cref="float.NaN"/> is rejected.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is NaN.</exception>
    public float Threshold
    {
        get => _threshold;
        init
        {
            if (float.IsNaN(value))
            {
                throw new ArgumentOutOfRangeException(nameof(Threshold), value,
                    "The AttAnchor threshold is NaN. Use a number such as 0.12 (the paper's value), or 1 or more to switch anchoring off.");
            }

            _threshold = value;
        }
    }

    /// <summary>Which way tokens are copied; <see cref="AnchorDirection.TextIntoImage"/> by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="AnchorDirection"/>.</exception>
    public AnchorDirection Direction
    {
        get => _direction;
        init => _direction = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(Direction), value,
            $"Unknown AttAnchor direction. Use {nameof(AnchorDirection.TextIntoImage)} or {nameof(AnchorDirection.ImageIntoText)}.");
    }

    /// <summary>
    /// Which text tokens are candidates; <see cref="AnchorCandidates.AllText"/> by default. Pass it to
    /// <see cref="TextCandidates.Select"/> to get the candidate rows for
    /// <see cref="AnchorPlan.Create(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{int}, AttAnchorOptions?)"/>;
    /// the overload without candidate rows takes every text row and refuses <see cref="AnchorCandidates.QuestionOnly"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="AnchorCandidates"/>.</exception>
    public AnchorCandidates Candidates
    {
        get => _candidates;
        init => _candidates = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(Candidates), value,
            $"Unknown candidate selection. Use {nameof(AnchorCandidates.AllText)} or {nameof(AnchorCandidates.QuestionOnly)}.");
    }

    /// <summary>Whether anchoring is on. <see langword="false"/> gives the plain LLaVA sequence.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// <see langword="true"/> when these options insert nothing: anchoring is off or τ ≥ 1.
    /// </summary>
    public bool IsIdentity => !Enabled || Threshold >= 1f;

    /// <summary>A direction's name as files, command lines and reports write it: <c>text-into-image</c> or <c>image-into-text</c>.</summary>
    /// <param name="direction">The direction.</param>
    /// <returns>The name.</returns>
    public static string GetDirectionName(AnchorDirection direction) =>
        direction == AnchorDirection.ImageIntoText ? "image-into-text" : "text-into-image";

    /// <summary>
    /// Reads a direction's name: <c>text-into-image</c> or <c>image-into-text</c>, in any case, with <c>_</c> for
    /// <c>-</c> (as <c>attanchor.json</c> writes it) or as the member name (<c>TextIntoImage</c>).
    /// </summary>
    /// <param name="name">The name.</param>
    /// <param name="direction">The direction, when the name is one.</param>
    /// <returns>Whether the name is a direction's.</returns>
    public static bool TryParseDirection(string? name, out AnchorDirection direction)
    {
        foreach (AnchorDirection candidate in (ReadOnlySpan<AnchorDirection>)[AnchorDirection.TextIntoImage, AnchorDirection.ImageIntoText])
        {
            if (string.Equals(name?.Replace('_', '-'), GetDirectionName(candidate), StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, candidate.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                direction = candidate;
                return true;
            }
        }

        direction = default;
        return false;
    }
}
