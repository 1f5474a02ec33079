using Microsoft.ML.Tokenizers;

namespace AttAnchor.Models.Tests;

/// <summary>
/// Microsoft.ML.Tokenizers' LlamaTokenizer on each fixture's tokenizer.model gives SentencePiece's ids
/// for the prompt split of <c>docs/spec/model-folder.md</c>: prefix = BOS + encode(text before
/// &lt;image&gt;), text = encode(text after &lt;image&gt; with the question filled in), no BOS.
/// </summary>
public class TokenizerTests
{
    /// <summary>One row per (fixture, prompt).</summary>
    public static TheoryData<string, int, string> Prompts
    {
        get
        {
            var rows = new TheoryData<string, int, string>();
            foreach (string fixture in FixturesWithReferences())
            {
                IReadOnlyList<PromptReference> prompts = Fixtures.Get(fixture).References.Prompts;
                for (int i = 0; i < prompts.Count; i++)
                {
                    rows.Add(fixture, i, prompts[i].Question);
                }
            }

            return rows;
        }
    }

    /// <summary>The fixtures whose references/ holds references.json.</summary>
    public static IEnumerable<string> FixturesWithReferences() =>
        Fixtures.Names.Where(n => File.Exists(Path.Combine(Fixtures.FixturesFolder, n, "references", "references.json")));

    /// <summary>Splits the template at &lt;image&gt; and encodes both sides as the spec says.</summary>
    public static (int[] Prefix, int[] Text) EncodePrompt(Tokenizer tokenizer, string template, int bos, string question)
    {
        int image = template.IndexOf("<image>", StringComparison.Ordinal);
        string before = template[..image];
        string after = template[(image + "<image>".Length)..].Replace("{question}", question, StringComparison.Ordinal);
        return ([bos, .. Encode(tokenizer, before)], [.. Encode(tokenizer, after)]);
    }

    /// <summary>SentencePiece encodes the empty string to no tokens (no dummy prefix alone).</summary>
    private static IReadOnlyList<int> Encode(Tokenizer tokenizer, string text) => text.Length == 0 ? [] : tokenizer.EncodeToIds(text);

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Prompt_ids_equal_SentencePieces(string fixture, int index, string question)
    {
        FixtureModel model = Fixtures.Get(fixture);
        PromptReference reference = model.References.Prompts[index];
        Assert.Equal(question, reference.Question);

        var (prefix, text) = EncodePrompt(model.Tokenizer, model.Settings.PromptTemplate, model.Settings.BosTokenId, question);

        Assert.Equal(reference.PrefixIds, prefix);
        Assert.Equal(reference.TextIds, text);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Text_pieces_and_question_range_agree_with_SentencePiece(string fixture, int index, string question)
    {
        FixtureModel model = Fixtures.Get(fixture);
        PromptReference reference = model.References.Prompts[index];
        var pieces = model.Tokenizer.Vocabulary.ToDictionary(p => p.Value, p => p.Key);

        // The question's tokens: those of the text after <image> up to and through the question,
        // less those of the text before it (as the reference tokenizer counts them).
        string after = model.Settings.PromptTemplate[(model.Settings.PromptTemplate.IndexOf("<image>", StringComparison.Ordinal) + "<image>".Length)..];
        string head = after[..after.IndexOf("{question}", StringComparison.Ordinal)];
        int start = Encode(model.Tokenizer, head).Count;
        int end = Encode(model.Tokenizer, head + question).Count;

        Assert.Equal(reference.TextPieces, reference.TextIds.Select(id => pieces[id]));
        Assert.Equal(reference.QuestionRange, [start, end]);
    }

    [Fact]
    public void Every_fixture_with_references_has_prompts()
    {
        string[] fixtures = [.. FixturesWithReferences()];

        Assert.True(fixtures.Length > 0, $"No fixture under {Fixtures.FixturesFolder} has references/references.json; regenerate them with models/make_fixtures.py.");
        Assert.All(fixtures, f => Assert.NotEmpty(Fixtures.Get(f).References.Prompts));
    }
}
