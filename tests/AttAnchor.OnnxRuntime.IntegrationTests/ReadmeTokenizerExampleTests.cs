using System.Globalization;
using System.Text;
using static AttAnchor.TestSupport.ReadmeBlocks;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// Keeps the AttAnchor.OnnxRuntime package README's "Tokenizing a prompt" example true: the README holds the code
/// below, and its output block is what that code prints.
/// </summary>
public class ReadmeTokenizerExampleTests
{
    private const string Readme = "src/AttAnchor.OnnxRuntime/README.md";
    private const string Section = "## Tokenizing a prompt";

    /// <summary>The README's example, as the README shows it (compared with white space folded).</summary>
    private const string ExampleSource = """
        using AttAnchor.OnnxRuntime;

        PromptTokenizer tokenizer = PromptTokenizer.Open("models/shapes/attanchor"); // attanchor.json and tokenizer.model only
        PromptTokens prompt = tokenizer.Tokenize("What color is the circle?");
        Console.WriteLine(string.Join(" ", prompt.InputIds));
        Console.WriteLine(string.Join(" ", prompt.InputIds.Select(id => tokenizer.GetPiece(id).Replace("\n", "\\n"))));
        Console.WriteLine($"<image> at {prompt.ImageTokenPosition}, the question at {prompt.Question}");
        """;

    /// <summary>Runs the example from the repository root, writing to <paramref name="console"/> instead of the console.</summary>
    private static void RunExample(StringBuilder console)
    {
        PromptTokenizer tokenizer = PromptTokenizer.Open(Path.Combine(Fixtures.RepositoryRoot, "models/shapes/attanchor"));
        PromptTokens prompt = tokenizer.Tokenize("What color is the circle?");
        console.AppendLine(string.Join(" ", prompt.InputIds));
        console.AppendLine(string.Join(" ", prompt.InputIds.Select(id => tokenizer.GetPiece(id).Replace("\n", "\\n", StringComparison.Ordinal))));
        console.AppendLine(CultureInfo.InvariantCulture, $"<image> at {prompt.ImageTokenPosition}, the question at {prompt.Question}");
    }

    [Fact]
    public void Readme_code_example_is_the_tested_one()
    {
        string code = Block(ReadReadme(), Section, "csharp");
        Assert.Equal(Fold(ExampleSource), Fold(code));
    }

    [Fact]
    public void Readme_output_is_what_the_example_prints()
    {
        var console = new StringBuilder();
        RunExample(console);

        Assert.Equal(Block(ReadReadme(), Section, "text").Trim(), console.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Trim());
    }

    private static string ReadReadme() => File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, Readme));
}
