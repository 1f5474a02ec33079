using static AttAnchor.Tests.Embeddings;

namespace AttAnchor.Tests;

/// <summary>
/// Randomised properties over 200 seeds: shapes N 0…64, M 1…600, d 1…2048 (odd sizes included),
/// with planted near-copies, exact duplicates (ties), zero and non-finite rows, both directions and
/// thresholds from −0.3 to ≥ 1.
/// </summary>
public class PropertyTests
{
    private const int Seeds = 200;
    private const double Ambiguity = 1e-5;

    private static readonly int[] Widths = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 127, 129, 255, 256, 257, 511, 768, 1023, 2048];

    public static TheoryData<int> AllSeeds()
    {
        var data = new TheoryData<int>();
        for (int seed = 0; seed < Seeds; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    /// <summary>One random case: the candidate rows are all text rows except special ones left out by a mask.</summary>
    internal sealed record Case(int Seed, int D, int P, float[] Text, float[] Image, int[] Candidates, AttAnchorOptions Options)
    {
        public int S => Text.Length / D;

        public int M => Image.Length / D;

        public float[] CandidateRows => [.. Candidates.SelectMany(c => Text.AsSpan(c * D, D).ToArray())];

        public static Case Make(int seed)
        {
            var random = new Random(seed);
            int d = random.Next(4) == 0 ? random.Next(1, 2049) : Widths[random.Next(Widths.Length)];
            int m = random.Next(3) == 0 ? random.Next(1, 9) : random.Next(1, 601);
            int s = random.Next(0, 65);
            // Keep the double-precision reference affordable: at most ~24 M multiply-adds per case.
            while ((long)s * m * d > 24_000_000)
            {
                m = Math.Max(1, m / 2);
            }

            float[] image = Gaussian(random, m, d);
            float[] text = Gaussian(random, s, d);
            for (int r = 0; r < m; r++)
            {
                int kind = random.Next(40);
                if (kind == 0)
                {
                    Row(image, r, d).Clear();
                }
                else if (kind == 1)
                {
                    Row(image, r, d)[random.Next(d)] = random.Next(2) == 0 ? float.NaN : float.PositiveInfinity;
                }
                else if (kind < 5 && r > 0)
                {
                    Row(image, random.Next(r), d).CopyTo(Row(image, r, d)); // an exact tie
                }
            }

            for (int r = 0; r < s; r++)
            {
                Span<float> row = Row(text, r, d);
                int kind = random.Next(20);
                if (kind == 0)
                {
                    row.Clear();
                }
                else if (kind == 1)
                {
                    row[random.Next(d)] = float.NaN;
                }
                else if (kind < 4)
                {
                    Row(image, random.Next(m), d).CopyTo(row); // cosine 1 with that patch
                }
                else if (kind < 12)
                {
                    // A near-copy of one patch: cosine spread around 0.1…0.9.
                    float weight = (float)random.NextDouble();
                    ReadOnlySpan<float> patch = Row(image, random.Next(m), d);
                    for (int k = 0; k < d; k++)
                    {
                        row[k] = weight * patch[k] + (1 - weight) * row[k];
                    }
                }
            }

            int[] candidates = [.. Enumerable.Range(0, s).Where(_ => random.Next(6) != 0)];
            float threshold = random.Next(6) switch
            {
                0 => AttAnchorOptions.DefaultThreshold,
                1 => 1f + (float)random.NextDouble(),
                2 => 1f,
                _ => (float)(random.NextDouble() * 1.2 - 0.3),
            };
            var direction = random.Next(2) == 0 ? AnchorDirection.TextIntoImage : AnchorDirection.ImageIntoText;
            var options = AttAnchorOptions.Default with { Threshold = threshold, Direction = direction };
            return new Case(seed, d, random.Next(0, 5), text, image, candidates, options);
        }
    }

    [Theory]
    [MemberData(nameof(AllSeeds))]
    public void Plan_satisfies_the_rule_and_matches_the_double_precision_reference(int seed)
    {
        Case c = Case.Make(seed);
        var plan = AnchorPlan.Create(c.Text, c.Image, c.D, c.Candidates, c.Options);
        bool byText = c.Options.Direction == AnchorDirection.TextIntoImage;
        int sources = byText ? c.Candidates.Length : c.M;

        // The library's own best matches, to check the plan against the rule exactly.
        var best = new int[sources];
        var similarity = new float[sources];
        if (byText)
        {
            CrossModalSimilarity.BestImageForText(c.CandidateRows, c.Image, c.D, best, similarity);
        }
        else
        {
            CrossModalSimilarity.BestTextForImage(c.CandidateRows, c.Image, c.D, best, similarity);
        }

        // Anchor count = sources whose best similarity is ≥ τ (none at all when τ ≥ 1).
        int qualifying = c.Options.IsIdentity ? 0 : Enumerable.Range(0, sources).Count(i => best[i] >= 0 && similarity[i] >= c.Options.Threshold);
        Assert.Equal(qualifying, plan.InsertedCount);

        // Copies only where the rule allows: each anchor is a source's best match, at most once per source.
        foreach (Anchor a in plan.Anchors)
        {
            Assert.Equal(best[a.SourceIndex], a.TargetIndex);
            Assert.Equal(similarity[a.SourceIndex], a.Similarity);
            Assert.True(a.Similarity >= c.Options.Threshold);
            Assert.Equal(c.Candidates[a.TextIndex], a.TextPosition);
        }

        Assert.Equal(plan.InsertedCount, plan.Anchors.Select(a => a.SourceIndex).Distinct().Count());

        AssertLayout(c, plan);
        AssertMatchesReference(c, plan);
    }

    /// <summary>Each original row once and in order; each copy right after its target or after earlier copies there, in source order.</summary>
    private static void AssertLayout(Case c, AnchorPlan plan)
    {
        SequenceRow[] layout = plan.GetLayout(c.P);
        Assert.Equal(c.P + c.M + c.S + plan.InsertedCount, layout.Length);
        Assert.Equal(
            Enumerable.Range(0, c.P).Select(i => new SequenceRow(SequenceSegment.Prefix, i, false))
                .Concat(Enumerable.Range(0, c.M).Select(i => new SequenceRow(SequenceSegment.Image, i, false)))
                .Concat(Enumerable.Range(0, c.S).Select(i => new SequenceRow(SequenceSegment.Text, i, false))),
            layout.Where(r => !r.IsCopy));

        var copies = new List<(int Source, int Target)>();
        SequenceRow anchorRow = default;
        foreach (SequenceRow row in layout)
        {
            if (!row.IsCopy)
            {
                anchorRow = row;
                continue;
            }

            if (plan.Options.Direction == AnchorDirection.TextIntoImage)
            {
                Assert.Equal((SequenceSegment.Image, SequenceSegment.Text), (anchorRow.Segment, row.Segment));
                copies.Add((Array.IndexOf(c.Candidates, row.Index), anchorRow.Index));
            }
            else
            {
                Assert.Equal((SequenceSegment.Text, SequenceSegment.Image), (anchorRow.Segment, row.Segment));
                copies.Add((row.Index, Array.IndexOf(c.Candidates, anchorRow.Index)));
            }
        }

        Assert.Equal(plan.Anchors.Select(a => (a.SourceIndex, a.TargetIndex)), copies);
        Assert.Equal(copies.OrderBy(x => x.Target).ThenBy(x => x.Source), copies);
    }

    /// <summary>Every source whose reference best match is clear of τ and of a tie by 1e-5 anchors exactly as the reference says.</summary>
    private static void AssertMatchesReference(Case c, AnchorPlan plan)
    {
        if (c.Options.IsIdentity)
        {
            return;
        }

        bool byText = c.Options.Direction == AnchorDirection.TextIntoImage;
        Reference.Match[] matches = Reference.BestMatches(Reference.Matrix(c.CandidateRows, c.Image, c.D), byText);
        var planned = plan.Anchors.ToDictionary(a => a.SourceIndex, a => a.TargetIndex);
        for (int source = 0; source < matches.Length; source++)
        {
            Reference.Match match = matches[source];
            bool nearThreshold = Math.Abs(match.Similarity - c.Options.Threshold) < Ambiguity;
            bool nearTie = match.Similarity - match.RunnerUp < Ambiguity;
            if (match.Best >= 0 && (nearThreshold || nearTie))
            {
                continue;
            }

            bool expected = match.Best >= 0 && match.Similarity >= c.Options.Threshold;
            Assert.True(expected == planned.ContainsKey(source),
                $"seed {c.Seed}: source {source} reference best {match.Best} at {match.Similarity:R} (τ = {c.Options.Threshold:R}), planned: {planned.ContainsKey(source)}");
            if (expected)
            {
                Assert.Equal(match.Best, planned[source]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllSeeds))]
    public void Materialised_sequence_holds_the_layouts_rows_and_positions_count_up(int seed)
    {
        Case c = Case.Make(seed);
        var plan = AnchorPlan.Create(c.Text, c.Image, c.D, c.Candidates, c.Options);
        // Recognisable rows: the plan only moves rows, so any values will do for materialising.
        float[] prefix = Tagged(1, c.P, c.D), image = Tagged(2, c.M, c.D), text = Tagged(3, c.S, c.D);
        int length = plan.GetSequenceLength(c.P);
        var sequence = new float[length * c.D];
        var positions = new long[length];

        plan.Materialize<float>(prefix, image, text, sequence);
        plan.WritePositionIds(c.P, positions);

        SequenceRow[] layout = plan.GetLayout(c.P);
        for (int i = 0; i < length; i++)
        {
            float[] source = layout[i].Segment switch { SequenceSegment.Prefix => prefix, SequenceSegment.Image => image, _ => text };
            Assert.True(Row(source, layout[i].Index, c.D).SequenceEqual(sequence.AsSpan(i * c.D, c.D)), $"row {i} ({layout[i]})");
        }

        Assert.Equal(Enumerable.Range(0, length).Select(i => (long)i), positions);
    }

    [Fact]
    public void The_random_cases_exercise_anchoring_in_both_directions()
    {
        // Guards the property tests against becoming vacuous if the generator changes.
        var cases = Enumerable.Range(0, Seeds).Select(Case.Make).ToList();
        var plans = cases.Select(c => AnchorPlan.Create(c.Text, c.Image, c.D, c.Candidates, c.Options)).ToList();

        Assert.True(plans.Count(p => p.Options.Direction == AnchorDirection.TextIntoImage && p.InsertedCount > 0) >= 30);
        Assert.True(plans.Count(p => p.Options.Direction == AnchorDirection.ImageIntoText && p.InsertedCount > 0) >= 30);
        Assert.True(cases.Count(c => c.Options.IsIdentity) >= 20);
        Assert.True(cases.Count(c => c.S == 0) >= 1 && cases.Count(c => c.M >= 500) >= 10 && cases.Count(c => c.D >= 1024) >= 10);
    }
}
