using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.Models.Tests;

/// <summary>Keeps README.md true: its pipeline example is the code below, and its output block is what that code prints.</summary>
public partial class ReadmePipelineExampleTests
{
    private const string Section = "## Answering a question about an image";

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

    [Fact]
    public void Readme_code_example_is_the_tested_one()
    {
        string code = Block(ReadReadme(), "csharp");
        Assert.Equal(Fold(ExampleSource), Fold(code));
    }

    [Fact]
    public async Task Readme_output_is_what_the_example_prints()
    {
        var console = new StringBuilder();
        await RunExample(console);

        Assert.Equal(Block(ReadReadme(), "text").Trim(), console.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Trim());
    }

    private static string ReadReadme() => File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "README.md"));

    /// <summary>The first fenced block of the given language under <see cref="Section"/>.</summary>
    private static string Block(string readme, string language)
    {
        int at = readme.IndexOf(Section, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README has no section \"{Section}\"");
        Match match = Regex.Match(readme[at..], $"```{language}\\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, $"README has no {language} block under \"{Section}\"");
        return match.Groups[1].Value;
    }

    private static string Fold(string text) => WhiteSpace().Replace(text, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
