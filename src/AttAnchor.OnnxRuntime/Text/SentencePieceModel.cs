using System.Buffers.Binary;
using System.Text;

namespace AttAnchor.OnnxRuntime;

/// <summary>The type of a SentencePiece piece, as <c>sentencepiece_model.proto</c> numbers them.</summary>
internal enum PieceType
{
    /// <summary>An ordinary piece that BPE merges may produce.</summary>
    Normal = 1,

    /// <summary>The unknown piece <c>&lt;unk&gt;</c>.</summary>
    Unknown = 2,

    /// <summary>A control piece such as <c>&lt;s&gt;</c> or <c>&lt;/s&gt;</c>: never produced from text, decodes to nothing.</summary>
    Control = 3,

    /// <summary>A piece always matched whole in the text, never split or merged.</summary>
    UserDefined = 4,

    /// <summary>A piece merges may form but the output never holds: it is split back into the two it came from.</summary>
    Unused = 5,

    /// <summary>A byte-fallback piece <c>&lt;0xNN&gt;</c>.</summary>
    Byte = 6,
}

/// <summary>
/// A SentencePiece BPE <c>tokenizer.model</c> as read from its protobuf bytes: the pieces with their scores
/// and types, and the trainer and normaliser settings that encoding and decoding need.
/// </summary>
/// <remarks>
/// Read with a protobuf reader of its own (the format is small and stable): the fields of
/// <c>sentencepiece_model.proto</c> that matter here are <c>ModelProto.pieces</c> (1), <c>trainer_spec</c> (2),
/// <c>normalizer_spec</c> (3); unknown fields are skipped, as protobuf requires.
/// </remarks>
internal sealed class SentencePieceModel
{
    /// <summary>SentencePiece's default <c>unk_surface</c>, " ⁇ ".</summary>
    public const string DefaultUnknownSurface = " \u2047 ";

    private SentencePieceModel()
    {
    }

    /// <summary>Each id's piece text, with <c>▁</c> (U+2581) for a space.</summary>
    public string[] Pieces { get; private set; } = [];

    /// <summary>Each id's score: a BPE merge that forms a higher-scoring piece is applied first.</summary>
    public float[] Scores { get; private set; } = [];

    /// <summary>Each id's type.</summary>
    public PieceType[] Types { get; private set; } = [];

    /// <summary>The number of pieces.</summary>
    public int Count => Pieces.Length;

    /// <summary><c>trainer_spec.model_type</c>: 1 unigram, 2 BPE, 3 word, 4 char.</summary>
    public int ModelType { get; private set; } = 1;

    /// <summary><c>trainer_spec.byte_fallback</c>: characters no piece covers become their UTF-8 bytes' pieces.</summary>
    public bool ByteFallback { get; private set; }

    /// <summary><c>trainer_spec.treat_whitespace_as_suffix</c>.</summary>
    public bool TreatWhitespaceAsSuffix { get; private set; }

    /// <summary><c>trainer_spec.unk_id</c>.</summary>
    public int UnknownId { get; private set; }

    /// <summary><c>trainer_spec.bos_id</c>; −1 when the model has none.</summary>
    public int BosId { get; private set; } = 1;

    /// <summary><c>trainer_spec.eos_id</c>; −1 when the model has none.</summary>
    public int EosId { get; private set; } = 2;

    /// <summary><c>trainer_spec.unk_surface</c>: what the unknown piece decodes to.</summary>
    public string UnknownSurface { get; private set; } = DefaultUnknownSurface;

    /// <summary><c>normalizer_spec.name</c>, e.g. <c>identity</c>.</summary>
    public string NormalizerName { get; private set; } = string.Empty;

    /// <summary>Whether <c>normalizer_spec.precompiled_charsmap</c> holds a character mapping (NFKC and the like).</summary>
    public bool HasCharacterMap { get; private set; }

    /// <summary><c>normalizer_spec.add_dummy_prefix</c>: a <c>▁</c> goes in front of non-empty text.</summary>
    public bool AddDummyPrefix { get; private set; } = true;

    /// <summary><c>normalizer_spec.remove_extra_whitespaces</c>: leading, trailing and repeated spaces are dropped.</summary>
    public bool RemoveExtraWhitespaces { get; private set; } = true;

    /// <summary><c>normalizer_spec.escape_whitespaces</c>: spaces become <c>▁</c>.</summary>
    public bool EscapeWhitespaces { get; private set; } = true;

    /// <summary>Reads a <c>tokenizer.model</c> file: the pieces, the trainer spec and the normaliser spec, each required.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a complete SentencePiece model; the message names <paramref name="source"/>.</exception>
    public static SentencePieceModel Parse(ReadOnlySpan<byte> bytes, string source)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<PieceType>();
        var model = new SentencePieceModel();
        bool sawTrainerSpec = false, sawNormalizerSpec = false;
        try
        {
            var reader = new ProtoReader(bytes);
            while (reader.Next(out int field, out int wire))
            {
                switch (field, wire)
                {
                    case (1, ProtoReader.Length):
                        ReadPiece(reader.Bytes(), pieces, scores, types);
                        break;
                    case (2, ProtoReader.Length):
                        model.ReadTrainerSpec(reader.Bytes());
                        sawTrainerSpec = true;
                        break;
                    case (3, ProtoReader.Length):
                        model.ReadNormalizerSpec(reader.Bytes());
                        sawNormalizerSpec = true;
                        break;
                    default:
                        reader.Skip(wire);
                        break;
                }
            }
        }
        catch (FormatException e)
        {
            throw NotAModel(source, e.Message, e);
        }

