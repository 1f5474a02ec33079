using System.Diagnostics;
using AttAnchor.OnnxRuntime.Logging;
using Microsoft.Extensions.Logging;

namespace AttAnchor.OnnxRuntime;

/// <summary>The decoder's input sequence after AttAnchor.</summary>
/// <param name="Anchoring">The AttAnchor settings it was planned with.</param>
/// <param name="Plan">The plan: which text tokens and patches were copied where.</param>
/// <param name="Rows">[L × D]: prefix, image block and text rows with the copies in place.</param>
/// <param name="Length">L, the sequence's positions.</param>
/// <param name="BaselineLength">The plain LLaVA sequence's positions, without copies.</param>
/// <param name="Anchors">The copies, described for the result.</param>
/// <param name="Time">The time the stage took.</param>
internal sealed record RegroupedSequence(AttAnchorOptions Anchoring, AnchorPlan Plan, float[] Rows, int Length, int BaselineLength, IReadOnlyList<AnchorInfo> Anchors, TimeSpan Time);

/// <summary>
/// The AttAnchor stage, the one place the model-specific regrouping happens: the prompt's rows and the image rows
/// → the candidates and plan of the AttAnchor rule (<c>docs/spec/attanchor.md</c>) → the regrouped sequence.
/// </summary>
internal sealed class Regrouper(ModelConfig config, PromptTokenizer tokenizer, ILogger logger)
{
    /// <summary>Plans the copies and writes the sequence; throws when the copies make it pass the context.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="promptRows">[(P + N) × D]: the prefix tokens' rows, then the text tokens'.</param>
    /// <param name="imageRows">[M × D].</param>
    /// <param name="anchoring">The AttAnchor settings.</param>
    /// <param name="maxNewTokens">The answer's length limit, for the context check.</param>
    public RegroupedSequence Regroup(Prompt prompt, ReadOnlySpan<float> promptRows, ReadOnlySpan<float> imageRows, AttAnchorOptions anchoring, int maxNewTokens) =>
        Regroup(prompt, promptRows, imageRows, anchoring, maxNewTokens, log: true);

    /// <summary>
    /// Runs the stage once on a small synthetic prompt (5 text rows, 5 image rows, every pair anchored), so that the
    /// code of the first answer's stage is compiled already; logs nothing. See docs/architecture.md, "Cold start".
    /// </summary>
    /// <returns>The synthetic sequence, for tests.</returns>
    internal RegroupedSequence WarmUp()
    {
        const int Rows = 5; // ≥ 4 and not a multiple of 4: the 4 × 4 tiles and both remainders run
        int d = config.HiddenSize;
        int[] special = tokenizer.SpecialIds;
        int[] ids = new int[Rows];
        for (int i = 0, id = 0; i < ids.Length; id++)
        {
            if (Array.IndexOf(special, id) < 0)
            {
                ids[i++] = id; // ordinary tokens only, so all five are candidates
            }
        }

        var prompt = new Prompt([config.BosTokenId], ids, 0..Rows);
        var promptRows = new float[(1 + Rows) * d];
        var imageRows = new float[Rows * d];
        for (int k = 0; k < promptRows.Length; k++)
        {
            promptRows[k] = (k % 7) - 3f + (k / d); // every row non-zero, no row a multiple of another
        }

        for (int k = 0; k < imageRows.Length; k++)
        {
            imageRows[k] = (k % 5) - 1f + (k / d);
        }

        AttAnchorOptions anchoring = config.Anchoring with { Threshold = -1f, Enabled = true, Candidates = AnchorCandidates.AllText };
        return Regroup(prompt, promptRows, imageRows, anchoring, maxNewTokens: 1, log: false);
    }

    private RegroupedSequence Regroup(Prompt prompt, ReadOnlySpan<float> promptRows, ReadOnlySpan<float> imageRows, AttAnchorOptions anchoring, int maxNewTokens, bool log)
    {
        long start = Stopwatch.GetTimestamp();
        int d = config.HiddenSize;
        int prefixLength = prompt.PrefixIds.Length;
        ReadOnlySpan<float> prefix = promptRows[..(prefixLength * d)];                                // [P × D]
        ReadOnlySpan<float> text = promptRows[(prefixLength * d)..];                                  // [N × D]
        int[] candidates = TextCandidates.Select(prompt.TextIds, prompt.Question, tokenizer.SpecialIds, anchoring.Candidates);
        AnchorPlan plan = AnchorPlan.Create(text, imageRows, d, candidates, anchoring);
        int length = plan.GetSequenceLength(prefixLength);
        PromptEncoder.RequireFits(config, prompt, length, plan.InsertedCount, maxNewTokens);
        var rows = new float[length * d];                                                            // [L × D]
        plan.Materialize(prefix, imageRows, text, rows);
        AnchorInfo[] anchors = Describe(plan, prompt);
        int baseline = prompt.TokenCount + config.NumImageTokens;
        var sequence = new RegroupedSequence(anchoring, plan, rows, length, baseline, anchors, Stopwatch.GetElapsedTime(start));
        if (log)
        {
            LogPlan(sequence, candidates.Length);
        }

        return sequence;
    }

    private AnchorInfo[] Describe(AnchorPlan plan, Prompt prompt)
    {
        int side = config.PatchGridSide;
        var result = new AnchorInfo[plan.Anchors.Count];
        for (int i = 0; i < result.Length; i++)
        {
            Anchor a = plan.Anchors[i];
            int id = prompt.TextIds[a.TextPosition];
            result[i] = new AnchorInfo(a.Direction, a.TextIndex, a.TextPosition, id, tokenizer.GetPiece(id), a.ImageIndex, a.ImageIndex / side, a.ImageIndex % side, a.Similarity);
        }

        return result;
    }

    private void LogPlan(RegroupedSequence sequence, int candidates)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return; // the default: no description string built for a log nobody reads
        }

        Log.Planned(logger, Log.Describe(sequence.Anchoring), sequence.Anchors.Count, candidates, sequence.BaselineLength, sequence.Length);
        if (logger.IsEnabled(LogLevel.Trace))
        {
            foreach (AnchorInfo a in sequence.Anchors)
            {
                Log.Copied(logger, a.Token, a.TextIndex, a.PatchIndex, a.PatchRow, a.PatchColumn, a.Similarity);
            }
        }
    }
}
