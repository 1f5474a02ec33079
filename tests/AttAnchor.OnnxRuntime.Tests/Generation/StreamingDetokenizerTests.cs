using System.Text;

namespace AttAnchor.OnnxRuntime.Tests.Generation;

/// <summary>
/// <see cref="StreamingDetokenizer"/> on the fixture tokenizer against SentencePiece's own decodes
/// (<see cref="DetokenizerCases"/>), step by step where the timing matters, and its allocations.
/// </summary>
public class StreamingDetokenizerTests
{
    private const int Bos = 1;
    private const int Eos = 2;
    private const int Unknown = 0;
    private const int A = 293;     // "▁a"
    private const int T = 259;     // "▁t"
    private const int Space = 451; // "▁"

    private static int Byte(int value) => value + 3;

    /// <summary>Feeds the ids one by one, then flushes; returns every returned piece (the flush last).</summary>
    private static List<string> Stream(StreamingDetokenizer detokenizer, IEnumerable<int> ids)
    {
        var pieces = new List<string>();
        foreach (int id in ids)
        {
            pieces.Add(detokenizer.Append(id));
        }

        pieces.Add(detokenizer.Flush());
        return pieces;
    }

    private static bool IsWellFormedUtf16(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    [Theory]
    [MemberData(nameof(DetokenizerCases.SentencePieceDecodes), MemberType = typeof(DetokenizerCases))]
    public void Streamed_pieces_concatenate_to_SentencePieces_decode(string name, int[] ids, string expected)
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);
        List<string> pieces = Stream(detokenizer, ids);

        Assert.Equal(expected, string.Concat(pieces));

        var soFar = new StringBuilder();
        foreach (string piece in pieces)
        {
            Assert.True(IsWellFormedUtf16(piece), $"{name}: the piece \"{piece}\" splits a surrogate pair.");
            soFar.Append(piece);
            Assert.StartsWith(soFar.ToString(), expected, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(DetokenizerCases.SentencePieceDecodes), MemberType = typeof(DetokenizerCases))]
    public void Flush_resets_so_the_next_text_decodes_the_same(string name, int[] ids, string expected)
    {
        _ = name; // the row's label, shown in the test's name
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);
        _ = Stream(detokenizer, [A, Byte(0xF0), Byte(0x9F), Space]);
        _ = detokenizer.Append(Byte(0xE7)); // left pending, then discarded
        detokenizer.Reset();

