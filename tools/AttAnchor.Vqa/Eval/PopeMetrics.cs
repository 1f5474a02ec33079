namespace AttAnchor.Vqa.Eval;

/// <summary>How an item is scored.</summary>
internal enum ItemKind
{
    /// <summary>A yes/no item (POPE's kind): the answer is read as yes or no with LLaVA's rule and compared with the label.</summary>
    YesNo = 0,

    /// <summary>Any other label: the normalised answer must equal the normalised label (exact match).</summary>
    Open = 1,
}

/// <summary>
/// POPE's confusion counts over the yes/no items of one split, "yes" being the positive class, and the
/// metrics computed from them as POPE's and LLaVA's <c>eval_pope.py</c> define them.
/// </summary>
/// <remarks>
/// <c>eval_pope.py</c> divides by zero in the degenerate cases; here each such ratio is 0 instead:
/// <see cref="Precision"/> when nothing is predicted yes, <see cref="Recall"/> when no label is yes,
/// <see cref="F1"/> when precision and recall are both 0, and every ratio when there are no items.
/// </remarks>
/// <param name="TruePositives">Predicted yes, labelled yes.</param>
/// <param name="FalsePositives">Predicted yes, labelled no.</param>
/// <param name="TrueNegatives">Predicted no, labelled no.</param>
/// <param name="FalseNegatives">Predicted no, labelled yes.</param>
internal sealed record BinaryMetrics(int TruePositives, int FalsePositives, int TrueNegatives, int FalseNegatives)
{
    /// <summary>The number of yes/no items.</summary>
    public int Count => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    /// <summary>(TP + TN) / all; 0 with no items.</summary>
    public double Accuracy => Ratio(TruePositives + TrueNegatives, Count);

    /// <summary>TP / (TP + FP): of the answers that said yes, how many were right. 0 when nothing is predicted yes.</summary>
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>TP / (TP + FN): of the items labelled yes, how many were answered yes. 0 when no label is yes.</summary>
    public double Recall => Ratio(TruePositives, TruePositives + FalseNegatives);

    /// <summary>2 · precision · recall / (precision + recall); 0 when both are 0.</summary>
    public double F1
    {
        get
        {
            double p = Precision, r = Recall;
            return p + r == 0 ? 0 : 2 * p * r / (p + r);
        }
    }

    /// <summary>(TP + FP) / all: the fraction of answers read as yes; 0 with no items. About 0.5 on POPE's balanced splits for an unbiased model.</summary>
    public double YesRatio => Ratio(TruePositives + FalsePositives, Count);

    private static double Ratio(int numerator, int denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}

/// <summary>Exact-match counts over the open items of one split.</summary>
/// <param name="Count">The number of open items.</param>
/// <param name="Correct">How many normalised answers equal their normalised label.</param>
internal sealed record OpenMetrics(int Count, int Correct)
{
    /// <summary>Correct / Count; 0 with no items.</summary>
    public double ExactMatch => Count == 0 ? 0 : (double)Correct / Count;
}

/// <summary>The metrics of one split: its yes/no part and its open part, each null when the split has no such items.</summary>
/// <param name="YesNo">POPE's metrics over the yes/no items.</param>
/// <param name="Open">Exact match over the open items.</param>
internal sealed record SplitMetrics(BinaryMetrics? YesNo, OpenMetrics? Open);

/// <summary>
/// The evaluator's scoring, with no model involved: how a label is read, how an answer becomes a
/// prediction, and the metrics of a split. Pure functions, unit-tested on hand-computed cases.
/// </summary>
internal static class PopeMetrics
{
    /// <summary>The prediction of a yes/no item that is answered yes.</summary>
    public const string Yes = "yes";

    /// <summary>The prediction of a yes/no item that is answered no.</summary>
    public const string No = "no";

    /// <summary>
    /// Reads a label: <c>yes</c> or <c>no</c> in any case, with trailing dots and surrounding white space
    /// ignored, make a yes/no item whose expected prediction is <see cref="Yes"/> or <see cref="No"/>; any other
    /// label makes an open item whose expected prediction is <see cref="Normalize"/>(label).
    /// </summary>
    public static (ItemKind Kind, string Expected) ReadLabel(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        string word = label.Trim();
        while (word.EndsWith('.'))
        {
            word = word[..^1].TrimEnd();
        }

        if (word.Equals(Yes, StringComparison.OrdinalIgnoreCase))
        {
            return (ItemKind.YesNo, Yes);
        }

        return word.Equals(No, StringComparison.OrdinalIgnoreCase) ? (ItemKind.YesNo, No) : (ItemKind.Open, Normalize(label));
    }

    /// <summary>
    /// Whether a generated answer says yes, by the rule of LLaVA's <c>llava/eval/eval_pope.py</c>: keep the text
    /// before the first <c>.</c>, remove every <c>,</c>, split on single spaces, and the answer is no when a word
    /// is exactly <c>No</c>, <c>not</c> or <c>no</c>; otherwise yes (so "Not sure" and an empty answer are yes).
    /// The answer is first trimmed, as LLaVA's <c>model_vqa_loader.py</c> strips what it stores.
    /// </summary>
    public static bool SaysYes(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        string text = answer.Trim();
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            text = text[..dot];
        }

        foreach (string word in text.Replace(",", string.Empty, StringComparison.Ordinal).Split(' '))
        {
            if (word is "No" or "not" or "no")
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The open items' normalisation: trim, lower-case (invariant), drop one trailing <c>.</c>, and collapse
    /// every run of white space to one space.
    /// </summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string lower = text.Trim().ToLowerInvariant();
        if (lower.EndsWith('.'))
        {
            lower = lower[..^1];
        }

        return string.Join(' ', lower.Split(default(char[]), StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>An item's prediction from the generated answer: <see cref="Yes"/> or <see cref="No"/> for a yes/no item, the normalised answer for an open one.</summary>
    public static string Predict(ItemKind kind, string answer) =>
        kind == ItemKind.YesNo ? (SaysYes(answer) ? Yes : No) : Normalize(answer);

    /// <summary>
    /// The metrics of one split from its items' kinds, expected predictions (from <see cref="ReadLabel"/>) and
    /// predictions (from <see cref="Predict"/>). An item is correct when its prediction equals the expected one.
    /// </summary>
    public static SplitMetrics Summarize(IEnumerable<(ItemKind Kind, string Expected, string Prediction)> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        int tp = 0, fp = 0, tn = 0, fn = 0, open = 0, correct = 0;
        foreach (var (kind, expected, prediction) in items)
        {
            if (kind == ItemKind.Open)
            {
                open++;
                correct += string.Equals(expected, prediction, StringComparison.Ordinal) ? 1 : 0;
                continue;
            }

            bool labelYes = expected == Yes;
            bool saidYes = prediction == Yes;
            switch (saidYes, labelYes)
            {
                case (true, true): tp++; break;
                case (true, false): fp++; break;
                case (false, false): tn++; break;
                case (false, true): fn++; break;
            }
        }

        return new SplitMetrics(
            tp + fp + tn + fn == 0 ? null : new BinaryMetrics(tp, fp, tn, fn),
            open == 0 ? null : new OpenMetrics(open, correct));
    }
}
