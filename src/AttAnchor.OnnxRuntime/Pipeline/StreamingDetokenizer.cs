using System.Globalization;
using System.Text;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Turns the token ids of a generation into text as they arrive, for a Llama-family SentencePiece
/// model: the pieces returned by <see cref="Append"/> and <see cref="Flush"/>, concatenated, equal
/// what SentencePiece's <c>decode(ids)</c> returns for the whole sequence.
/// </summary>
/// <remarks>
/// It follows sentencepiece's <c>SentencePieceProcessor::Decode</c> (Python package 0.1.97), byte fallback and the
/// dummy prefix included. A character is held back only while its bytes may still complete it, so every prefix of
/// the output is a prefix of the final text. Not thread-safe: one instance per generation. See docs/decoding.md.
/// </remarks>
internal sealed class StreamingDetokenizer
{
    private const string ReplacementString = "\uFFFD";

    /// <summary>SentencePiece's default <c>unk_surface</c>: " ⁇ ".</summary>
    internal const string UnknownSurface = " \u2047 ";

    private static readonly string[] AsciiStrings = CreateAsciiStrings();

    private readonly DetokenizerTable _table;
    private readonly PieceKind[] _kinds;
    private readonly string[] _surfaces;
    private readonly string?[] _bosSurfaces;
    private readonly byte[] _byteValues;
    private readonly bool _stripLeadingSpace;
    private readonly bool _removeExtraWhitespaces;
    private readonly byte[] _pending = new byte[4];
    private readonly char[] _chars = new char[8];
    private int _pendingCount;
    private bool _isBosWhitespace;
    private bool _bosWhitespaceSeen;
    private bool _outputEmpty;

    /// <summary>Builds the id → text table of the tokenizer's vocabulary and a decoder over it.</summary>
    /// <param name="model">A Llama-style <c>tokenizer.model</c>.</param>
    /// <param name="extraControlIds">Ids that decode to nothing besides the model's control pieces, or <see langword="null"/>.</param>
    /// <exception cref="NotSupportedException">The model treats whitespace as a suffix, which Llama-family models never do.</exception>
    public StreamingDetokenizer(SentencePieceModel model, IEnumerable<int>? extraControlIds = null)
        : this(new DetokenizerTable(model, extraControlIds))
    {
    }

    /// <summary>A decoder over a table built once (per model) and shared: only the decoding state is new.</summary>
    /// <param name="table">The vocabulary's id → text table.</param>
    public StreamingDetokenizer(DetokenizerTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        _table = table;
        _kinds = table.Kinds;
        _surfaces = table.Surfaces;
        _bosSurfaces = table.BosSurfaces;
        _byteValues = table.ByteValues;
        _stripLeadingSpace = table.StripLeadingSpace;
        _removeExtraWhitespaces = table.RemoveExtraWhitespaces;
        Reset();
    }

    /// <summary>The number of ids the table covers (the tokenizer's vocabulary size).</summary>
    public int VocabularySize => _table.Kinds.Length;

    /// <summary>
    /// Takes the next generated id and returns the text it completes: a piece's text, a character
    /// whose last byte this was, U+FFFD for bytes that can no longer form a character, or
    /// <see cref="string.Empty"/> when nothing is complete yet.
    /// </summary>
    /// <param name="id">A token id; ids at or beyond <see cref="VocabularySize"/> decode to nothing.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is negative.</exception>
    public string Append(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        PieceKind kind = id < _kinds.Length ? _kinds[id] : PieceKind.Control;
        if (kind == PieceKind.Byte)
        {
            _pending[_pendingCount++] = _byteValues[id];
            int written = Drain(endOfRun: false);
            return Emit(written);
        }

        // A non-byte piece ends the byte run: what is left of it becomes U+FFFD.
        int flushed = _pendingCount > 0 ? Drain(endOfRun: true) : 0;
        if (flushed > 0)
        {
            _outputEmpty = false;
        }

        if (_bosWhitespaceSeen || !_outputEmpty)
        {
            _isBosWhitespace = false;
        }

        string surface = string.Empty;
        bool strippedBosWhitespace = false;
        if (kind == PieceKind.Normal)
        {
            string? stripped = _bosSurfaces[id];
            if (_isBosWhitespace && _stripLeadingSpace && stripped is not null)
            {
                surface = stripped;
                strippedBosWhitespace = !_removeExtraWhitespaces;
            }
            else
            {
                surface = _surfaces[id];
            }
        }
        else if (kind == PieceKind.Unknown)
        {
            surface = _surfaces[id];
        }

        _bosWhitespaceSeen = strippedBosWhitespace;
        if (surface.Length > 0)
        {
            _outputEmpty = false;
        }

        if (flushed == 0)
        {
            return surface;
        }

        return surface.Length == 0
            ? Emit(flushed)
            : string.Concat(_chars.AsSpan(0, flushed), surface.AsSpan());
    }

