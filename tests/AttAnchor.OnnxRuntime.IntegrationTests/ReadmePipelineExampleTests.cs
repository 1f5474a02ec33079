using System.Globalization;
using System.Text;
using static AttAnchor.TestSupport.ReadmeBlocks;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// Keeps the pipeline example true where it is shown, in README.md and in the AttAnchor.OnnxRuntime package's
/// README: each holds the code below, and its output block is what that code prints.
/// </summary>
public class ReadmePipelineExampleTests
{
    /// <summary>Each README that shows the example, and the heading it sits under.</summary>
    public static TheoryData<string, string> Readmes => new()
    {
        { "README.md", "## Answering a question about an image" },
        { "src/AttAnchor.OnnxRuntime/README.md", "## Without Microsoft.Extensions.AI" },
    };

    /// <summary>The README's example, as the README shows it (compared with white space folded).</summary>
    private const string ExampleSource = """
        using AttAnchor.OnnxRuntime;

        using var model = VisionLanguageModel.Open("models/shapes/attanchor"); // CUDA if it loads, else the CPU
        ModelImage image = model.LoadImage("models/shapes/example.png");
        AnswerStream answer = model.Answer(image, "What color is the circle?");
        await foreach (string piece in answer)
            Console.Write(piece);                                                     // as it is generated
        VqaResult result = answer.Result;
        Console.WriteLine($"\n{result.StopReason}, {result.Anchors.Count} anchors, L = {result.SequenceLength}, {result.Device.Name}");
        foreach (AnchorInfo a in result.Anchors.Take(3))
            Console.WriteLine($"{a.Token} -> patch ({a.PatchRow}, {a.PatchColumn}), similarity {a.Similarity:F3}");
        """;

    /// <summary>Runs the example from the repository root, writing to <paramref name="console"/> instead of the console.</summary>
    private static async Task RunExample(StringBuilder console)
    {
        string root = Fixtures.RepositoryRoot;
        using var model = VisionLanguageModel.Open(Path.Combine(root, "models/shapes/attanchor"));
        ModelImage image = model.LoadImage(Path.Combine(root, "models/shapes/example.png"));
        AnswerStream answer = model.Answer(image, "What color is the circle?");
        await foreach (string piece in answer)
        {
            console.Append(piece);
        }

        VqaResult result = answer.Result;
        console.AppendLine(CultureInfo.InvariantCulture, $"\n{result.StopReason}, {result.Anchors.Count} anchors, L = {result.SequenceLength}, {result.Device.Name}");
        foreach (AnchorInfo a in result.Anchors.Take(3))
        {
            console.AppendLine(CultureInfo.InvariantCulture, $"{a.Token} -> patch ({a.PatchRow}, {a.PatchColumn}), similarity {a.Similarity:F3}");
        }
    }

    [Theory]
    [MemberData(nameof(Readmes))]
    public void Readme_code_example_is_the_tested_one(string readme, string section)
    {
        string code = Block(ReadReadme(readme), section, "csharp");
        Assert.Equal(Fold(ExampleSource), Fold(code));
    }

    [Theory]
    [MemberData(nameof(Readmes))]
    public async Task Readme_output_is_what_the_example_prints(string readme, string section)
    {
        var console = new StringBuilder();
        await RunExample(console);

        Assert.Equal(Block(ReadReadme(readme), section, "text").Trim(), console.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Trim());
    }

    private static string ReadReadme(string path) => File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, path));
}
