namespace AttAnchor.OnnxRuntime;

/// <summary>How SentencePiece decodes a piece (<see cref="DetokenizerTable"/>).</summary>
internal enum PieceKind : byte
{
    /// <summary>Normal, user-defined or unused: the piece with ▁ as a space.</summary>
    Normal,

    /// <summary>A byte-fallback piece &lt;0xNN&gt;.</summary>
    Byte,

    /// <summary>BOS, EOS, other control ids and ids beyond the vocabulary: nothing.</summary>
    Control,

    /// <summary>&lt;unk&gt;: <see cref="StreamingDetokenizer.UnknownSurface"/>.</summary>
    Unknown,
}

/// <summary>
/// The immutable id → text table a <see cref="StreamingDetokenizer"/> decodes with: each id's kind (normal,
/// byte, control, unknown), its text with <c>▁</c> as a space, its text without the leading <c>▁</c> (for the
/// dummy prefix), and its byte value. Built once per tokenizer and shared by every generation.
/// </summary>
internal sealed class DetokenizerTable
{
    private const char SpaceSymbol = '\u2581';

    /// <summary>Walks the tokenizer's pieces once.</summary>
    /// <param name="model">A Llama-style <c>tokenizer.model</c>.</param>
    /// <param name="extraControlIds">Ids that decode to nothing besides the model's control pieces, or <see langword="null"/>.</param>
    /// <exception cref="NotSupportedException">The model treats whitespace as a suffix, which Llama-family models never do.</exception>
    public DetokenizerTable(SentencePieceModel model, IEnumerable<int>? extraControlIds = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.TreatWhitespaceAsSuffix)
        {
            throw new NotSupportedException("The tokenizer treats whitespace as a suffix (treat_whitespace_as_suffix); only the prefix convention of Llama-family models is supported.");
        }

        int size = model.Count;
        Kinds = new PieceKind[size];
        Surfaces = new string[size];
        BosSurfaces = new string?[size];
        ByteValues = new byte[size];
        for (int id = 0; id < size; id++)
        {
            string piece = model.Pieces[id];
            switch (model.Types[id])
            {
                case PieceType.Byte when SentencePieceBpe.TryParseBytePiece(piece, out byte value):
                    Kinds[id] = PieceKind.Byte;
                    ByteValues[id] = value;
                    break;
                case PieceType.Control or PieceType.Byte:
                    Kinds[id] = PieceKind.Control;
                    Surfaces[id] = string.Empty;
                    break;
                case PieceType.Unknown:
                    Kinds[id] = PieceKind.Unknown;
                    Surfaces[id] = model.UnknownSurface;
                    break;
                default:
                    Kinds[id] = PieceKind.Normal;
                    Surfaces[id] = piece.Replace(SpaceSymbol, ' ');
                    if (piece.Length > 0 && piece[0] == SpaceSymbol)
                    {
                        BosSurfaces[id] = piece[1..].Replace(SpaceSymbol, ' ');
                    }

                    break;
            }
        }

        SetKind(model.BosId, PieceKind.Control, string.Empty);
        SetKind(model.EosId, PieceKind.Control, string.Empty);
        if (extraControlIds is not null)
        {
            foreach (int id in extraControlIds)
            {
                SetKind(id, PieceKind.Control, string.Empty);
            }
        }

        RemoveExtraWhitespaces = model.RemoveExtraWhitespaces;
        StripLeadingSpace = model.AddDummyPrefix || RemoveExtraWhitespaces;
    }

    /// <summary>Each id's kind; ids the vocabulary does not name are <see cref="PieceKind.Control"/>.</summary>
    public PieceKind[] Kinds { get; }

    /// <summary>Each normal id's text, <c>▁</c> as a space; the unknown surface for &lt;unk&gt;; empty otherwise.</summary>
    public string[] Surfaces { get; }

    /// <summary>Each normal id's text without its leading <c>▁</c>, when it has one (the dummy prefix's form).</summary>
    public string?[] BosSurfaces { get; }

    /// <summary>Each byte piece's value.</summary>
    public byte[] ByteValues { get; }

    /// <summary>Whether the first leading space of the output is dropped (dummy prefix or extra-whitespace removal).</summary>
    public bool StripLeadingSpace { get; }

    /// <summary>Whether the normaliser removes extra whitespace (every leading <c>▁</c> is dropped until there is output).</summary>
    public bool RemoveExtraWhitespaces { get; }

    private void SetKind(int id, PieceKind kind, string surface)
    {
        if (id >= 0 && id < Kinds.Length)
        {
            Kinds[id] = kind;
            Surfaces[id] = surface;
            BosSurfaces[id] = null;
        }
    }
}
