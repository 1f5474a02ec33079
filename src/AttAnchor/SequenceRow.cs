namespace AttAnchor;

/// <summary>The three parts of a LLaVA prompt sequence, in order.</summary>
public enum SequenceSegment
{
    /// <summary>The text before the image placeholder, BOS included (for example "&lt;s&gt; USER:").</summary>
    Prefix = 0,

    /// <summary>The image tokens: the projector's output rows.</summary>
    Image = 1,

    /// <summary>The text after the image placeholder: the question and the rest of the template.</summary>
    Text = 2,
}

/// <summary>
/// One position of the regrouped sequence: which row of which segment lands there, and whether it
/// is an inserted copy. <see cref="AnchorPlan.GetLayout"/> lists one per position.
/// </summary>
/// <param name="Segment">The segment the row is read from.</param>
/// <param name="Index">The row within that segment.</param>
/// <param name="IsCopy"><see langword="true"/> for a copy AttAnchor inserted; the original row also appears, at its own place.</param>
public readonly record struct SequenceRow(SequenceSegment Segment, int Index, bool IsCopy)
{
    /// <summary>A short form: <c>P0</c>, <c>I12</c>, <c>T3</c>, and <c>+T3</c> for a copy.</summary>
    /// <returns>The segment's initial and the row index, with a leading <c>+</c> for a copy.</returns>
    public override string ToString()
    {
        char segment = Segment switch
        {
            SequenceSegment.Prefix => 'P',
            SequenceSegment.Image => 'I',
            _ => 'T',
        };
        return $"{(IsCopy ? "+" : "")}{segment}{Index}";
    }
}
