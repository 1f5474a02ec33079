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
    public RegroupedSequence Regroup(Prompt prompt, ReadOnlySpan<float> promptRows, ReadOnlySpan<float> imageRows, AttAnchorOptions anchoring, int maxNewTokens)
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
        LogPlan(sequence, candidates.Length);
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
