using System.Globalization;
using AttAnchor.GraphCheck;
using Xunit.Abstractions;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// The references' own consistency: GraphCheck's pixel values from each reference crop reproduce NumPy's,
/// and enough plans are robust to float32 noise to be compared. The pipeline itself (the library, from the
/// original images) is held to the same references by <see cref="PipelineTests"/>.
/// </summary>
public class ReferenceConsistencyTests(ITestOutputHelper output)
{
    private static IEnumerable<(string Fixture, FixtureModel Model)> Models() =>
        ReferenceCases.FixturesWithReferences().Select(f => (f, Fixtures.Get(f)));

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
    public static TheoryData<string> FixtureNames => [.. ReferenceCases.FixturesWithReferences()];

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
