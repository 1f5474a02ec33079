using System.Text.Json;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// The console's <c>tokenize</c> command: the prompt's ids as Hugging Face's LLaVA processor gives them before the image
/// is expanded (BOS, text, the image token once, text), from attanchor.json and tokenizer.model alone.
/// </summary>
public sealed class TokenizeCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-tokenize-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string, int, string> Prompts => ReferenceCases.Prompts;

    [Theory]
    [MemberData(nameof(Prompts))]
    public async Task Json_gives_the_reference_prompt_around_the_image_token(string fixture, int index, string question)
    {
        FixtureModel model = Fixtures.Get(fixture);
        PromptReference reference = model.References.Prompts[index];

        var (code, stdout, stderr) = await VqaConsole.Run("tokenize", "--model", model.Folder, "--question", question, "--json");

        if (string.IsNullOrWhiteSpace(question))
        {
            Assert.Equal(2, code);
            Assert.Equal(string.Empty, stdout);
            Assert.Contains("empty", stderr, StringComparison.Ordinal);
            return;
        }

        Assert.True(code == 0, $"exit {code}: {stderr}");
        using JsonDocument json = JsonDocument.Parse(stdout);
        JsonElement root = json.RootElement;
        int image = root.GetProperty("image_token_id").GetInt32();
        Assert.Equal(512, image); // no image_token_index in the fixture: the first id after its 512 pieces
        Assert.Equal([.. reference.PrefixIds, image, .. reference.TextIds], root.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(reference.PrefixIds.Count, root.GetProperty("image_token_index").GetInt32());
        Assert.Equal("<image>", root.GetProperty("pieces")[reference.PrefixIds.Count].GetString());
        Assert.Equal(reference.TextPieces, root.GetProperty("pieces").EnumerateArray().Skip(reference.PrefixIds.Count + 1).Select(e => e.GetString()));
    }

    [Fact]
    public async Task It_needs_only_attanchor_json_and_tokenizer_model()
    {
        string fixture = Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa");
        File.Copy(Path.Combine(fixture, "attanchor.json"), Path.Combine(_folder, "attanchor.json"));
        File.Copy(Path.Combine(fixture, "tokenizer.model"), Path.Combine(_folder, "tokenizer.model"));

        var (code, stdout, stderr) = await VqaConsole.Run("tokenize", "--model", _folder, "--question", "What color is the circle?");

        Assert.True(code == 0, $"exit {code}: {stderr}");
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("<image>", StringComparison.Ordinal) && l.Contains("512", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("▁circle", StringComparison.Ordinal) && l.Contains("(question)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("0 ", StringComparison.Ordinal) && l.Contains("<s>", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains('\r')); // a piece holding a newline is printed escaped, on its line
    }

    [Fact]
    public async Task A_folder_without_tokenizer_model_is_one_line_naming_the_file()
    {
        File.Copy(Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa", "attanchor.json"), Path.Combine(_folder, "attanchor.json"));

        var (code, stdout, stderr) = await VqaConsole.Run("tokenize", "--model", _folder, "--question", "Hi?");

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("tokenizer.model", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_corrupt_tokenizer_model_is_one_line_naming_the_file()
    {
        File.Copy(Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa", "attanchor.json"), Path.Combine(_folder, "attanchor.json"));
        byte[] model = File.ReadAllBytes(Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa", "tokenizer.model"));
        File.WriteAllBytes(Path.Combine(_folder, "tokenizer.model"), model[..(model.Length / 2)]);

        var (code, stdout, stderr) = await VqaConsole.Run("tokenize", "--model", _folder, "--question", "Hi?");

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains(Path.Combine(_folder, "tokenizer.model"), stderr, StringComparison.Ordinal);
        Assert.Contains("not a SentencePiece model", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_image_placeholder_in_the_question_is_refused()
    {
        var (code, stdout, stderr) = await VqaConsole.Run("tokenize", "--question", "What is <image>?");

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("<image>", stderr, StringComparison.Ordinal);
    }
}
