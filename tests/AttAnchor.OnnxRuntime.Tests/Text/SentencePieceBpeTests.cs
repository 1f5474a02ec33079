using System.Text;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.Tests.Text;

/// <summary>
/// The library's SentencePiece BPE (a heap of candidate pairs over a linked list) against a naive one written from the
/// rule alone (scan every adjacent pair, merge the best, the leftmost of equals, repeat), on random strings over the
/// real Llama vocabulary; and its handling of bad <c>tokenizer.model</c> files.
/// </summary>
public class SentencePieceBpeTests
{
    private static Lazy<SentencePieceBpe> Llama => LlamaVocabularyTests.Encoder;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_strings_encode_as_the_naive_rule_does(int seed)
    {
        SentencePieceModel model = Llama.Value.Model;
        var pieces = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < model.Count; id++)
        {
            if (model.Types[id] == PieceType.Normal)
            {
                pieces[model.Pieces[id]] = id;
            }
        }

        var random = new Random(seed);
        string[] alphabet = ["a", "b", "e", " ", "  ", "*", "?", ".", "!", "-", "\n", "é", "猫", "🐈", "x", "1", "0", "\t", "\u0301"];
        for (int n = 0; n < 750; n++)
        {
            var text = new StringBuilder();
            int parts = random.Next(1, 24);
            for (int p = 0; p < parts; p++)
            {
                text.Append(random.Next(3) == 0 ? model.Pieces[random.Next(259, model.Count)].Replace('\u2581', ' ') : alphabet[random.Next(alphabet.Length)]);
            }

            bool prefix = random.Next(2) == 0;
            int[] expected = Naive(model, pieces, text.ToString(), prefix);
            int[] actual = Llama.Value.Encode(text.ToString(), prefix);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"\"{text}\" (dummy prefix {prefix}): naive [{string.Join(", ", expected)}], ours [{string.Join(", ", actual)}]");
        }
    }

    [Fact]
    public void Empty_and_space_only_texts()
    {
        Assert.Empty(Llama.Value.Encode(string.Empty, addDummyPrefix: true));
        Assert.Equal([29871], Llama.Value.Encode(string.Empty + " ", addDummyPrefix: false));
        Assert.Equal([259], Llama.Value.Encode(" ", addDummyPrefix: true));                // ▁ prefix + ▁ = ▁▁
    }

    [Fact]
    public void A_lone_surrogate_is_encoded_as_U_FFFD_would_be()
    {
        Assert.Equal(Llama.Value.Encode("a\uFFFDb", addDummyPrefix: true), Llama.Value.Encode("a\uD800b", addDummyPrefix: true));
        Assert.Equal(Llama.Value.Encode("\uFFFD", addDummyPrefix: false), Llama.Value.Encode("\uDC00", addDummyPrefix: false));
    }

    [Theory]
    [InlineData(0, "not a SentencePiece model")]    // empty
    [InlineData(1, "not a SentencePiece model")]    // cut short
    [InlineData(2, "not a SentencePiece model")]    // random bytes
    public void A_file_that_is_not_a_model_is_refused_naming_it(int kind, string expected)
    {
        byte[] real = File.ReadAllBytes(Path.Combine(LlamaVocabularyTests.Folder, "tokenizer.model"));
        byte[] bytes = kind switch
        {
            0 => [],
            1 => real[..(real.Length / 3)],
            _ => [.. Enumerable.Range(0, 4096).Select(i => (byte)((i * 7919) ^ (i >> 3)))],
        };

        var e = Assert.Throws<InvalidDataException>(() => SentencePieceModel.Parse(bytes, "/models/x/tokenizer.model"));

        Assert.StartsWith("/models/x/tokenizer.model: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_unigram_model_is_refused_as_such()
    {
        // The trainer spec's model_type (field 3) set to 1, unigram: ModelProto { trainer_spec { model_type: UNIGRAM } } after the pieces.
        byte[] real = File.ReadAllBytes(Path.Combine(LlamaVocabularyTests.Folder, "tokenizer.model"));
        byte[] unigram = [.. real, 0x12, 0x02, 0x18, 0x01];
        SentencePieceModel model = SentencePieceModel.Parse(unigram, "tokenizer.model");

        var e = Assert.Throws<InvalidDataException>(() => SentencePieceBpe.Create(model, "tokenizer.model"));

        Assert.Contains("unigram", e.Message, StringComparison.Ordinal);
        Assert.Contains("only BPE", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The rule, slowly: symbols are characters; merge the adjacent pair that forms the highest-scoring piece, leftmost first; unknown symbols to bytes.</summary>
    private static int[] Naive(SentencePieceModel model, Dictionary<string, int> pieces, string text, bool prefix)
    {
        string normalized = (prefix && text.Length > 0 ? "\u2581" : string.Empty) + text.Replace(' ', '\u2581');
        var symbols = new List<string>();
        for (int i = 0; i < normalized.Length; i += char.IsSurrogatePair(normalized, i) ? 2 : 1)
        {
            symbols.Add(normalized.Substring(i, char.IsSurrogatePair(normalized, i) ? 2 : 1));
        }

        while (true)
        {
            int best = -1;
            float bestScore = float.NegativeInfinity;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (pieces.TryGetValue(symbols[i] + symbols[i + 1], out int id) && model.Scores[id] > bestScore)
                {
                    best = i;
                    bestScore = model.Scores[id];
                }
            }

            if (best < 0)
            {
                break;
            }

            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }

        var ids = new List<int>();
        foreach (string symbol in symbols)
        {
            if (pieces.TryGetValue(symbol, out int id))
            {
                ids.Add(id);
            }
            else
            {
                ids.AddRange(Encoding.UTF8.GetBytes(symbol).Select(b => 3 + b)); // <0x00> is id 3 in Llama's vocabulary
            }
        }

        return [.. ids];
    }
}
