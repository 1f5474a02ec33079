using static AttAnchor.TestSupport.ReadmeBlocks;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// <c>samples/QuickStart</c> run as a developer runs it, <c>dotnet run</c> from the repository root, on the README's
/// example image and question: it streams the right answer, lists the AttAnchor copies and the device, and prints
/// what its README shows.
/// </summary>
public sealed class QuickStartTests
{
    private const string Question = "What color is the circle?";

    [Fact]
    public void Dotnet_run_answers_the_example_question_and_prints_the_anchors_its_README_shows()
    {
        string configuration = Dotnet.ConfigurationOf(typeof(QuickStartTests).Assembly);

        // Built with this project (a build-order reference), so it runs without building again.
        string stdout = Dotnet.Run(Fixtures.RepositoryRoot, TimeSpan.FromMinutes(3),
            "run", "--no-build", "-c", configuration, "--project", Path.Combine("samples", "QuickStart"), "--",
            Path.Combine("models", "shapes", "attanchor"), Path.Combine("models", "shapes", "example.png"), Question);

        string[] lines = stdout.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal($"Q: {Question}", lines[0]);
        Assert.Equal("A: Red.", lines[1]);
        Assert.Equal(ShapesModel.ExampleAnswer(Question), lines[1]["A: ".Length..]);
        Assert.Equal("stopped: EndOfSequence after 3 tokens", lines[2]);
        Assert.Equal("AttAnchor: 4 copies, sequence 62 -> 66 positions", lines[3]);
        Assert.Equal(4, lines.Count(l => l.StartsWith("  ", StringComparison.Ordinal) && l.Contains(" -> patch ", StringComparison.Ordinal)));
        Assert.StartsWith("device: cpu", lines[^1], StringComparison.Ordinal);

        string readme = File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "samples", "QuickStart", "README.md"));
        Assert.Equal(Block(readme, "# QuickStart", "text").Trim(), string.Join('\n', lines));
    }
}
