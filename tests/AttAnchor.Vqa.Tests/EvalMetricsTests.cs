using AttAnchor.Vqa.Eval;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// The evaluator's scoring without a model: POPE's metrics on hand-computed confusion counts (the degenerate
/// cases included), LLaVA's yes/no rule on answers, label reading and the open items' normalisation.
/// </summary>
public class EvalMetricsTests
{
    private const int Digits = 12;

    [Theory]
    // tp, fp, tn, fn → accuracy, precision, recall, F1, yes ratio (worked out by hand; F1 = 2TP / (2TP + FP + FN)).
    [InlineData(40, 10, 35, 15, 75.0 / 100, 40.0 / 50, 40.0 / 55, 80.0 / 105, 50.0 / 100)]
    [InlineData(5, 0, 5, 0, 1.0, 1.0, 1.0, 1.0, 0.5)]                          // perfect
    [InlineData(0, 5, 0, 5, 0.0, 0.0, 0.0, 0.0, 0.5)]                          // always wrong
    [InlineData(0, 0, 30, 20, 30.0 / 50, 0.0, 0.0, 0.0, 0.0)]                  // never says yes: precision 0 by definition
    [InlineData(20, 30, 0, 0, 20.0 / 50, 20.0 / 50, 1.0, 40.0 / 70, 1.0)]      // always says yes
    [InlineData(0, 3, 7, 0, 7.0 / 10, 0.0, 0.0, 0.0, 3.0 / 10)]                // no label is yes: recall 0
    [InlineData(3, 1, 2, 4, 5.0 / 10, 3.0 / 4, 3.0 / 7, 6.0 / 11, 4.0 / 10)]
    [InlineData(0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)]                          // no items
    public void Binary_metrics_follow_POPE(int tp, int fp, int tn, int fn, double accuracy, double precision, double recall, double f1, double yesRatio)
    {
        var m = new BinaryMetrics(tp, fp, tn, fn);

        Assert.Equal(tp + fp + tn + fn, m.Count);
        Assert.Equal(accuracy, m.Accuracy, Digits);
        Assert.Equal(precision, m.Precision, Digits);
        Assert.Equal(recall, m.Recall, Digits);
        Assert.Equal(f1, m.F1, Digits);
        Assert.Equal(yesRatio, m.YesRatio, Digits);
    }

    [Theory]
    [InlineData(4, 3, 3.0 / 4)]
    [InlineData(2, 0, 0.0)]
    [InlineData(0, 0, 0.0)]
    public void Exact_match_is_the_share_of_correct_open_items(int count, int correct, double expected) =>
        Assert.Equal(expected, new OpenMetrics(count, correct).ExactMatch, Digits);

    [Theory]
    // Each item "expected>prediction"; a word other than yes/no is an open item.
    [InlineData("yes>yes no>yes no>no yes>no yes>yes", 2, 1, 1, 1, 0, 0)]
    [InlineData("no>no no>no", 0, 0, 2, 0, 0, 0)]
    [InlineData("red>red red>blue two>two yes>no", 0, 0, 0, 1, 3, 2)]
    [InlineData("red>blue", 0, 0, 0, 0, 1, 0)]
    public void Summarize_counts_each_kind(string items, int tp, int fp, int tn, int fn, int open, int openCorrect)
    {
        var parsed = items.Split(' ').Select(i => i.Split('>')).Select(p =>
            (p[0] is "yes" or "no" ? ItemKind.YesNo : ItemKind.Open, p[0], p[1])).ToList();

        SplitMetrics m = PopeMetrics.Summarize(parsed);

        if (tp + fp + tn + fn == 0)
        {
            Assert.Null(m.YesNo);
        }
        else
        {
            Assert.Equal(new BinaryMetrics(tp, fp, tn, fn), m.YesNo);
        }

        if (open == 0)
        {
            Assert.Null(m.Open);
        }
        else
        {
            Assert.Equal(new OpenMetrics(open, openCorrect), m.Open);
        }
    }

    [Theory]
    [InlineData("Yes.", true)]
    [InlineData("Yes", true)]
    [InlineData("yes", true)]
    [InlineData("No", false)]
    [InlineData("no", false)]
    [InlineData("No.", false)]
    [InlineData("No, there is not.", false)]
    [InlineData("There is no dog.", false)]
    [InlineData("There is not a dog in the image", false)]
    [InlineData("Not sure", true)]                        // "Not" is not one of No / not / no
    [InlineData("NO", true)]                              // the words are compared exactly
    [InlineData("Nope", true)]
    [InlineData("None", true)]
    [InlineData("The answer is yes, definitely", true)]
    [InlineData("Yes, no doubt.", false)]                 // the comma goes, "no" stays a word
    [InlineData("no,", false)]
    [InlineData("Yes. There is no dog.", true)]           // only the first sentence counts
    [InlineData(".no", true)]                             // the first sentence is empty
    [InlineData("  no  ", false)]                         // trimmed first, as LLaVA stores answers
    [InlineData("", true)]
    public void Yes_or_no_follows_LLaVAs_eval_pope_rule(string answer, bool yes)
    {
        Assert.Equal(yes, PopeMetrics.SaysYes(answer));
        Assert.Equal(yes ? "yes" : "no", PopeMetrics.Predict(ItemKind.YesNo, answer));
    }

    [Theory]
    [InlineData("yes", true, "yes")]
    [InlineData("Yes.", true, "yes")]
    [InlineData(" NO ", true, "no")]
    [InlineData("no. .", true, "no")]
    [InlineData("Red", false, "red")]
    [InlineData("  Two   dogs. ", false, "two dogs")]
    [InlineData("yes please", false, "yes please")]
    [InlineData("nope", false, "nope")]
    public void Labels_yes_and_no_make_binary_items_and_others_open_ones(string label, bool yesNo, string expected) =>
        Assert.Equal((yesNo ? ItemKind.YesNo : ItemKind.Open, expected), PopeMetrics.ReadLabel(label));

    [Theory]
    [InlineData("  Red. ", "red")]
    [InlineData("A  big\tdog\n", "a big dog")]
    [InlineData("dog..", "dog.")]                         // one trailing dot goes
    [InlineData("New York", "new york")]
    [InlineData("red .", "red")]
    [InlineData("3.5", "3.5")]
    [InlineData("", "")]
    public void Open_answers_are_normalised(string text, string expected)
    {
        Assert.Equal(expected, PopeMetrics.Normalize(text));
        Assert.Equal(expected, PopeMetrics.Predict(ItemKind.Open, text));
    }
}
