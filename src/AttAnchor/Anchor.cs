namespace AttAnchor;

/// <summary>One copy AttAnchor inserts: which text token and which image patch it joins, and how similar they are.</summary>
/// <param name="Direction">
/// <see cref="AnchorDirection.TextIntoImage"/>: a copy of the text token follows the patch.
/// <see cref="AnchorDirection.ImageIntoText"/>: a copy of the patch follows the text token.
/// </param>
/// <param name="TextIndex">The text token's index among the candidates, from 0 (spec: <c>text_index</c>).</param>
/// <param name="TextPosition">The text token's row in the text after the image (the index of its token id there).</param>
/// <param name="ImageIndex">The patch's index among the image rows, from 0.</param>
/// <param name="Similarity">The cosine similarity of the pair, in fp32; at least the plan's threshold.</param>
public readonly record struct Anchor(AnchorDirection Direction, int TextIndex, int TextPosition, int ImageIndex, float Similarity)
{
    /// <summary>The index of the row that is copied: <see cref="TextIndex"/> for text-into-image, else <see cref="ImageIndex"/>.</summary>
    public int SourceIndex => Direction == AnchorDirection.TextIntoImage ? TextIndex : ImageIndex;

    /// <summary>The index of the row the copy follows: <see cref="ImageIndex"/> for text-into-image, else <see cref="TextIndex"/>.</summary>
    public int TargetIndex => Direction == AnchorDirection.TextIntoImage ? ImageIndex : TextIndex;
}
