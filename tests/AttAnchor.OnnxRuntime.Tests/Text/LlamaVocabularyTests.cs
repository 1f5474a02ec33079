using System.Text;
using System.Text.Json;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.Tests.Text;

/// <summary>
/// The library's SentencePiece encoder and decoder on the real Llama / Llama 2 vocabulary (32,000 pieces,
/// models/fixtures/llama-tokenizer) against Python sentencepiece's ids for 9,809 strings: questions, numbers, runs of
/// every ASCII character, whitespace, scripts, emoji, code, byte fallback. One row per category of the reference.
/// </summary>
public class LlamaVocabularyTests
{
    /// <summary>The fixture folder: tokenizer.model and sentencepiece-reference.jsonl.</summary>
    public static string Folder => Path.Combine(Fixtures.FixturesFolder, "llama-tokenizer");

    /// <summary>The encoder of the fixture's tokenizer.model, opened once for every test that needs it.</summary>
    internal static readonly Lazy<SentencePieceBpe> Encoder = new(() => SentencePieceBpe.Open(Path.Combine(Folder, "tokenizer.model")));

    private static readonly Lazy<IReadOnlyList<ReferenceString>> Strings = new(Read);

    /// <summary>The reference's categories.</summary>
    public static TheoryData<string> Categories => [.. Strings.Value.Select(s => s.Category).Distinct()];

    [Fact]
    public void The_reference_holds_every_category_the_issue_names_and_enough_strings()
    {
        string[] categories = [.. Strings.Value.Select(s => s.Category).Distinct()];

        Assert.True(Strings.Value.Count >= 5000, $"{Strings.Value.Count} strings");
        Assert.Subset(categories.ToHashSet(), new HashSet<string>(["vqa", "numbers", "runs-punctuation", "runs-letters", "whitespace", "latin", "cjk", "emoji", "arabic", "code-csharp", "byte-fallback"]));
    }

    [Fact]
    public void The_model_is_Llamas()
    {
        SentencePieceModel model = Encoder.Value.Model;

        Assert.Equal(32000, model.Count);
        Assert.Equal((0, 1, 2), (model.UnknownId, model.BosId, model.EosId));
        Assert.Equal(("<unk>", "<s>", "</s>", "<0x0A>", "▁▁", "▁t"), (model.Pieces[0], model.Pieces[1], model.Pieces[2], model.Pieces[13], model.Pieces[259], model.Pieces[260]));
        Assert.True(model.ByteFallback && model.AddDummyPrefix && !model.RemoveExtraWhitespaces && !model.HasCharacterMap);
        Assert.Equal([15043, 3186, 29991], Encoder.Value.Encode("Hello world!", addDummyPrefix: true));
    }

    [Theory]
    [MemberData(nameof(Categories))]
    public void Ids_equal_SentencePieces_with_the_dummy_prefix(string category) =>
        AssertAll(category, s => s.Ids, s => Encoder.Value.Encode(s.Text, addDummyPrefix: true));

    [Theory]
    [MemberData(nameof(Categories))]
    public void Ids_equal_SentencePieces_without_the_dummy_prefix(string category) =>
        AssertAll(category, s => s.IdsNoDummyPrefix, s => Encoder.Value.Encode(s.Text, addDummyPrefix: false));

    /// <summary>SentencePiece escapes a space as U+2581, so a U+2581 in the text comes back as a space: that is its own round trip too.</summary>
    [Theory]
    [MemberData(nameof(Categories))]
    public void Decoding_the_ids_gives_the_text_back(string category)
    {
        var table = new DetokenizerTable(Encoder.Value.Model);
        AssertAll(category, s => Encoding.UTF8.GetBytes(s.Text.Replace('\u2581', ' ')), s =>
        {
            var detokenizer = new StreamingDetokenizer(table);
            var text = new StringBuilder();
            foreach (int id in s.Ids)
            {
                text.Append(detokenizer.Append(id));
            }

            return Encoding.UTF8.GetBytes(text.Append(detokenizer.Flush()).ToString());
        });
    }

    [Theory]
    [InlineData("*********", new[] { 334, 4189 }, new[] { 4189, 29930 })]          // ▁* ********   ******** *  (the leftmost of equal merges first)
    [InlineData("????", new[] { 1577, 28772 }, new[] { 8773, 8773 })]
    [InlineData(".....", new[] { 6317, 856 }, new[] { 18598 })]
    [InlineData("aaaa", new[] { 263, 7340, 29874 }, new[] { 27137 })]
    [InlineData("                ", new[] { 462, 29871 }, new[] { 462 })]     // sixteen spaces
    public void Runs_break_ties_leftmost_as_SentencePiece_does(string text, int[] withPrefix, int[] withoutPrefix)
    {
        Assert.Equal(withPrefix, Encoder.Value.Encode(text, addDummyPrefix: true));
        Assert.Equal(withoutPrefix, Encoder.Value.Encode(text, addDummyPrefix: false));
    }

    private static void AssertAll<T>(string category, Func<ReferenceString, T[]> expected, Func<ReferenceString, T[]> actual)
    {
        ReferenceString[] strings = [.. Strings.Value.Where(s => s.Category == category)];
        var wrong = new List<string>();
        foreach (ReferenceString s in strings)
        {
            T[] want = expected(s), got = actual(s);
            if (!want.AsSpan().SequenceEqual(got) && wrong.Count < 5)
            {
                wrong.Add($"{JsonSerializer.Serialize(s.Text)}: expected [{string.Join(", ", want)}], got [{string.Join(", ", got)}]");
            }
            else if (!want.AsSpan().SequenceEqual(got))
            {
                wrong.Add("…");
            }
        }

        Assert.True(strings.Length > 0, $"no strings in category {category}");
        Assert.True(wrong.Count == 0, $"{wrong.Count(w => w != "…") + wrong.Count(w => w == "…")} of {strings.Length} '{category}' strings differ:\n{string.Join("\n", wrong.Where(w => w != "…"))}");
    }

    private static IReadOnlyList<ReferenceString> Read()
    {
        string path = Path.Combine(Folder, "sentencepiece-reference.jsonl");
        var strings = new List<ReferenceString>();
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                continue;
            }

            using JsonDocument json = JsonDocument.Parse(line);
            JsonElement root = json.RootElement;
            strings.Add(new ReferenceString(
                root.GetProperty("text").GetString()!,
                root.GetProperty("category").GetString()!,
                [.. root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())],
                [.. root.GetProperty("ids_no_dummy_prefix").EnumerateArray().Select(e => e.GetInt32())]));
        }

        return strings;
    }

    private sealed record ReferenceString(string Text, string Category, int[] Ids, int[] IdsNoDummyPrefix);
}