        if (pieces.Count == 0)
        {
            throw NotAModel(source, "it holds no pieces", null);
        }

        if (!sawTrainerSpec || !sawNormalizerSpec)
        {
            throw NotAModel(source, $"it ends after {pieces.Count} pieces without its {(sawTrainerSpec ? "normalizer_spec" : "trainer_spec")}, so it is truncated", null);
        }

        model.Pieces = [.. pieces];
        model.Scores = [.. scores];
        model.Types = [.. types];
        return model;
    }

    /// <summary>The one error of a file that does not parse as a SentencePiece model: the file, why, and what to do.</summary>
    private static InvalidDataException NotAModel(string source, string why, Exception? inner) =>
        new($"{source}: not a SentencePiece model ({why}). Copy tokenizer.model again from the model's checkpoint (the LLM's own tokenizer.model), or export the model folder again.", inner);

    private static void ReadPiece(ReadOnlySpan<byte> message, List<string> pieces, List<float> scores, List<PieceType> types)
    {
        string piece = string.Empty;
        float score = 0;
        var type = PieceType.Normal;
        var reader = new ProtoReader(message);
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, ProtoReader.Length):
                    piece = reader.String();
                    break;
                case (2, ProtoReader.Fixed32):
                    score = reader.Float();
                    break;
                case (3, ProtoReader.VarintType):
                    long value = (long)reader.Varint();
                    type = value is >= 1 and <= 6 ? (PieceType)value : throw new FormatException($"piece {pieces.Count} has the unknown type {value}");
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        pieces.Add(piece);
        scores.Add(score);
        types.Add(type);
    }

    private void ReadTrainerSpec(ReadOnlySpan<byte> message)
    {
        var reader = new ProtoReader(message);
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (3, ProtoReader.VarintType):
                    ModelType = (int)reader.Varint();
                    break;
                case (24, ProtoReader.VarintType):
                    TreatWhitespaceAsSuffix = reader.Varint() != 0;
                    break;
                case (35, ProtoReader.VarintType):
                    ByteFallback = reader.Varint() != 0;
                    break;
                case (40, ProtoReader.VarintType):
                    UnknownId = (int)reader.Varint(); // int32: a negative id is a sign-extended varint
                    break;
                case (41, ProtoReader.VarintType):
                    BosId = (int)reader.Varint();
                    break;
                case (42, ProtoReader.VarintType):
                    EosId = (int)reader.Varint();
                    break;
                case (44, ProtoReader.Length):
                    UnknownSurface = reader.String();
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    private void ReadNormalizerSpec(ReadOnlySpan<byte> message)
    {
        var reader = new ProtoReader(message);
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, ProtoReader.Length):
                    NormalizerName = reader.String();
                    break;
                case (2, ProtoReader.Length):
                    HasCharacterMap = reader.Bytes().Length > 0;
                    break;
                case (3, ProtoReader.VarintType):
                    AddDummyPrefix = reader.Varint() != 0;
                    break;
                case (4, ProtoReader.VarintType):
                    RemoveExtraWhitespaces = reader.Varint() != 0;
                    break;
                case (5, ProtoReader.VarintType):
                    EscapeWhitespaces = reader.Varint() != 0;
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    /// <summary>A forward reader of protobuf's wire format; every malformed input is a <see cref="FormatException"/>.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        public const int VarintType = 0;
        public const int Fixed64 = 1;
        public const int Length = 2;
        public const int Fixed32 = 5;

        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        /// <summary>Reads the next field's number and wire type; false at the end.</summary>
        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_at >= _data.Length)
            {
                return false;
            }

            ulong key = Varint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            return field > 0 ? true : throw new FormatException($"field number 0 at byte {_at}");
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_at >= _data.Length)
                {
                    throw new FormatException("the data ends inside a number");
                }

                byte b = _data[_at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new FormatException($"a number longer than 10 bytes at byte {_at}");
        }

        public float Float() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

        public ReadOnlySpan<byte> Bytes()
        {
            ulong length = Varint();
            return length <= (ulong)(_data.Length - _at) ? Take((int)length) : throw new FormatException($"a field of {length} bytes runs past the end at byte {_at}");
        }

        public string String()
        {
            ReadOnlySpan<byte> bytes = Bytes();
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new FormatException($"a string field that is not UTF-8 before byte {_at}");
            }
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case VarintType:
                    Varint();
                    break;
                case Fixed64:
                    Take(8);
                    break;
                case Length:
                    Bytes();
                    break;
                case Fixed32:
                    Take(4);
                    break;
                default:
                    throw new FormatException($"the wire type {wire} at byte {_at} (groups and unknown types are not in SentencePiece models)");
            }
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > _data.Length - _at)
            {
                throw new FormatException($"the data ends inside a field at byte {_at}");
            }

            ReadOnlySpan<byte> slice = _data.Slice(_at, count);
            _at += count;
            return slice;
        }
    }
}
