using System.Globalization;
using System.Text;
using static AttAnchor.TestSupport.ReadmeBlocks;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// Keeps the AttAnchor.OnnxRuntime package README's "Many questions about one image" example true: the README holds
/// the code below, and its output block is what that code prints.
/// </summary>
public class ReadmeImageSessionExampleTests
{
    private const string Readme = "src/AttAnchor.OnnxRuntime/README.md";
    private const string Section = "## Many questions about one image";

    /// <summary>The README's example, as the README shows it (compared with white space folded).</summary>
    private const string ExampleSource = """
        using AttAnchor.OnnxRuntime;

        using var model = VisionLanguageModel.Open("models/shapes/attanchor");
        using ImageSession session = model.OpenImage(model.LoadImage("models/shapes/example.png")); // encoded once, here
        var plain = new GenerationOptions { Anchoring = AttAnchorOptions.Off };
        foreach (string question in new[] { "Is there a red circle in the image?", "Is there a yellow square in the image?", "What shape is blue?" })
        {
            VqaResult result = await session.AnswerAsync(question, plain);              // the plain LLaVA sequence
            VqaResult anchored = await session.AnswerAsync(question);                   // the model's AttAnchor, τ = 0.164
            Console.WriteLine($"{question} {result.Text} reused {result.ReusedPrefixLength} of {result.SequenceLength}; AttAnchor: {anchored.Text} reused {anchored.ReusedPrefixLength} of {anchored.SequenceLength}");
        }
        """;

    /// <summary>Runs the example from the repository root, writing to <paramref name="console"/> instead of the console.</summary>
    private static async Task RunExample(StringBuilder console)
    {
        string root = Fixtures.RepositoryRoot;
        using var model = VisionLanguageModel.Open(Path.Combine(root, "models/shapes/attanchor"));
        using ImageSession session = model.OpenImage(model.LoadImage(Path.Combine(root, "models/shapes/example.png")));
        var plain = new GenerationOptions { Anchoring = AttAnchorOptions.Off };
        foreach (string question in new[] { "Is there a red circle in the image?", "Is there a yellow square in the image?", "What shape is blue?" })
        {
            VqaResult result = await session.AnswerAsync(question, plain);
            VqaResult anchored = await session.AnswerAsync(question);
            console.AppendLine(CultureInfo.InvariantCulture, $"{question} {result.Text} reused {result.ReusedPrefixLength} of {result.SequenceLength}; AttAnchor: {anchored.Text} reused {anchored.ReusedPrefixLength} of {anchored.SequenceLength}");
        }
    }

    [Fact]
    public void Readme_code_example_is_the_tested_one()
    {
        string code = Block(ReadReadme(), Section, "csharp");
        Assert.Equal(Fold(ExampleSource), Fold(code));
    }

    [Fact]
    public async Task Readme_output_is_what_the_example_prints()
    {
        var console = new StringBuilder();
        await RunExample(console);

        Assert.Equal(Block(ReadReadme(), Section, "text").Trim(), console.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Trim());
    }

    private static string ReadReadme() => File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, Readme));
}
