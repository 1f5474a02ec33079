using System.Text;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Encodes text to ids exactly as SentencePiece's BPE model does (<c>bpe_model.cc</c> and
/// <c>SentencePieceProcessor::Encode</c>), for identity-normalised models such as Llama's.
/// </summary>
/// <remarks>
/// <para>
/// Why not Microsoft.ML.Tokenizers' <c>LlamaTokenizer</c>: with the real Llama vocabulary it breaks ties between
/// merges of equal score at the rightmost pair, where SentencePiece (and Hugging Face) take the leftmost, so any run
/// of a repeated character (<c>*********</c>, <c>????</c>, sixteen spaces) got other ids than the model was trained on.
/// An encoder of its own is smaller than a wrapper that would have to undo that, and it is faster (see
/// <c>tests/AttAnchor.Benchmarks</c>, <c>TokenizerBenchmarks</c>).
/// </para>
/// <para>
/// The rule: normalise (<c>remove_extra_whitespaces</c> when the model says so, the dummy prefix <c>▁</c> when asked,
/// spaces to <c>▁</c>); split into characters (user-defined pieces whole); repeatedly merge the adjacent pair whose
/// joined text is a piece of the highest score, the leftmost pair among equals; split merged <c>UNUSED</c> pieces back;
/// map each symbol to its id, a symbol that is no piece to the pieces of its UTF-8 bytes (byte fallback) or to
/// <c>&lt;unk&gt;</c> (consecutive unknown symbols becoming one <c>&lt;unk&gt;</c>). Control pieces such as <c>&lt;s&gt;</c>
/// are never produced from text: <c>"&lt;s&gt;"</c> in the text is three characters.
/// </para>
/// </remarks>
internal sealed class SentencePieceBpe
{
    /// <summary>SentencePiece's space symbol, U+2581.</summary>
    public const char SpaceSymbol = '\u2581';

    private readonly SentencePieceModel _model;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieces;   // normal, user-defined, unused
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _reserved; // unknown, control, byte
    private readonly int[] _byteIds = new int[256];
    private readonly string[] _userDefined;                                               // longest first

    private SentencePieceBpe(SentencePieceModel model, Dictionary<string, int> pieces, Dictionary<string, int> reserved, string[] userDefined)
    {
        _model = model;
        _pieces = pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        _reserved = reserved.GetAlternateLookup<ReadOnlySpan<char>>();
        _userDefined = userDefined;
        Array.Fill(_byteIds, -1);
        for (int id = 0; id < model.Count; id++)
        {
            if (model.Types[id] == PieceType.Byte && TryParseBytePiece(model.Pieces[id], out byte value))
            {
                _byteIds[value] = id;
            }
        }
    }

    /// <summary>The model the encoder was built from.</summary>
    public SentencePieceModel Model => _model;

    /// <summary>Builds an encoder, refusing what it cannot encode exactly.</summary>
    /// <param name="model">A model read from <c>tokenizer.model</c>.</param>
    /// <param name="source">The file, for messages.</param>
    /// <exception cref="InvalidDataException">The model is not an identity-normalised BPE model with whitespace as a prefix, or its pieces are inconsistent.</exception>
    public static SentencePieceBpe Create(SentencePieceModel model, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        string? problem = model switch
        {
            { ModelType: not 2 } => $"is a {ModelTypeName(model.ModelType)} SentencePiece model; only BPE models (the Llama family's) are supported",
            { HasCharacterMap: true } => $"normalises text with '{model.NormalizerName}'; only identity normalisation (as Llama's tokenizer has) is supported",
            { TreatWhitespaceAsSuffix: true } => "treats whitespace as a suffix; only the prefix convention of Llama-family tokenizers is supported",
            _ when (uint)model.UnknownId >= (uint)model.Count || model.Types[model.UnknownId] != PieceType.Unknown =>
                $"names id {model.UnknownId} as <unk>, but that is not a piece of type UNKNOWN",
            _ => null,
        };
        if (problem is not null)
        {
            throw new InvalidDataException($"{source}: {problem}. Give the tokenizer.model of a Llama-family LLM.");
        }

        var pieces = new Dictionary<string, int>(model.Count, StringComparer.Ordinal);
        var reserved = new Dictionary<string, int>(StringComparer.Ordinal);
        var userDefined = new List<string>();
        for (int id = 0; id < model.Count; id++)
        {
            string piece = model.Pieces[id];
            PieceType type = model.Types[id];
            bool normal = type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused;
            if (piece.Length == 0 || !(normal ? pieces : reserved).TryAdd(piece, id) || (normal ? reserved : pieces).ContainsKey(piece))
            {
                throw new InvalidDataException($"{source}: piece {id} ('{piece}') is empty or given twice; the file is corrupt. Give an intact tokenizer.model.");
            }

            if (type == PieceType.UserDefined)
            {
                userDefined.Add(piece);
            }
        }

        return new SentencePieceBpe(model, pieces, reserved, [.. userDefined.OrderByDescending(p => p.Length)]);
    }

