using System.Text;
using System.Text.Json;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// <see cref="StreamingDetokenizer"/> on each fixture's tokenizer against the texts SentencePiece decoded
/// for the references: every reference generation fed token by token gives exactly its <c>text</c>
/// (these tiny random models emit many byte-fallback tokens, most of them invalid UTF-8), and every
/// prefix of the stream is a prefix of that text; the prompt ids decode back to the prompt.
/// </summary>
public class DetokenizerReferenceTests
{
    /// <summary>One row per (fixture, generation) whose reference has a text (it has none when an id is beyond the tokenizer).</summary>
    public static TheoryData<string, int> Generations
    {
        get
        {
            var rows = new TheoryData<string, int>();
            foreach (string fixture in ReferenceCases.FixturesWithReferences())
            {
                string?[] texts = ReferenceTexts(fixture);
                for (int i = 0; i < texts.Length; i++)
                {
                    if (texts[i] is not null)
                    {
                        rows.Add(fixture, i);
                    }
                }
            }

            return rows;
        }
    }

    /// <summary>
    /// <c>generations[i].text</c> of a fixture's references.json (SentencePiece's <c>decode(tokens)</c>),
    /// read here because <see cref="GenerationReference"/> does not carry it.
    /// </summary>
    private static string?[] ReferenceTexts(string fixture)
    {
        string path = Path.Combine(Fixtures.FixturesFolder, fixture, "references", "references.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        return [.. document.RootElement.GetProperty("generations").EnumerateArray()
            .Select(g => g.GetProperty("text").ValueKind == JsonValueKind.Null ? null : g.GetProperty("text").GetString())];
    }

    /// <summary>Feeds the ids one by one, checks that the text so far stays a prefix of <paramref name="expected"/>, and returns the whole text.</summary>
    private static string Stream(StreamingDetokenizer detokenizer, IEnumerable<int> ids, string expected)
    {
        var text = new StringBuilder();
        int step = 0;
        foreach (int id in ids)
        {
            text.Append(detokenizer.Append(id));
            string soFar = text.ToString();
            Assert.True(expected.StartsWith(soFar, StringComparison.Ordinal),
                $"After token {step} (id {id}) the stream reads \"{soFar}\", which is not a prefix of \"{expected}\".");
            step++;
        }

        text.Append(detokenizer.Flush());
        return text.ToString();
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public void Streaming_a_generation_gives_SentencePieces_text(string fixture, int index)
    {
        FixtureModel model = Fixtures.Get(fixture);
        GenerationReference generation = model.References.Generations[index];
        string expected = ReferenceTexts(fixture)[index]!;
        var detokenizer = new StreamingDetokenizer(model.Tokenizer.Model);

        Assert.Equal(expected, Stream(detokenizer, generation.Tokens, expected));
    }

    [Theory]
    [MemberData(nameof(TokenizerTests.Prompts), MemberType = typeof(TokenizerTests))]
    public void Streaming_the_prompt_ids_gives_the_prompt_text(string fixture, int index, string question)
    {
        FixtureModel model = Fixtures.Get(fixture);
        PromptReference reference = model.References.Prompts[index];
        string template = model.Settings.PromptTemplate;
        int image = template.IndexOf("<image>", StringComparison.Ordinal);
        string before = template[..image];
        string after = template[(image + "<image>".Length)..].Replace("{question}", question, StringComparison.Ordinal);
        var detokenizer = new StreamingDetokenizer(model.Tokenizer.Model);

        // The prefix starts with BOS, which decodes to nothing; the text part has its own dummy prefix.
        Assert.Equal(before, Stream(detokenizer, reference.PrefixIds, before));
        Assert.Equal(after, Stream(detokenizer, reference.TextIds, after));
    }

    [Fact]
    public void Some_fixture_has_generations_with_text()
    {
        Assert.NotEmpty(Generations);
    }
}