    /// <summary>
    /// Ends the text: returns U+FFFD for each byte of an unfinished character (or
    /// <see cref="string.Empty"/>) and resets the state, so the next <see cref="Append"/> starts a new text.
    /// </summary>
    public string Flush()
    {
        int written = _pendingCount > 0 ? Drain(endOfRun: true) : 0;
        string text = Emit(written);
        Reset();
        return text;
    }

    /// <summary>Forgets everything appended since the start or the last <see cref="Flush"/>.</summary>
    public void Reset()
    {
        _pendingCount = 0;
        _isBosWhitespace = true;
        _bosWhitespaceSeen = false;
        _outputEmpty = true;
    }

    /// <summary>
    /// Decodes the pending bytes into <see cref="_chars"/> as far as they are decided, SentencePiece's
    /// way: a valid UTF-8 character (no overlong form, surrogate or code point above U+10FFFF) or one
    /// U+FFFD per byte that cannot start one. At the end of a run an unfinished character is
    /// decided too (each of its bytes becomes U+FFFD). Returns the number of chars written.
    /// </summary>
    private int Drain(bool endOfRun)
    {
        Span<byte> pending = _pending.AsSpan(0, _pendingCount);
        int written = 0;
        int start = 0;
        while (start < pending.Length)
        {
            byte lead = pending[start];
            int length = lead < 0x80 ? 1
                : (lead & 0xE0) == 0xC0 ? 2
                : (lead & 0xF0) == 0xE0 ? 3
                : (lead & 0xF8) == 0xF0 ? 4
                : 0;
            int available = pending.Length - start;
            if (length == 1)
            {
                _chars[written++] = (char)lead;
                start++;
                continue;
            }

            bool invalid = length == 0;
            for (int k = 1; !invalid && k < Math.Min(length, available); k++)
            {
                invalid = (pending[start + k] & 0xC0) != 0x80;
            }

            if (!invalid && available < length)
            {
                if (!endOfRun)
                {
                    break; // the next bytes may still complete it
                }

                invalid = true;
            }

            if (!invalid)
            {
                int codePoint = length switch
                {
                    2 => ((lead & 0x1F) << 6) | (pending[start + 1] & 0x3F),
                    3 => ((lead & 0x0F) << 12) | ((pending[start + 1] & 0x3F) << 6) | (pending[start + 2] & 0x3F),
                    _ => ((lead & 0x07) << 18) | ((pending[start + 1] & 0x3F) << 12) | ((pending[start + 2] & 0x3F) << 6) | (pending[start + 3] & 0x3F),
                };
                int minimum = length switch { 2 => 0x80, 3 => 0x800, _ => 0x10000 };
                if (codePoint >= minimum && codePoint <= 0x10FFFF && (codePoint < 0xD800 || codePoint > 0xDFFF))
                {
                    written += new Rune(codePoint).EncodeToUtf16(_chars.AsSpan(written));
                    start += length;
                    continue;
                }
            }

            _chars[written++] = '\uFFFD';
            start++;
        }

        // Keep the undecided tail (at most 3 bytes) at the front.
        pending[start..].CopyTo(_pending);
        _pendingCount = pending.Length - start;
        return written;
    }

    /// <summary>The first <paramref name="count"/> chars of <see cref="_chars"/> as a string, cached when it is one ASCII char or U+FFFD.</summary>
    private string Emit(int count)
    {
        if (count == 0)
        {
            return string.Empty;
        }

        _outputEmpty = false;
        if (count == 1)
        {
            char c = _chars[0];
            if (c < 0x80)
            {
                return AsciiStrings[c];
            }

            if (c == '\uFFFD')
            {
                return ReplacementString;
            }
        }

        return new string(_chars, 0, count);
    }

    private static string[] CreateAsciiStrings()
    {
        var strings = new string[128];
        for (int c = 0; c < strings.Length; c++)
        {
            strings[c] = ((char)c).ToString();
        }

        return strings;
    }
}
