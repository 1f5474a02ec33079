using System.Globalization;
using System.Text.Json;

namespace AttAnchor.Tests;

/// <summary>
/// The shared regrouping fixture models/fixtures/regroup-parity.json: the cases on which the Python
/// training rule (tools/python/llavagen/regroup.py, PyTorch) and the NumPy reference (tools/python/llavagen/attanchor.py)
/// were checked equal when the fixture was written (tools/python/make_fixtures.py). The .NET core must give the
/// same anchors and the same sequence on every case, so the shapes model is trained on exactly the sequences
/// this library builds at inference.
/// </summary>
public class RegroupParityTests
{
    private static readonly Lazy<ParityDocument> Document = new(Load);

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (ParityCase c in Document.Value.Cases)
        {
            data.Add(c.Name);
        }

        return data;
    }

    [Fact]
    public void The_fixture_covers_both_directions_ties_invalid_rows_and_the_identity()
    {
        IReadOnlyList<ParityCase> cases = Document.Value.Cases;
        Assert.Contains(cases, c => c.Direction == AnchorDirection.TextIntoImage && c.Anchors.Count > 0);
        Assert.Contains(cases, c => c.Direction == AnchorDirection.ImageIntoText && c.Anchors.Count > 0);
        Assert.Contains(cases, c => c.Threshold >= 1 && c.Anchors.Count == 0);
        Assert.Contains(cases, c => c.Text.Any(row => row.Any(v => !float.IsFinite(v))));
        Assert.Contains(cases, c => c.Anchors.GroupBy(a => a.PatchIndex).Any(g => g.Count() > 1));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_core_plans_what_the_Python_training_rule_planned(string name)
    {
        ParityCase c = Document.Value.Cases.Single(x => x.Name == name);
        int d = c.Text[0].Length;
        float[] text = c.Text.SelectMany(r => r).ToArray();
        float[] image = c.Image.SelectMany(r => r).ToArray();

        AnchorPlan plan = AnchorPlan.Create(text, image, d, new AttAnchorOptions { Threshold = c.Threshold, Direction = c.Direction });

        Assert.Equal(c.Anchors.Select(a => (a.TextIndex, a.PatchIndex)), plan.Anchors.Select(a => (a.TextIndex, a.ImageIndex)));
        foreach (var (expected, actual) in c.Anchors.Zip(plan.Anchors))
        {
            Assert.True(Math.Abs(expected.Similarity - actual.Similarity) < 1e-5,
                $"anchor T{expected.TextIndex}→I{expected.PatchIndex}: similarity {actual.Similarity} vs {expected.Similarity}");
        }

        int p = Document.Value.PrefixLength, m = c.Image.Length;
        int[] order = plan.GetLayout(p).Select(row => row.Segment switch
        {
            SequenceSegment.Prefix => row.Index,
            SequenceSegment.Image => p + row.Index,
            _ => p + m + row.Index,
        }).ToArray();
        Assert.Equal(c.Order, order);
        Assert.Equal(c.Order.Count, plan.GetSequenceLength(p));
    }

    private sealed record ParityAnchor(int TextIndex, int PatchIndex, double Similarity);

    private sealed record ParityCase(string Name, AnchorDirection Direction, float Threshold, float[][] Text, float[][] Image,
        IReadOnlyList<ParityAnchor> Anchors, IReadOnlyList<int> Order);

    private sealed record ParityDocument(int PrefixLength, IReadOnlyList<ParityCase> Cases);

    private static ParityDocument Load()
    {
        string path = Path.Combine(Repository.Root, "models", "fixtures", "regroup-parity.json");
        using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = json.RootElement;
        var cases = new List<ParityCase>();
        foreach (JsonElement c in root.GetProperty("cases").EnumerateArray())
        {
            cases.Add(new ParityCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("direction").GetString() switch
                {
                    "text_into_image" => AnchorDirection.TextIntoImage,
                    "image_into_text" => AnchorDirection.ImageIntoText,
                    var other => throw new InvalidDataException($"unknown direction {other} in {path}"),
                },
                c.GetProperty("threshold").GetSingle(),
                Rows(c.GetProperty("text")),
                Rows(c.GetProperty("image")),
                [.. c.GetProperty("anchors").EnumerateArray().Select(a => new ParityAnchor(
                    a.GetProperty("text_index").GetInt32(), a.GetProperty("patch_index").GetInt32(), a.GetProperty("similarity").GetDouble()))],
                [.. c.GetProperty("order").EnumerateArray().Select(o => o.GetInt32())]));
        }

        return new ParityDocument(root.GetProperty("prefix_length").GetInt32(), cases);
    }

    private static float[][] Rows(JsonElement rows) =>
        [.. rows.EnumerateArray().Select(row => row.EnumerateArray().Select(Value).ToArray())];

    /// <summary>A number, or one of the strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them).</summary>
    private static float Value(JsonElement v) => v.ValueKind == JsonValueKind.String
        ? float.Parse(v.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)
        : (float)v.GetDouble();
}