        Assert.Equal(expected, string.Concat(Stream(detokenizer, ids)));
        Assert.Equal(expected, string.Concat(Stream(detokenizer, ids)));
    }

    /// <summary>(ids, what each Append returns, what Flush returns).</summary>
    public static TheoryData<int[], string[], string> Steps => new()
    {
        // A character comes out whole with its last byte, never before.
        { [Byte(0xC3), Byte(0xA9)], ["", "\u00E9"], "" },
        { [Byte(0xE7), Byte(0x8C), Byte(0xAB)], ["", "", "\u732B"], "" },
        { [Byte(0xF0), Byte(0x9F), Byte(0x90), Byte(0x88)], ["", "", "", "\U0001F408"], "" },
        { [A, Byte(0xF0), Byte(0x9F), Byte(0x90), Byte(0x88), A], ["a", "", "", "", "\U0001F408", " a"], "" },
        // An unfinished character is decided by what ends the run: a piece, a control token, Flush.
        { [Byte(0xF0), Byte(0x9F), Byte(0x90)], ["", "", ""], "\uFFFD\uFFFD\uFFFD" },
        { [Byte(0xF0), Byte(0x9F), Byte(0x90), A], ["", "", "", "\uFFFD\uFFFD\uFFFD a"], "" },
        { [Byte(0xC3), Eos, Byte(0xA9)], ["", "\uFFFD", "\uFFFD"], "" },
        // ... or by a byte that cannot continue it, at once.
        { [Byte(0xC3), Byte(0x41)], ["", "\uFFFDA"], "" },
        { [Byte(0xE7), Byte(0x8C), Byte(0x41)], ["", "", "\uFFFD\uFFFDA"], "" },
        { [Byte(0xE7), Byte(0xF0), Byte(0x9F), Byte(0x90), Byte(0x88)], ["", "\uFFFD", "", "", "\U0001F408"], "" },
        // Invalid bytes come out at once, one U+FFFD each; ASCII bytes too.
        { [Byte(0x80), Byte(0xFF), Byte(0x41), Byte(0x0A)], ["\uFFFD", "\uFFFD", "A", "\n"], "" },
        // Overlong and surrogate forms are decided when their last byte arrives.
        { [Byte(0xC0), Byte(0x80)], ["", "\uFFFD\uFFFD"], "" },
        { [Byte(0xED), Byte(0xA0), Byte(0x80)], ["", "", "\uFFFD\uFFFD\uFFFD"], "" },
        // The dummy prefix: the first piece that starts with ▁ loses it, once.
        { [Bos, Space, A, T], ["", "", " a", " t"], "" },
        { [Space, Eos, A], ["", "", " a"], "" },
        { [Eos, A, Eos], ["", "a", ""], "" },
        { [Unknown, A], [" \u2047 ", " a"], "" },
        { [Byte(0x20), A], [" ", " a"], "" },
        // Ids beyond the tokenizer's vocabulary decode to nothing (and end a byte run).
        { [A, 512, 40000, T], ["a", "", "", " t"], "" },
        { [Byte(0xC3), 600], ["", "\uFFFD"], "" },
    };

    [Theory]
    [MemberData(nameof(Steps))]
    public void Each_append_returns_exactly_what_it_completes(int[] ids, string[] expected, string flushed)
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);
        string[] actual = [.. ids.Select(detokenizer.Append)];

        Assert.Equal(expected, actual);
        Assert.Equal(flushed, detokenizer.Flush());
    }

    [Fact]
    public void Covers_the_tokenizers_vocabulary()
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);

        Assert.Equal(FixtureTokenizer.Instance.Count, detokenizer.VocabularySize);
        Assert.Equal(512, detokenizer.VocabularySize);
    }

    [Fact]
    public void Every_piece_alone_decodes_as_SentencePiece_spells_it()
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);
        for (int id = 0; id < FixtureTokenizer.Instance.Count; id++)
        {
            string piece = FixtureTokenizer.Instance.Pieces[id];
            // After "▁a" the dummy prefix is spent, so a normal piece reads as itself with ▁ → space.
            _ = detokenizer.Append(A);
            string text = detokenizer.Append(id) + detokenizer.Flush();
            string expected = id switch
            {
                Unknown => " \u2047 ",
                Bos or Eos => "",
                >= 3 and <= 258 => (id - 3) < 0x80 ? ((char)(id - 3)).ToString() : "\uFFFD",
                _ => piece.Replace('\u2581', ' '),
            };

            Assert.True(expected == text, $"id {id} ({piece}): got \"{text}\", expected \"{expected}\".");
        }
    }

    [Fact]
    public void Extra_control_ids_decode_to_nothing()
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance, extraControlIds: [T]);

        Assert.Equal("a", string.Concat(Stream(detokenizer, [A, T])));
    }

    [Fact]
    public void A_negative_id_is_refused()
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);

        Assert.Throws<ArgumentOutOfRangeException>(() => detokenizer.Append(-1));
    }

    [Fact]
    public void Append_allocates_nothing_in_steady_state_for_pieces_ascii_bytes_invalid_bytes_and_control_tokens()
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);
        int[] ids = [A, T, Space, Byte(0x41), Byte(0x80), Bos, Eos, Unknown, Byte(0xFF), 300, 400];
        long allocated = Allocations.SteadyStateBytes(i => detokenizer.Append(ids[i % ids.Length]));
        _ = detokenizer.Flush();

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Multibyte_characters_allocate_only_the_returned_strings()
    {
        var detokenizer = new StreamingDetokenizer(FixtureTokenizer.Instance);
        int[] ids = [Byte(0xF0), Byte(0x9F), Byte(0x90), Byte(0x88), Byte(0xC3), Byte(0xA9), A];
        long allocated = Allocations.SteadyStateBytes(i => detokenizer.Append(ids[i % ids.Length]), calls: 700, warmUp: 700);

        // 100 rounds of two new strings ("🐈" and "é"), each at most 32 bytes on a 64-bit runtime.
        Assert.InRange(allocated, 1, 100 * 2 * 32);
    }
}
