using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace AttAnchor.GraphCheck;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format 1.0; 2.0 and 3.0 are read too), optionally
/// gzip-compressed (<c>.npy.gz</c>).
/// </summary>
/// <remarks>
/// <para>The layout: the magic <c>"\x93NUMPY"</c>, the format version (two bytes, e.g. 1 0), the
/// header length (uint16 little-endian in 1.0, uint32 in 2.0/3.0), an ASCII Python dict literal such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 7, 64), }</c> padded with spaces and
/// ending in <c>\n</c>, then the raw C-order element bytes.</para>
/// <para>Supported dtypes: <c>'&lt;f4'</c>, <c>'&lt;f2'</c>, <c>'&lt;i8'</c>, <c>'|u1'</c>. A Fortran-order
/// array, another dtype, a truncated file or trailing bytes are errors (<see cref="GraphCheckException"/>).</para>
/// </remarks>
public static class Npy
{
    /// <summary>The six bytes every .npy file starts with: 0x93 then "NUMPY".</summary>
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a <c>.npy</c> or gzip-compressed <c>.npy.gz</c> file (gzip is recognised by its magic bytes, not the name).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The array.</returns>
    /// <exception cref="GraphCheckException">The file is missing, not gzip/npy, or holds an unsupported array.</exception>
    public static HostTensor ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new GraphCheckException($"{path}: file not found.");
        }

        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
            if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
            {
                using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var inflated = new MemoryStream();
                gzip.CopyTo(inflated);
                raw = inflated.ToArray();
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new GraphCheckException($"{path}: cannot read the file ({e.Message}).", e);
        }

        return Parse(raw, path);
    }

    /// <summary>Parses the bytes of an uncompressed <c>.npy</c> file.</summary>
    /// <param name="npy">The whole file.</param>
    /// <param name="source">What to call the data in error messages (a file name).</param>
    /// <returns>The array.</returns>
    /// <exception cref="GraphCheckException">The bytes are not a supported .npy array.</exception>
    public static HostTensor Parse(ReadOnlySpan<byte> npy, string source = "npy data")
    {
        if (npy.Length < 10 || !npy[..6].SequenceEqual(Magic))
        {
            throw new GraphCheckException($"{source}: not a .npy file (the magic \"\\x93NUMPY\" is missing).");
        }

        byte major = npy[6], minor = npy[7];
        int headerLength, headerStart;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(npy[8..]);
                headerStart = 10;
                break;
            case 2 or 3 when npy.Length >= 12:
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(npy[8..]);
                if (length > int.MaxValue)
                {
                    throw new GraphCheckException($"{source}: the .npy header length {length} is implausible.");
                }

                headerLength = (int)length;
                headerStart = 12;
                break;
            default:
                throw new GraphCheckException($"{source}: .npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are).");
        }

        if (npy.Length - headerStart < headerLength)
        {
            throw new GraphCheckException($"{source}: the .npy header is truncated ({headerLength} bytes announced, {npy.Length - headerStart} present).");
        }

        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(npy.Slice(headerStart, headerLength));
        var (type, shape) = ParseHeader(header, source);
        long count = HostTensor.ElementCount(shape);
        long expected = checked(count * HostTensor.SizeOf(type));
        ReadOnlySpan<byte> data = npy[(headerStart + headerLength)..];
        if (data.Length != expected)
        {
            string what = data.Length < expected ? "truncated" : "followed by extra bytes";
            throw new GraphCheckException(
                $"{source}: the data is {what}: shape {HostTensor.FormatShape(shape)} of {Describe(type)} needs {expected} bytes, the file has {data.Length}.");
        }

        return new HostTensor(type, shape, data.ToArray());
    }

    /// <summary>Writes an array as a <c>.npy</c> file, format 1.0, header padded to 64 bytes as NumPy does.</summary>
    /// <param name="destination">The stream to write to.</param>
    /// <param name="tensor">The array.</param>
    public static void Write(Stream destination, HostTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(tensor);
        string dict = $"{{'descr': '{Describe(tensor.ElementType)}', 'fortran_order': False, 'shape': {HostTensor.FormatShape(tensor.Shape)}, }}";
        int unpadded = 10 + dict.Length + 1;
        int padding = (64 - (unpadded % 64)) % 64;
        string header = dict + new string(' ', padding) + "\n";
        if (header.Length > ushort.MaxValue)
        {
            throw new ArgumentException("The array has too many dimensions for a format 1.0 header.", nameof(tensor));
        }

        Span<byte> prefix = stackalloc byte[10];
        Magic.CopyTo(prefix);
        prefix[6] = 1;
        prefix[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], (ushort)header.Length);
        destination.Write(prefix);
        destination.Write(Encoding.ASCII.GetBytes(header));
        destination.Write(tensor.Bytes);
    }

    /// <summary>Writes an array as a gzip-compressed <c>.npy.gz</c> file.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="tensor">The array.</param>
    public static void WriteGzipFile(string path, HostTensor tensor)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.SmallestSize);
        Write(gzip, tensor);
    }

    /// <summary>The NumPy dtype string of an element type: <c>&lt;f4</c>, <c>&lt;f2</c>, <c>&lt;i8</c> or <c>|u1</c>.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>The dtype string.</returns>
    public static string Describe(HostElementType type) => type switch
    {
        HostElementType.Float32 => "<f4",
        HostElementType.Float16 => "<f2",
        HostElementType.Int64 => "<i8",
        HostElementType.UInt8 => "|u1",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    private static HostElementType ParseDescr(string descr, string source) => descr switch
    {
        "<f4" => HostElementType.Float32,
        "<f2" => HostElementType.Float16,
        "<i8" => HostElementType.Int64,
        "|u1" or "<u1" => HostElementType.UInt8,
        _ => throw new GraphCheckException(
            $"{source}: dtype '{descr}' is not supported (float32 '<f4', float16 '<f2', int64 '<i8' and uint8 '|u1' are)."),
    };

    /// <summary>Parses the header's dict literal: string keys; string, bool and int-tuple values.</summary>
    private static (HostElementType Type, long[] Shape) ParseHeader(string header, string source)
    {
        var reader = new LiteralReader(header, source);
        Dictionary<string, object> dict = reader.ReadDict();
        reader.ExpectEnd();

        if (!dict.TryGetValue("descr", out object? descr) || descr is not string descrText)
        {
            throw new GraphCheckException($"{source}: the .npy header has no 'descr' string: {header.Trim()}");
        }

        if (!dict.TryGetValue("fortran_order", out object? fortran) || fortran is not bool fortranOrder)
        {
            throw new GraphCheckException($"{source}: the .npy header has no 'fortran_order' flag: {header.Trim()}");
        }

        if (fortranOrder)
        {
            throw new GraphCheckException($"{source}: the array is stored in Fortran order; only C-order arrays are supported (save with np.ascontiguousarray).");
        }

        if (!dict.TryGetValue("shape", out object? shapeValue) || shapeValue is not long[] shape)
        {
            throw new GraphCheckException($"{source}: the .npy header has no 'shape' tuple: {header.Trim()}");
        }

        if (dict.Count != 3)
        {
            throw new GraphCheckException($"{source}: the .npy header has unexpected keys: {header.Trim()}");
        }

        return (ParseDescr(descrText, source), shape);
    }

    /// <summary>A reader for the subset of Python literals a .npy header uses.</summary>
    private ref struct LiteralReader(string text, string source)
    {
        private int _position;

        public Dictionary<string, object> ReadDict()
        {
            Expect('{');
            var dict = new Dictionary<string, object>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpace();
                if (TryConsume('}'))
                {
                    return dict;
                }

                string key = ReadString();
                Expect(':');
                object value = ReadValue();
                if (!dict.TryAdd(key, value))
                {
                    throw Error($"the key '{key}' appears twice");
                }

                SkipSpace();
                if (!TryConsume(','))
                {
                    Expect('}');
                    return dict;
                }
            }
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_position != text.Length)
            {
                throw Error("unexpected text after the dict");
            }
        }

        private object ReadValue()
        {
            SkipSpace();
            if (_position >= text.Length)
            {
                throw Error("a value is missing");
            }

            char c = text[_position];
            if (c is '\'' or '"')
            {
                return ReadString();
            }

            if (c == '(')
            {
                return ReadTuple();
            }

            if (TryWord("True"))
            {
                return true;
            }

            if (TryWord("False"))
            {
                return false;
            }

            throw Error($"unexpected '{c}'");
        }

        private long[] ReadTuple()
        {
            Expect('(');
            var items = new List<long>();
            while (true)
            {
                SkipSpace();
                if (TryConsume(')'))
                {
                    return [.. items];
                }

                items.Add(ReadInteger());
                SkipSpace();
                if (!TryConsume(','))
                {
                    Expect(')');
                    return [.. items];
                }
            }
        }

        private long ReadInteger()
        {
            SkipSpace();
            int start = _position;
            while (_position < text.Length && char.IsAsciiDigit(text[_position]))
            {
                _position++;
            }

            // A trailing L (Python 2's long) is accepted, as NumPy does.
            string digits = text[start.._position];
            if (_position < text.Length && text[_position] == 'L')
            {
                _position++;
            }

            if (digits.Length == 0 || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            {
                throw Error("a dimension is not a non-negative integer");
            }

            return value;
        }

        private string ReadString()
        {
            SkipSpace();
            if (_position >= text.Length || text[_position] is not ('\'' or '"'))
            {
                throw Error("a quoted string is expected");
            }

            char quote = text[_position++];
            int end = text.IndexOf(quote, _position);
            if (end < 0)
            {
                throw Error("a string is not closed");
            }

            string value = text[_position..end];
            _position = end + 1;
            return value;
        }

        private bool TryWord(string word)
        {
            if (string.CompareOrdinal(text, _position, word, 0, word.Length) == 0)
            {
                _position += word.Length;
                return true;
            }

            return false;
        }

        private void Expect(char c)
        {
            SkipSpace();
            if (!TryConsume(c))
            {
                throw Error($"'{c}' is expected");
            }
        }

        private bool TryConsume(char c)
        {
            if (_position < text.Length && text[_position] == c)
            {
                _position++;
                return true;
            }

            return false;
        }

        private void SkipSpace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        private readonly GraphCheckException Error(string what) =>
            new($"{source}: the .npy header is not a valid dict literal ({what} at character {_position}): {text.Trim()}");
    }
}
