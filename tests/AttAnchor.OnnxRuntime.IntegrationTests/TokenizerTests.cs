using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// The library's prompt tokenizer on each fixture's tokenizer.model gives Python sentencepiece's ids for the prompt
/// split of <c>docs/spec/model-folder.md</c>: prefix = BOS + encode(text before &lt;image&gt;), text = encode(text
/// after &lt;image&gt; with the question filled in), no BOS; and <see cref="PromptTokenizer.Tokenize"/> joins them
/// around the image token as Hugging Face's processor does.
/// </summary>
public class TokenizerTests
{
    /// <summary>One row per (fixture, prompt).</summary>
    public static TheoryData<string, int, string> Prompts => ReferenceCases.Prompts;

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Prompt_ids_equal_SentencePieces(string fixture, int index, string question)
    {
        FixtureModel model = Fixtures.Get(fixture);
        PromptReference reference = model.References.Prompts[index];
        Assert.Equal(question, reference.Question);
        PromptTokenizer tokenizer = PromptTokenizer.Open(model.Folder);

        Prompt prompt = tokenizer.Build(question);

        Assert.Equal(reference.PrefixIds, prompt.PrefixIds);
        Assert.Equal(reference.TextIds, prompt.TextIds);
        if (string.IsNullOrWhiteSpace(question))
        {
            Assert.Throws<ArgumentException>(() => tokenizer.Tokenize(question)); // the references hold the empty question for the split alone
            return;
        }

        PromptTokens tokens = tokenizer.Tokenize(question);
        Assert.Equal([.. reference.PrefixIds, tokenizer.ImageTokenId, .. reference.TextIds], tokens.InputIds);
        Assert.Equal(reference.PrefixIds.Count, tokens.ImageTokenPosition);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Text_pieces_and_question_range_agree_with_SentencePiece(string fixture, int index, string question)
    {
        FixtureModel model = Fixtures.Get(fixture);
        PromptReference reference = model.References.Prompts[index];
        PromptTokenizer tokenizer = PromptTokenizer.Open(model.Folder);

        Prompt prompt = tokenizer.Build(question);

        Assert.Equal(reference.TextPieces, prompt.TextIds.Select(tokenizer.GetPiece));
        Assert.Equal(reference.QuestionRange, [prompt.Question.Start.Value, prompt.Question.End.Value]);
        if (string.IsNullOrWhiteSpace(question))
        {
            return;
        }

        PromptTokens tokens = tokenizer.Tokenize(question);
        int offset = reference.PrefixIds.Count + 1;
        Assert.Equal(reference.QuestionRange, [tokens.Question.Start.Value - offset, tokens.Question.End.Value - offset]);
        Assert.Equal("<image>", tokenizer.GetPiece(tokens.InputIds[tokens.ImageTokenPosition]));
    }

    [Fact]
    public void Every_fixture_with_references_has_prompts()
    {
        string[] fixtures = [.. ReferenceCases.FixturesWithReferences()];

        Assert.True(fixtures.Length > 0, $"No fixture under {Fixtures.FixturesFolder} has references/references.json; regenerate them with tools/python/make_fixtures.py.");
        Assert.All(fixtures, f => Assert.NotEmpty(Fixtures.Get(f).References.Prompts));
    }
}
