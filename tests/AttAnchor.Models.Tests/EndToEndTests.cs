using System.Globalization;
using AttAnchor.GraphCheck;
using Xunit.Abstractions;

namespace AttAnchor.Models.Tests;

/// <summary>
/// The whole pipeline on each fixture against PyTorch and the independent NumPy AttAnchor: pixel
/// values, image and token embeddings through ONNX Runtime, the core's <see cref="AnchorPlan"/>, and
/// greedy decoding with the KV cache.
/// </summary>
public class EndToEndTests(ITestOutputHelper output)
{
    /// <summary>First-step logits must agree with PyTorch's this closely (absolute).</summary>
    private const double LogitsTolerance = 1e-4;

    /// <summary>Steps from the first one whose PyTorch top-1 − top-2 margin is below this are not compared.</summary>
    private const double MarginFloor = 1e-3;

    /// <summary>Anchor similarities must agree with the NumPy (float64) reference this closely.</summary>
    private const double SimilarityTolerance = 1e-4;

    private static IEnumerable<(string Fixture, FixtureModel Model)> Models() =>
        TokenizerTests.FixturesWithReferences().Select(f => (f, Fixtures.Get(f)));

    /// <summary>One row per (fixture, generation).</summary>
    public static TheoryData<string, int, string> Generations
    {
        get
        {
            var rows = new TheoryData<string, int, string>();
            foreach (var (fixture, model) in Models())
            {
                IReadOnlyList<GenerationReference> generations = model.References.Generations;
                for (int i = 0; i < generations.Count; i++)
                {
                    GenerationReference g = generations[i];
                    string anchor = g.Anchor is null ? "no anchoring" : Describe(g.Anchor.Direction, g.Anchor.Threshold);
                    rows.Add(fixture, i, $"{g.Image}, prompt {g.Prompt}, {anchor}");
                }
            }

            return rows;
        }
    }

    /// <summary>One row per (fixture, plan) for the plans that float32 noise cannot change (fragile == false).</summary>
    public static TheoryData<string, int, string> Plans
    {
        get
        {
            var rows = new TheoryData<string, int, string>();
            foreach (var (fixture, model) in Models())
            {
                IReadOnlyList<PlanReference> plans = model.References.Plans;
                for (int i = 0; i < plans.Count; i++)
                {
                    PlanReference p = plans[i];
                    if (!p.Fragile)
                    {
                        rows.Add(fixture, i, $"{p.Image}, prompt {p.Prompt}, {Describe(p.Direction, p.Threshold)}");
                    }
                }
            }

            return rows;
        }
    }

    /// <summary>One row per (fixture, image, resize mode) with a crop.</summary>
    public static TheoryData<string, string, string> Crops
    {
        get
        {
            var rows = new TheoryData<string, string, string>();
            foreach (var (fixture, model) in Models())
            {
                foreach (ImageReference image in model.References.Images)
                {
                    foreach (string mode in image.Modes.Keys)
                    {
                        rows.Add(fixture, image.Name, mode);
                    }
                }
            }

            return rows;
        }
    }

    /// <summary>The fixtures with references.json.</summary>
    public static TheoryData<string> FixtureNames => [.. TokenizerTests.FixturesWithReferences()];

