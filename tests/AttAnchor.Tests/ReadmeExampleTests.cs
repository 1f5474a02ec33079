using System.Globalization;
using System.Text;
using static AttAnchor.TestSupport.ReadmeBlocks;

namespace AttAnchor.Tests;

/// <summary>
/// Keeps the core example true where it is shown, in the repository's README.md and in the AttAnchor package's
/// README (src/AttAnchor/README.md): each holds the code below, and its output block is what that code prints.
/// </summary>
public class ReadmeExampleTests
{
    /// <summary>The README's example, as the README shows it (compared with white space folded).</summary>
    private const string ExampleSource = """
        using AttAnchor;

        // Three image patches and the three text tokens after <image>; d = 2 here, 2048 in TinyLLaVA.
        float[] image = [1, 0,   0, 1,      -1, 0];
        float[] text  = [0, 1,   1, 0.1f,   0, -1];

        var plan = AnchorPlan.Create(text, image, dimension: 2, AttAnchorOptions.Default); // τ = 0.12
        foreach (Anchor a in plan.Anchors)
            Console.WriteLine($"text {a.TextIndex} -> patch {a.ImageIndex}, similarity {a.Similarity:F3}");
        Console.WriteLine(string.Join(" ", plan.GetLayout(prefixLength: 1)));

        float[] prefix = [0.5f, 0.5f];                           // the rows before <image>, e.g. BOS
        var sequence = new float[plan.GetSequenceLength(1) * 2]; // L × d
        var positions = new long[plan.GetSequenceLength(1)];     // 0 … L−1
        plan.Materialize<float>(prefix, image, text, sequence);
        plan.WritePositionIds(1, positions);
        Console.WriteLine($"{plan.GetSequenceLength(1)} positions, {plan.InsertedCount} inserted");
        """;

    /// <summary>Runs the example, writing to <paramref name="console"/> instead of the console.</summary>
    private static (float[] Sequence, long[] Positions) RunExample(StringBuilder console)
    {
        float[] image = [1, 0, 0, 1, -1, 0];
        float[] text = [0, 1, 1, 0.1f, 0, -1];

        var plan = AnchorPlan.Create(text, image, dimension: 2, AttAnchorOptions.Default);
        foreach (Anchor a in plan.Anchors)
        {
            console.AppendLine(CultureInfo.InvariantCulture, $"text {a.TextIndex} -> patch {a.ImageIndex}, similarity {a.Similarity:F3}");
        }

        console.AppendLine(string.Join(" ", plan.GetLayout(prefixLength: 1)));

        float[] prefix = [0.5f, 0.5f];
        var sequence = new float[plan.GetSequenceLength(1) * 2];
        var positions = new long[plan.GetSequenceLength(1)];
        plan.Materialize<float>(prefix, image, text, sequence);
        plan.WritePositionIds(1, positions);
        console.AppendLine(CultureInfo.InvariantCulture, $"{plan.GetSequenceLength(1)} positions, {plan.InsertedCount} inserted");
        return (sequence, positions);
    }

    /// <summary>Each README that shows the example, and the heading it sits under.</summary>
    public static TheoryData<string, string> Readmes => new()
    {
        { "README.md", "## The core API" },
        { "src/AttAnchor/README.md", "## Example" },
    };

    [Theory]
    [MemberData(nameof(Readmes))]
    public void Readme_code_example_is_the_tested_one(string readme, string section)
    {
        string code = Block(ReadReadme(readme), section, "csharp");
        Assert.Equal(Fold(ExampleSource), Fold(code));
    }

    [Theory]
    [MemberData(nameof(Readmes))]
    public void Readme_output_is_what_the_example_prints(string readme, string section)
    {
        var console = new StringBuilder();
        var (sequence, positions) = RunExample(console);

        Assert.Equal(Block(ReadReadme(readme), section, "text").Trim(), console.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Trim());
        // The sequence the example materialises: P0 I0 +T1 I1 +T0 I2 T0 T1 T2.
        Assert.Equal([0.5f, 0.5f, 1, 0, 1, 0.1f, 0, 1, 0, 1, -1, 0, 0, 1, 1, 0.1f, 0, -1], sequence);
        Assert.Equal([0L, 1, 2, 3, 4, 5, 6, 7, 8], positions);
    }

    private static string ReadReadme(string path) => File.ReadAllText(Path.Combine(Repository.Root, path));
}