    /// <summary>Encodes text; the empty text (or only spaces, when extra whitespace is removed) gives no ids.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addDummyPrefix">Whether a <c>▁</c> goes in front (SentencePiece's <c>add_dummy_prefix</c>); pass the model's own setting for plain SentencePiece behaviour.</param>
    public int[] Encode(ReadOnlySpan<char> text, bool addDummyPrefix)
    {
        char[] normalized = Normalize(text, addDummyPrefix, _model.RemoveExtraWhitespaces, _model.EscapeWhitespaces);
        if (normalized.Length == 0)
        {
            return [];
        }

        var symbols = Split(normalized);
        Merge(normalized, symbols, out Dictionary<string, (string Left, string Right)>? unusedMerges);
        return ToIds(normalized, symbols, unusedMerges);
    }

    /// <summary>
    /// SentencePiece's identity normaliser: optional removal of extra spaces, the dummy prefix, spaces to <c>▁</c>.
    /// A lone surrogate becomes U+FFFD, as it would in the UTF-8 that SentencePiece reads.
    /// </summary>
    internal static char[] Normalize(ReadOnlySpan<char> text, bool addDummyPrefix, bool removeExtraWhitespaces, bool escapeWhitespaces)
    {
        char space = escapeWhitespaces ? SpaceSymbol : ' ';
        var output = new StringBuilder(text.Length + 1);
        bool pendingSpace = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])))
            {
                c = '\uFFFD';
            }

            if (c == ' ')
            {
                if (removeExtraWhitespaces)
                {
                    pendingSpace = output.Length > 0;
                }
                else
                {
                    output.Append(space);
                }

                continue;
            }

            if (pendingSpace)
            {
                output.Append(space);
                pendingSpace = false;
            }

            output.Append(c);
            if (char.IsHighSurrogate(c))
            {
                output.Append(text[++i]);
            }
        }

        if (output.Length > 0 && addDummyPrefix)
        {
            output.Insert(0, space);
        }

        return output.ToString().ToCharArray();
    }

    /// <summary>The initial symbols: one per character, a user-defined piece whole (and frozen).</summary>
    private List<Symbol> Split(char[] text)
    {
        var symbols = new List<Symbol>(text.Length);
        for (int at = 0; at < text.Length;)
        {
            int length = char.IsHighSurrogate(text[at]) && at + 1 < text.Length ? 2 : 1;
            bool frozen = false;
            foreach (string piece in _userDefined)
            {
                if (text.AsSpan(at).StartsWith(piece, StringComparison.Ordinal))
                {
                    length = piece.Length;
                    frozen = true;
                    break;
                }
            }

            int index = symbols.Count;
            symbols.Add(new Symbol(at, length, index - 1, at + length < text.Length ? index + 1 : -1, frozen));
            at += length;
        }

        return symbols;
    }

    /// <summary>The BPE loop: the best pair (highest score, then leftmost) is merged until no pair forms a piece.</summary>
    private void Merge(char[] text, List<Symbol> symbols, out Dictionary<string, (string Left, string Right)>? unusedMerges)
    {
        Dictionary<string, (string Left, string Right)>? unused = null;
        var agenda = new PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)>(symbols.Count, PairOrder.Instance);
        Span<Symbol> s = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);

        void TryAdd(Span<Symbol> s, int left, int right)
        {
            if (left < 0 || right < 0 || s[left].Frozen || s[right].Frozen)
            {
                return;
            }

            int length = s[left].Length + s[right].Length;
            if (!_pieces.TryGetValue(text.AsSpan(s[left].Start, length), out int id))
            {
                return;
            }

            agenda.Enqueue((left, right, length), (_model.Scores[id], left));
            if (_model.Types[id] == PieceType.Unused)
            {
                // As bpe_model.cc's rev_merge: keyed by the piece, the last pair that formed it wins.
                unused ??= new(StringComparer.Ordinal);
                unused[new string(text, s[left].Start, length)] = (new string(text, s[left].Start, s[left].Length), new string(text, s[right].Start, s[right].Length));
            }
        }

        for (int i = 1; i < s.Length; i++)
        {
            TryAdd(s, i - 1, i);
        }

        while (agenda.TryDequeue(out var pair, out _))
        {
            ref Symbol left = ref s[pair.Left];
            ref Symbol right = ref s[pair.Right];

            // Stale: one side was merged away or grew since the pair was queued (pieces only grow).
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != pair.Length)
            {
                continue;
            }

            left.Length = pair.Length;
            left.Next = right.Next;
            if (right.Next >= 0)
            {
                s[right.Next].Prev = pair.Left;
            }

            right.Length = 0;
            TryAdd(s, left.Prev, pair.Left);
            TryAdd(s, pair.Left, left.Next);
        }

        unusedMerges = unused;
    }

    /// <summary>The ids of the final symbols: unused pieces split back, unknown symbols to bytes or one &lt;unk&gt; per run.</summary>
    private int[] ToIds(char[] text, List<Symbol> symbols, Dictionary<string, (string Left, string Right)>? unusedMerges)
    {
        var ids = new List<int>(symbols.Count);
        var utf8 = new byte[8];
        bool previousUnknown = false;

        void Emit(ReadOnlySpan<char> piece)
        {
            int id = _pieces.TryGetValue(piece, out int found) ? found : _reserved.TryGetValue(piece, out found) ? found : _model.UnknownId;
            if (_model.Types[id] == PieceType.Unused && unusedMerges is not null
                && unusedMerges.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(piece, out var parts))
            {
                Emit(parts.Left);
                Emit(parts.Right);
                return;
            }

            bool unknown = _model.Types[id] == PieceType.Unknown;
            if (unknown && _model.ByteFallback)
            {
                int count = Encoding.UTF8.GetBytes(piece, utf8); // an unknown symbol is one character: at most 4 bytes
                foreach (byte b in utf8.AsSpan(0, count))
                {
                    ids.Add(_byteIds[b] >= 0 ? _byteIds[b] : _model.UnknownId);
                }

                previousUnknown = false;
                return;
            }

            if (!(unknown && previousUnknown))
            {
                ids.Add(id); // a run of unknown symbols is one <unk>, as SentencePiece merges them
            }

            previousUnknown = unknown;
        }

        for (int i = 0; i >= 0 && i < symbols.Count; i = symbols[i].Next)
        {
            Emit(text.AsSpan(symbols[i].Start, symbols[i].Length));
        }

        return [.. ids];
    }

    private static string ModelTypeName(int type) => type switch
    {
        1 => "unigram",
        3 => "word",
        4 => "char",
        _ => $"type-{type}",
    };

    /// <summary>Parses SentencePiece's byte piece spelling <c>&lt;0xNN&gt;</c>.</summary>
    internal static bool TryParseBytePiece(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6
            && piece.StartsWith("<0x", StringComparison.Ordinal)
            && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A symbol: a stretch of the normalised text, linked to its neighbours; length 0 once merged into its left neighbour.</summary>
    private record struct Symbol(int Start, int Length, int Prev, int Next, bool Frozen);

    /// <summary>SentencePiece's agenda order: the higher score first, then the pair further left.</summary>
    private sealed class PairOrder : IComparer<(float Score, int Left)>
    {
        public static readonly PairOrder Instance = new();

        public int Compare((float Score, int Left) x, (float Score, int Left) y) =>
            x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Left.CompareTo(y.Left);
    }
}