    [Theory]
    [MemberData(nameof(Crops))]
    public void Pixel_values_from_the_crop_reproduce_NumPys_bit_for_bit(string fixture, string image, string mode)
    {
        FixtureModel model = Fixtures.Get(fixture);
        ImageModeReference reference = model.References.Images.Single(i => i.Name == image).Modes[mode];

        HostTensor pixels = PixelValues.FromPngFiles([Path.Combine(model.ReferencesFolder, reference.Crop)], model.Settings);

        long[] shape = pixels.Shape;
        Assert.Equal([1L, 3, model.Settings.ImageSize, model.Settings.ImageSize], shape);
        float[] values = pixels.ToSingleArray();
        int plane = (int)(shape[2] * shape[3]);
        foreach (PixelSample s in reference.Samples)
        {
            Assert.Equal(s.Value, values[(s.C * plane) + (s.Y * (int)shape[3]) + s.X]);
        }

        for (int c = 0; c < 3; c++)
        {
            double sum = values.AsSpan(c * plane, plane).ToArray().Sum(v => (double)v);
            Assert.True(Math.Abs(sum - reference.ChannelSums[c]) <= 1e-6 * Math.Max(1, Math.Abs(reference.ChannelSums[c])),
                $"channel {c}: sum {sum:R}, NumPy {reference.ChannelSums[c]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public void Greedy_generation_matches_PyTorch(string fixture, int index, string description)
    {
        FixtureModel model = Fixtures.Get(fixture);
        ReferenceDocument references = model.References;
        GenerationReference g = references.Generations[index];
        PromptReference prompt = references.Prompts[g.Prompt];
        int d = model.Settings.HiddenSize;

        float[] image = model.ImageEmbeds(references.CropOf(g.Image, model.Settings.ResizeMode));
        float[] prefix = model.Embed(prompt.PrefixIds);
        float[] text = model.Embed(prompt.TextIds);
        float[] rows;
        if (g.Anchor is null)
        {
            rows = [.. prefix, .. image, .. text];
        }
        else
        {
            var options = new AttAnchorOptions { Threshold = (float)g.Anchor.Threshold, Direction = DirectionNames.Parse(g.Anchor.Direction) };
            AnchorPlan plan = AnchorPlan.Create(text, image, d, options);
            rows = new float[plan.GetSequenceLength(prompt.PrefixIds.Count) * d];
            plan.Materialize<float>(prefix, image, text, rows);
        }

        Assert.Equal(g.SequenceLength, rows.Length / d);

        var (first, tokens) = model.Greedy(rows, g.Tokens.Count);

        FirstLogits expected = g.FirstLogits;
        double worst = 0;
        int worstAt = expected.Start;
        for (int i = 0; i < expected.Values.Count; i++)
        {
            double diff = Math.Abs(first[expected.Start + i] - expected.Values[i]);
            if (!(diff <= worst))
            {
                (worst, worstAt) = (diff, expected.Start + i);
            }
        }

        int compared = 0;
        while (compared < g.Tokens.Count && g.Margins[compared] >= MarginFloor)
        {
            compared++;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{fixture} / {description}: L = {rows.Length / d}; first logits max|Δ| {worst:G3} at {worstAt}; tokens compared {compared} of {g.Tokens.Count}; ONNX [{string.Join(", ", tokens)}], PyTorch [{string.Join(", ", g.Tokens)}]"));
        Assert.True(worst <= LogitsTolerance,
            string.Create(CultureInfo.InvariantCulture, $"first-step logits differ from PyTorch's by {worst:G3} at vocabulary id {worstAt} (ONNX {first[worstAt]:G9}, PyTorch {expected.Values[worstAt - expected.Start]:G9})"));
        Assert.Equal(g.Tokens.Take(compared), tokens.Take(compared));
    }

    [Theory]
    [MemberData(nameof(Plans))]
    public void Plan_from_ONNX_embeddings_matches_the_NumPy_reference(string fixture, int index, string description)
    {
        FixtureModel model = Fixtures.Get(fixture);
        ReferenceDocument references = model.References;
        PlanReference reference = references.Plans[index];
        PromptReference prompt = references.Prompts[reference.Prompt];
        int d = model.Settings.HiddenSize, grid = model.Settings.ImageSize / model.Settings.PatchSize;

        float[] image = model.ImageEmbeds(references.CropOf(reference.Image, model.Settings.ResizeMode));
        float[] text = model.Embed(prompt.TextIds);
        var options = new AttAnchorOptions { Threshold = (float)reference.Threshold, Direction = DirectionNames.Parse(reference.Direction) };
        AnchorPlan plan = AnchorPlan.Create(text, image, d, options);

        output.WriteLine($"{fixture} / {description}: {plan.InsertedCount} anchors, L = {plan.GetSequenceLength(prompt.PrefixIds.Count)}");
        Assert.Equal(reference.BaselineLength, prompt.PrefixIds.Count + plan.ImageTokenCount + plan.TextTokenCount);
        Assert.Equal(reference.SequenceLength, plan.GetSequenceLength(prompt.PrefixIds.Count));
        if (reference.Threshold >= 1)
        {
            Assert.Equal(reference.BaselineLength, reference.SequenceLength);
            Assert.Empty(reference.Anchors);
            Assert.True(plan.Options.IsIdentity);
        }

        Assert.Equal(
            reference.Anchors.Select(a => (a.TextIndex, a.TextPosition, a.PatchIndex)),
            plan.Anchors.Select(a => (a.TextIndex, a.TextPosition, a.ImageIndex)));
        for (int i = 0; i < plan.Anchors.Count; i++)
        {
            AnchorReference r = reference.Anchors[i];
            Anchor a = plan.Anchors[i];
            Assert.Equal(DirectionNames.Parse(reference.Direction), a.Direction);
            Assert.True(Math.Abs(a.Similarity - r.Similarity) <= SimilarityTolerance,
                $"anchor {i} (text {a.TextIndex} → patch {a.ImageIndex}): similarity {a.Similarity:G9}, NumPy {r.Similarity:G9}");
            Assert.Equal(r.TokenId, prompt.TextIds[a.TextPosition]);
            Assert.Equal((r.PatchRow, r.PatchCol), (a.ImageIndex / grid, a.ImageIndex % grid));
        }
    }

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void At_least_half_of_the_reference_plans_are_not_fragile(string fixture)
    {
        IReadOnlyList<PlanReference> plans = Fixtures.Get(fixture).References.Plans;
        int robust = plans.Count(p => !p.Fragile);

        output.WriteLine($"{fixture}: {robust} of {plans.Count} plans are not fragile and are compared");
        Assert.NotEmpty(plans);
        Assert.True(2 * robust >= plans.Count, $"only {robust} of {plans.Count} plans are not fragile");
    }

    private static string Describe(string direction, double threshold) =>
        string.Create(CultureInfo.InvariantCulture, $"{direction} τ={threshold}");
}
