using System.Buffers;
using System.Text;
#if NET10_0_OR_GREATER
using PieceLookup = System.Collections.Generic.Dictionary<string, int>.AlternateLookup<System.ReadOnlySpan<char>>;
#else
using PieceLookup = AttAnchor.OnnxRuntime.SpanKeyLookup<int>;
#endif

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Encodes text to ids exactly as SentencePiece's BPE model does (<c>bpe_model.cc</c> and
/// <c>SentencePieceProcessor::Encode</c>), for identity-normalised models such as Llama's.
/// </summary>
/// <remarks>
/// Merges the adjacent pair of the highest score, the leftmost among equals, as SentencePiece does (where
/// Microsoft.ML.Tokenizers' <c>LlamaTokenizer</c> takes the rightmost); symbols that are no piece fall back to their
/// UTF-8 bytes or <c>&lt;unk&gt;</c>, and control pieces such as <c>&lt;s&gt;</c> are never produced from text.
/// See docs/decoding.md.
/// </remarks>
internal sealed class SentencePieceBpe
{
    /// <summary>SentencePiece's space symbol, U+2581.</summary>
    public const char SpaceSymbol = '\u2581';

    private readonly SentencePieceModel _model;
    private readonly PieceLookup _pieces;   // normal, user-defined, unused
    private readonly PieceLookup _reserved; // unknown, control, byte
    private readonly int[] _byteIds = new int[256];
    private readonly string[] _userDefined;                                               // longest first

    private SentencePieceBpe(SentencePieceModel model, Dictionary<string, int> pieces, Dictionary<string, int> reserved, string[] userDefined)
    {
        _model = model;
#if NET10_0_OR_GREATER
        _pieces = pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        _reserved = reserved.GetAlternateLookup<ReadOnlySpan<char>>();
#else
        _pieces = new PieceLookup(pieces);
        _reserved = new PieceLookup(reserved);
#endif
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

    /// <summary>Reads a <c>tokenizer.model</c> file and builds its encoder; errors name the file by its full path.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is not a SentencePiece model, or not one this encoder can encode exactly (<see cref="Create"/>).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SentencePieceBpe Open(string path)
    {
        string full = Path.GetFullPath(path);
        return Create(SentencePieceModel.Parse(File.ReadAllBytes(full), full), full);
    }

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
        char[] normalized = ArrayPool<char>.Shared.Rent(text.Length + 1);
        Symbol[] symbols = ArrayPool<Symbol>.Shared.Rent(text.Length + 1);
        Pair[] heap = ArrayPool<Pair>.Shared.Rent(2 * (text.Length + 1));
        int[] ids = ArrayPool<int>.Shared.Rent(4 * (text.Length + 1));
        try
        {
            int length = Normalize(text, addDummyPrefix, _model.RemoveExtraWhitespaces, _model.EscapeWhitespaces, normalized);
            if (length == 0)
            {
                return [];
            }

            ReadOnlySpan<char> chars = normalized.AsSpan(0, length);
            int count = Split(chars, symbols);
            Dictionary<string, (string Left, string Right)>? unusedMerges = Merge(chars, symbols.AsSpan(0, count), heap);
            return ToIds(chars, symbols.AsSpan(0, count), unusedMerges, ids);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ids);
            ArrayPool<Pair>.Shared.Return(heap);
            ArrayPool<Symbol>.Shared.Return(symbols);
            ArrayPool<char>.Shared.Return(normalized);
        }
    }

    /// <summary>
    /// SentencePiece's identity normaliser into <paramref name="destination"/> (at least text length + 1): optional removal
    /// of extra spaces, the dummy prefix, spaces to <c>▁</c>. A lone surrogate becomes U+FFFD, as it would in the UTF-8
    /// that SentencePiece reads. Returns the normalised length.
    /// </summary>
    internal static int Normalize(ReadOnlySpan<char> text, bool addDummyPrefix, bool removeExtraWhitespaces, bool escapeWhitespaces, Span<char> destination)
    {
        char space = escapeWhitespaces ? SpaceSymbol : ' ';
        int length = addDummyPrefix ? 1 : 0; // the prefix's place; dropped below when nothing follows it
        bool pendingSpace = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (char.IsSurrogate(c) && !pair)
            {
                c = '\uFFFD';
            }

            if (c == ' ')
            {
                if (!removeExtraWhitespaces)
                {
                    destination[length++] = space;
                    any = true;
                }
                else
                {
                    pendingSpace = any;
                }

                continue;
            }

            if (pendingSpace)
            {
                destination[length++] = space;
                pendingSpace = false;
            }

            destination[length++] = c;
            any = true;
            if (pair)
            {
                destination[length++] = text[++i];
            }
        }

        if (!any)
        {
            return 0;
        }

        if (addDummyPrefix)
        {
            destination[0] = space;
        }

        return length;
    }

    /// <summary>The initial symbols: one per character, a user-defined piece whole (and frozen). Returns their count.</summary>
    private int Split(ReadOnlySpan<char> text, Span<Symbol> symbols)
    {
        int count = 0;
        for (int at = 0; at < text.Length;)
        {
            int length = char.IsHighSurrogate(text[at]) && at + 1 < text.Length ? 2 : 1;
            bool frozen = false;
            foreach (string piece in _userDefined)
            {
                if (text[at..].StartsWith(piece, StringComparison.Ordinal))
                {
                    length = piece.Length;
                    frozen = true;
                    break;
                }
            }

            symbols[count] = new Symbol(at, length, count - 1, at + length < text.Length ? count + 1 : -1, frozen);
            count++;
            at += length;
        }

        return count;
    }

    /// <summary>
    /// The BPE loop: the best pair (highest score, then leftmost) is merged until no pair forms a piece. Returns how the
    /// unused pieces that were formed split back (<c>bpe_model.cc</c>'s <c>rev_merge</c>), or null when none was.
    /// </summary>
    private Dictionary<string, (string Left, string Right)>? Merge(ReadOnlySpan<char> text, Span<Symbol> s, Pair[] heap)
    {
        Dictionary<string, (string Left, string Right)>? unused = null;
        var agenda = new PairHeap(heap);
        for (int i = 1; i < s.Length; i++)
        {
            TryAdd(text, s, i - 1, i, ref agenda, ref unused);
        }

        while (agenda.TryPop(out Pair pair))
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
            TryAdd(text, s, left.Prev, pair.Left, ref agenda, ref unused);
            TryAdd(text, s, pair.Left, left.Next, ref agenda, ref unused);
        }

        return unused;
    }

    /// <summary>Queues the pair (left, right) when their joined text is a piece.</summary>
    private void TryAdd(ReadOnlySpan<char> text, Span<Symbol> s, int left, int right, ref PairHeap agenda, ref Dictionary<string, (string Left, string Right)>? unused)
    {
        if (left < 0 || right < 0 || s[left].Frozen || s[right].Frozen)
        {
            return;
        }

        int length = s[left].Length + s[right].Length;
        if (!_pieces.TryGetValue(text.Slice(s[left].Start, length), out int id))
        {
            return;
        }

        agenda.Push(new Pair(_model.Scores[id], left, right, length));
        if (_model.Types[id] == PieceType.Unused)
        {
            // As rev_merge: keyed by the piece, the last pair that formed it wins.
            unused ??= new(StringComparer.Ordinal);
            unused[text.Slice(s[left].Start, length).ToString()] = (text.Slice(s[left].Start, s[left].Length).ToString(), text.Slice(s[right].Start, s[right].Length).ToString());
        }
    }

    /// <summary>The ids of the final symbols: unused pieces split back, unknown symbols to bytes or one &lt;unk&gt; per run.</summary>
    private int[] ToIds(ReadOnlySpan<char> text, ReadOnlySpan<Symbol> symbols, Dictionary<string, (string Left, string Right)>? unusedMerges, int[] ids)
    {
        int count = 0;
        bool previousUnknown = false;
        for (int i = 0; i >= 0 && i < symbols.Length; i = symbols[i].Next)
        {
            Emit(text.Slice(symbols[i].Start, symbols[i].Length), unusedMerges, ids, ref count, ref previousUnknown);
        }

        return ids.AsSpan(0, count).ToArray();
    }

    private void Emit(ReadOnlySpan<char> piece, Dictionary<string, (string Left, string Right)>? unusedMerges, int[] ids, ref int count, ref bool previousUnknown)
    {
        int id = _pieces.TryGetValue(piece, out int found) ? found : _reserved.TryGetValue(piece, out found) ? found : _model.UnknownId;
        if (_model.Types[id] == PieceType.Unused && unusedMerges is not null
#if NET10_0_OR_GREATER
            && unusedMerges.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(piece, out var parts))
#else
            && new SpanKeyLookup<(string Left, string Right)>(unusedMerges).TryGetValue(piece, out var parts))
