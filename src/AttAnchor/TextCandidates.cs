namespace AttAnchor;

/// <summary>Chooses which text tokens after the image placeholder AttAnchor may copy (spec: "Inputs", T).</summary>
public static class TextCandidates
{
    /// <summary>
    /// Returns the positions, in prompt order, of the candidate tokens among <paramref name="tokenIds"/>:
    /// every token that is not a special token, restricted to <paramref name="question"/> when
    /// <paramref name="which"/> is <see cref="AnchorCandidates.QuestionOnly"/>.
    /// </summary>
    /// <param name="tokenIds">The token ids of the text after the image placeholder, in order.</param>
    /// <param name="question">The question's tokens within <paramref name="tokenIds"/>; used only for <see cref="AnchorCandidates.QuestionOnly"/>.</param>
    /// <param name="specialTokenIds">Ids that are never candidates (BOS, EOS, pad).</param>
    /// <param name="which">Every text token, or the question only.</param>
    /// <returns>Strictly increasing positions, ready for <see cref="AnchorPlan.Create(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{int}, AttAnchorOptions?)"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="question"/> reaches outside <paramref name="tokenIds"/>, or <paramref name="which"/> is undefined.</exception>
    /// <example>
    /// <code>
    /// // "\n", "▁Is", "▁it", "▁red", "?", "\n", "ASS", "IST", "ANT", ":"; question = tokens 1..5; EOS = 2
    /// int[] ids = [13, 1317, 372, 2654, 29973, 13, 22933, 9047, 13566, 29901];
    /// TextCandidates.Select(ids, 1..5, [1, 2], AnchorCandidates.AllText);      // [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    /// TextCandidates.Select(ids, 1..5, [1, 2], AnchorCandidates.QuestionOnly); // [1, 2, 3, 4]
    /// </code>
    /// </example>
    public static int[] Select(ReadOnlySpan<int> tokenIds, Range question, ReadOnlySpan<int> specialTokenIds, AnchorCandidates which)
    {
        int start = 0, end = tokenIds.Length;
        if (which == AnchorCandidates.QuestionOnly)
        {
            int from = question.Start.GetOffset(tokenIds.Length);
            int to = question.End.GetOffset(tokenIds.Length);
            if (from < 0 || to > tokenIds.Length || from > to)
            {
                throw new ArgumentOutOfRangeException(nameof(question), question,
                    $"The question's token range {question} lies outside the {tokenIds.Length} text tokens. Pass the range of the question's tokens within them.");
            }

            (start, end) = (from, to);
        }
        else if (which != AnchorCandidates.AllText)
        {
            throw new ArgumentOutOfRangeException(nameof(which), which,
                $"Unknown candidate selection. Use {nameof(AnchorCandidates.AllText)} or {nameof(AnchorCandidates.QuestionOnly)}.");
        }

        var positions = new List<int>(end - start);
        for (int i = start; i < end; i++)
        {
            if (!IsSpecial(tokenIds[i], specialTokenIds))
            {
                positions.Add(i);
            }
        }

        return [.. positions];
    }

    /// <summary>A linear scan of the few special ids; MemoryExtensions.Contains's vector kernel costs more to compile than it saves.</summary>
    private static bool IsSpecial(int id, ReadOnlySpan<int> specialTokenIds)
    {
        foreach (int special in specialTokenIds)
        {
            if (special == id)
            {
                return true;
            }
        }

        return false;
    }
}