#endif
        {
            Emit(parts.Left, unusedMerges, ids, ref count, ref previousUnknown);
            Emit(parts.Right, unusedMerges, ids, ref count, ref previousUnknown);
            return;
        }

        bool unknown = _model.Types[id] == PieceType.Unknown;
        if (unknown && _model.ByteFallback)
        {
            Span<byte> utf8 = stackalloc byte[8];
            int bytes = Encoding.UTF8.GetBytes(piece, utf8); // an unknown symbol is one character: at most 4 bytes
            foreach (byte b in utf8[..bytes])
            {
                ids[count++] = _byteIds[b] >= 0 ? _byteIds[b] : _model.UnknownId;
            }

            previousUnknown = false;
            return;
        }

        if (!(unknown && previousUnknown))
        {
            ids[count++] = id; // a run of unknown symbols is one <unk>, as SentencePiece merges them
        }

        previousUnknown = unknown;
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

    /// <summary>A candidate merge of two adjacent symbols into a piece of <see cref="Length"/> characters.</summary>
    private readonly record struct Pair(float Score, int Left, int Right, int Length)
    {
        /// <summary>SentencePiece's agenda order: the higher score first, then the pair further left.</summary>
        public bool Before(Pair other) => Score != other.Score ? Score > other.Score : Left < other.Left;
    }

    /// <summary>A binary max-heap of pairs in a caller's buffer (each merge adds at most two pairs, so 2 × symbols fit).</summary>
    private ref struct PairHeap(Pair[] buffer)
    {
        private readonly Pair[] _items = buffer;
        private int _count;

        public void Push(Pair pair)
        {
            int at = _count++;
            while (at > 0)
            {
                int parent = (at - 1) / 2;
                if (!pair.Before(_items[parent]))
                {
                    break;
                }

                _items[at] = _items[parent];
                at = parent;
            }

            _items[at] = pair;
        }

        public bool TryPop(out Pair top)
        {
            if (_count == 0)
            {
                top = default;
                return false;
            }

            top = _items[0];
            Pair last = _items[--_count];
            int at = 0;
            while (true)
            {
                int child = (2 * at) + 1;
                if (child >= _count)
                {
                    break;
                }

                if (child + 1 < _count && _items[child + 1].Before(_items[child]))
                {
                    child++;
                }

                if (!_items[child].Before(last))
                {
                    break;
                }

                _items[at] = _items[child];
                at = child;
            }

            _items[at] = last;
            return true;
        }
    }
}
