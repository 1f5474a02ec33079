using System.Globalization;
using System.Text;
using System.Text.Json;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.Vqa.Eval;

/// <summary>One question of a split, checked and with its image path resolved.</summary>
/// <param name="QuestionId">The line's <c>question_id</c> as written: a JSON number or string.</param>
/// <param name="Image">The line's <c>image</c>, as written.</param>
/// <param name="ImagePath">The image file: <c>image</c> under <c>--images</c>, else under the question file's folder (full path).</param>
/// <param name="Question">The line's <c>text</c>.</param>
/// <param name="Label">The line's <c>label</c>, as written.</param>
/// <param name="Kind">Yes/no or open, from the label (<see cref="PopeMetrics.ReadLabel"/>).</param>
/// <param name="Expected">The prediction that counts as correct: <c>yes</c>, <c>no</c> or the normalised label.</param>
/// <param name="Category">The line's <c>category</c> when it is a string, else null.</param>
/// <param name="File">The question file, as given.</param>
/// <param name="Line">The 1-based line in <paramref name="File"/>: the item's line, or where its array element starts.</param>
internal sealed record PopeItem(
    JsonElement QuestionId, string Image, string ImagePath, string Question, string Label, ItemKind Kind, string Expected, string? Category, string File, int Line)
{
    /// <summary><c>file:line</c>, for messages.</summary>
    public string Where => string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}");
}

/// <summary>One split: the items of one question file, named by the file name without its extension.</summary>
/// <param name="Name">The split's name.</param>
/// <param name="File">The question file, as given.</param>
/// <param name="Items">The items evaluated (the first <c>--limit</c> of the file, or all).</param>
/// <param name="TotalItems">The number of items in the file.</param>
internal sealed record PopeSplit(string Name, string File, IReadOnlyList<PopeItem> Items, int TotalItems);

/// <summary>
/// Reads question files in POPE's format. An item is a JSON object, <c>{"question_id": 1, "image": "x.png",
/// "text": "Is there a red circle in the image?", "label": "yes"}</c>, other fields ignored. A file holds its items in
/// one of the two layouts POPE publishes, told apart by its content, not its name: JSON lines (one object per line,
/// blank lines skipped; POPE's <c>output/coco/*.json</c>) or, when its first non-white-space character is <c>[</c>,
/// one JSON array of objects laid out in any way (POPE's <c>output/seem/*/*.json</c>).
/// Every item and every image is checked before anything runs; the first problem is an
/// <see cref="InvalidDataException"/> whose message names the file, the line (of an array element: the line it starts
/// on) and what is wrong.
/// </summary>
internal static class PopeData
{
    /// <summary>The bytes JSON counts as white space (RFC 8259): space, tab, line feed, carriage return.</summary>
    private static ReadOnlySpan<byte> JsonWhiteSpace => " \t\n\r"u8;

    /// <summary>
    /// The splits of <paramref name="data"/>: each argument is a question file (one split) or a folder (every
    /// <c>*.json</c> and <c>*.jsonl</c> in it, sorted by name, one split each).
    /// </summary>
    /// <param name="data">The <c>--data</c> arguments.</param>
    /// <param name="imagesFolder">The <c>--images</c> folder, or null to resolve images beside each file.</param>
    /// <param name="limit">Keep the first <paramref name="limit"/> items of each split; null keeps all.</param>
    /// <exception cref="FileNotFoundException">An argument is neither a file nor a folder.</exception>
    /// <exception cref="DirectoryNotFoundException">The images folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A folder holds no question file, a file has no items, an item is bad, an image is missing.</exception>
    /// <exception cref="ArgumentException">Two files give the same split name.</exception>
    /// <param name="imagesAnywhere">Accept image paths that are absolute or lead out of the question file's folder and <paramref name="imagesFolder"/> (<c>--allow-images-anywhere</c>).</param>
    public static IReadOnlyList<PopeSplit> Load(IEnumerable<string> data, string? imagesFolder, int? limit, bool imagesAnywhere = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (imagesFolder is not null && !Directory.Exists(imagesFolder))
        {
            throw new DirectoryNotFoundException($"--images: folder not found: {imagesFolder}");
        }

        var splits = new List<PopeSplit>();
        foreach (string file in SplitFiles(data))
        {
            PopeSplit split = ReadSplit(file, imagesFolder, limit, imagesAnywhere);
            PopeSplit? twin = splits.Find(s => string.Equals(s.Name, split.Name, StringComparison.Ordinal));
            if (twin is not null)
            {
                throw new ArgumentException($"--data: {twin.File} and {split.File} both make a split named '{split.Name}'; rename one.");
            }

            splits.Add(split);
        }

        return splits;
    }

    /// <summary>
    /// The question files that <paramref name="data"/> names: files as given, folders expanded to the files in them
    /// named <c>*.json</c> or <c>*.jsonl</c> (any case), sorted by name.
    /// </summary>
    public static IReadOnlyList<string> SplitFiles(IEnumerable<string> data)
    {
        var files = new List<string>();
        foreach (string argument in data)
        {
            if (File.Exists(argument))
            {
                files.Add(argument);
            }
            else if (Directory.Exists(argument))
            {
                string[] inFolder = [.. Directory.EnumerateFiles(argument).Where(IsQuestionFileName).Order(StringComparer.Ordinal)];
                if (inFolder.Length == 0)
                {
                    throw new InvalidDataException($"--data: the folder {argument} holds no *.json or *.jsonl file; give a folder of question files, or the files themselves.");
                }

                files.AddRange(inFolder);
            }
            else
            {
                throw new FileNotFoundException($"--data: no such file or folder: {argument}", argument);
            }
        }

        return files;
    }

    /// <summary>Reads one question file as a split, in either layout, checking every item and image.</summary>
    public static PopeSplit ReadSplit(string file, string? imagesFolder, int? limit, bool imagesAnywhere = false)
    {
        ArgumentNullException.ThrowIfNull(file);
        string dataFolder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var images = new ImageBase(imagesFolder is null ? dataFolder : Path.GetFullPath(imagesFolder), imagesFolder is not null, dataFolder, imagesAnywhere);
        byte[] bytes = ReadQuestionFile(file);
        ReadOnlySpan<byte> content = bytes.AsSpan();
        if (content.StartsWith(Encoding.UTF8.Preamble))
        {
            content = content[Encoding.UTF8.Preamble.Length..];
        }

        int invalid = FirstInvalidUtf8(content);
        if (invalid >= 0)
        {
            int line = content[..invalid].Count((byte)'\n') + 1;
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{file}:{line}: not UTF-8 text (an invalid byte sequence); a question file is JSON in UTF-8."));
        }

        int first = content.IndexOfAnyExcept(JsonWhiteSpace);
        List<PopeItem> items = first >= 0 && content[first] == (byte)'['
            ? ReadArray(content, file, images)
            : ReadLines(Encoding.UTF8.GetString(content), file, images);
        string name = Path.GetFileNameWithoutExtension(file);
        return new PopeSplit(name, file, limit is int n && n < items.Count ? items[..n] : items, items.Count);
    }

    /// <summary>The JSON-lines layout: one item per non-blank line.</summary>
    private static List<PopeItem> ReadLines(string text, string file, ImageBase images)
    {
        var items = new List<PopeItem>();
        using var reader = new StringReader(text);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length > MaxLineChars)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{file}:{lineNumber}: the line is {line.Length:N0} characters long, more than the {MaxLineChars:N0} a question line may have; an item is one short JSON object."));
            }

            if (!string.IsNullOrWhiteSpace(line))
            {
                items.Add(ParseLine(line, file, lineNumber, images));
            }
        }

        return items.Count > 0 ? items : throw new InvalidDataException($"{file}: no items (the file is empty or holds only blank lines).");
    }

    /// <summary>
    /// The array layout: one JSON array of items, in any layout. Each element's line is where it starts, counted from
    /// the reader's byte offset (<see cref="Utf8JsonReader.TokenStartIndex"/>).
    /// </summary>
    private static List<PopeItem> ReadArray(ReadOnlySpan<byte> content, string file, ImageBase images)
    {
        var items = new List<PopeItem>();
        var reader = new Utf8JsonReader(content);
        int line = 1;
        long counted = 0;   // the bytes before this offset have had their line breaks counted into `line`
        try
        {
            reader.Read();   // the '[' the caller saw
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                long start = reader.TokenStartIndex;
                line += content[(int)counted..(int)start].Count((byte)'\n');
                counted = start;
                using JsonDocument element = JsonDocument.ParseValue(ref reader);
                items.Add(ReadItem(element.RootElement, file, line, images));
            }

            while (reader.Read())
            {
                // Past the array's end: only white space may follow, and the reader throws on anything else.
            }
        }
        catch (JsonException e)
        {
            long errorLine = (e.LineNumber ?? 0) + 1;
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{file}:{errorLine}: not JSON ({FirstSentence(e.Message)}); a file starting with '[' is read as one JSON array of question objects."), e);
        }

        return items.Count > 0 ? items : throw new InvalidDataException($"{file}: no items (the file is an empty JSON array).");
    }

    /// <summary>Parses one non-blank line of a JSON-lines file; <paramref name="images"/> is the folder its image is relative to.</summary>
    private static PopeItem ParseLine(string line, string file, int lineNumber, ImageBase images)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{file}:{lineNumber}: not JSON ({FirstSentence(e.Message)})."), e);
        }

        using (document)
        {
            return ReadItem(document.RootElement, file, lineNumber, images);
        }
    }

    /// <summary>Checks one item (a line's object or an array element) and resolves its image.</summary>
    private static PopeItem ReadItem(JsonElement root, string file, int lineNumber, ImageBase images)
    {
        string where = string.Create(CultureInfo.InvariantCulture, $"{file}:{lineNumber}");
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{where}: expected a JSON object, got {Describe(root.ValueKind)}.");
        }

        JsonElement id = Field(root, "question_id", where);
        if (id.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
        {
            throw new InvalidDataException($"{where}: 'question_id' must be a number or a string, got {Describe(id.ValueKind)}.");
        }

        string image = Text(root, "image", where);
        string question = Text(root, "text", where);
        string label = Text(root, "label", where);
        if (question.Contains(ModelConfig.ImagePlaceholder, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{where}: 'text' contains {ModelConfig.ImagePlaceholder}; the image goes in where the model's template puts it.");
        }

        string? category = root.TryGetProperty("category", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        string imagePath = ResolveImage(image, where, images);
        if (Directory.Exists(imagePath))
        {
            throw new InvalidDataException($"{where}: 'image' names a folder, {imagePath}, not an image file.");
        }

        if (!System.IO.File.Exists(imagePath))
        {
            string hint = images.Given ? "is --images the folder that holds the images?" : "images are looked up beside the question file unless --images names their folder.";
            throw new InvalidDataException($"{where}: image not found: {imagePath}; {hint}");
        }

        CheckImageFile(imagePath, where);

        var (kind, expected) = PopeMetrics.ReadLabel(label);
        return new PopeItem(id.Clone(), image, imagePath, question, label, kind, expected, category, file, lineNumber);
    }

    private static JsonElement Field(JsonElement root, string name, string where) =>
        root.TryGetProperty(name, out JsonElement value) ? value : throw new InvalidDataException($"{where}: missing field '{name}'.");

    private static string Text(JsonElement root, string name, string where)
    {
        JsonElement value = Field(root, name, where);
        if (value.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException($"{where}: '{name}' must be a string, got {Describe(value.ValueKind)}.");
        }

        string text = value.GetString()!;
        return string.IsNullOrWhiteSpace(text) ? throw new InvalidDataException($"{where}: '{name}' is empty.") : text;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    /// <summary>A <see cref="JsonException"/>'s message without the position it appends (the caller names the line).</summary>
    private static string FirstSentence(string message)
    {
        int end = message.Length;
        foreach (string tail in (string[])[" Path:", " LineNumber:"])
        {
            int at = message.IndexOf(tail, StringComparison.Ordinal);
            end = at >= 0 ? Math.Min(end, at) : end;
        }

        return message[..end].TrimEnd('.', ' ', '|');
    }

    /// <summary>
    /// The folder images are resolved under, whether <c>--images</c> gave it, the question file's folder, and whether
    /// image paths may lead anywhere (<c>--allow-images-anywhere</c>).
    /// </summary>
    private readonly record struct ImageBase(string Folder, bool Given, string DataFolder, bool Anywhere);

    /// <summary>The most bytes a question file may have: POPE's largest is under 1 MiB.</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>The most characters a line of a JSON-lines file may have: an item is a short object.</summary>
    public const int MaxLineChars = 1 << 20;

    /// <summary>The most bytes an image file may have: the library's own limit, which the models eval opens apply.</summary>
    public const long MaxImageBytes = ModelImage.DefaultMaxBytes;

    /// <summary>
    /// Reads a question file after checking that it is a regular file of at most <see cref="MaxFileBytes"/>: a device
    /// such as /dev/zero, a pipe (which would block the read) or a folder is refused before a byte is read; a stat of 0
    /// bytes is what every such special file reports.
    /// </summary>
    private static byte[] ReadQuestionFile(string file)
    {
        FileInfo info = Final(file);
        if (Directory.Exists(file))
        {
            throw new InvalidDataException($"{file}: a folder, not a question file.");
        }

        if (!info.Exists)
        {
            throw new FileNotFoundException($"--data: no such file or folder: {file}", file);
        }

        if (info.Length == 0)
        {
            throw new InvalidDataException($"{file}: no items (the file is empty, or not a regular file: a device such as /dev/zero, a pipe or a socket); give a question file.");
        }

        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{file}: {info.Length:N0} bytes, more than the {MaxFileBytes >> 20} MiB a question file may have; split it into smaller files."));
        }

        // Read at most one byte past the limit, in case the file grew or its size was not what the file system said.
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        byte[] buffer = new byte[(int)Math.Min(info.Length + 1, MaxFileBytes + 1)];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = stream.Read(buffer, length, buffer.Length - length);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (length == buffer.Length && buffer.Length <= MaxFileBytes)
            {
                Array.Resize(ref buffer, (int)Math.Min(2L * buffer.Length, MaxFileBytes + 1));
            }
        }

        if (length > MaxFileBytes)
        {
            throw new InvalidDataException($"{file}: more than the {MaxFileBytes >> 20} MiB a question file may have; split it into smaller files.");
        }

        return buffer[..length];
    }

    /// <summary>
    /// The file a path names after every symbolic link is followed: a link's own size is that of its target's name, so
    /// the checks of size and kind look at the target (a link to a FIFO or /dev/zero is refused as they are).
    /// </summary>
    private static FileInfo Final(string path)
    {
        var info = new FileInfo(path);
        try
        {
            return info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target ? target : info;
        }
        catch (IOException)
        {
            return info;   // a loop of links: the open that follows fails with its own message
        }
    }

    /// <summary>The offset of the first byte that does not belong to valid UTF-8, or -1.</summary>
    private static int FirstInvalidUtf8(ReadOnlySpan<byte> content)
    {
        Span<char> chars = stackalloc char[1024];
        int offset = 0;
        while (offset < content.Length)
        {
            System.Buffers.OperationStatus status = System.Text.Unicode.Utf8.ToUtf16(content[offset..], chars, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            offset += read;
            if (status is System.Buffers.OperationStatus.InvalidData or System.Buffers.OperationStatus.NeedMoreData)
            {
                return offset;
            }

            if (status == System.Buffers.OperationStatus.Done)
            {
                break;
            }
        }

        return -1;
    }

    /// <summary>
    /// The full path of an item's image: under <c>--images</c> or the question file's folder, and inside one of them unless
    /// <c>--allow-images-anywhere</c> was given. A NUL or other control character, an absolute path elsewhere or a
    /// <c>..</c> that leads out is an error naming the file and line (and not the path, which may be anything).
    /// </summary>
    private static string ResolveImage(string image, string where, ImageBase images)
    {
        if (image.Any(char.IsControl) || image.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            throw new InvalidDataException($"{where}: 'image' holds a NUL or another control character, which an image path may not; fix the line.");
        }

        string full;
        try
        {
            full = Path.GetFullPath(Path.Combine(images.Folder, image));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InvalidDataException($"{where}: 'image' is not a valid path; fix the line.", e);
        }

        if (!images.Anywhere && !IsInside(images.Folder, full) && !IsInside(images.DataFolder, full))
        {
            string folders = images.Given ? $"the --images folder {images.Folder} or the question file's folder {images.DataFolder}" : $"the question file's folder {images.DataFolder}";
            throw new InvalidDataException($"{where}: 'image' leads outside {folders} (an absolute path or '..'); move the image there, or pass --allow-images-anywhere if the data file is trusted.");
        }

        return full;
    }

    /// <summary>Whether <paramref name="path"/> (full) lies inside <paramref name="folder"/> (full), by their names.</summary>
    private static bool IsInside(string folder, string path)
    {
        string relative = Path.GetRelativePath(folder, path);
        return relative != ".." && !relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            && !relative.StartsWith("../", StringComparison.Ordinal) && !Path.IsPathRooted(relative);
    }

    /// <summary>
    /// Checks an image file before any model runs: a regular file (a device or pipe stats as 0 bytes and is refused
    /// before it is opened), at most <see cref="MaxImageBytes"/>, that starts as a JPEG, PNG, BMP, GIF or WebP file does.
    /// The message names the line and the path, never the file's bytes.
    /// </summary>
    private static void CheckImageFile(string path, string where)
    {
        long length = Final(path).Length;
        if (length == 0)
        {
            throw new InvalidDataException($"{where}: image {path} is empty, or not a regular file (a device or a pipe); give an image file.");
        }

        if (length > MaxImageBytes)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{where}: image {path} has {length:N0} bytes, more than the {MaxImageBytes >> 20} MiB an image file may have."));
        }

        Span<byte> head = stackalloc byte[12];
        int read;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{where}: image {path} cannot be read ({(e is UnauthorizedAccessException ? "permission denied" : e.GetType().Name)}).", e);
        }

        if (!LooksLikeImage(head[..read]))
        {
            throw new InvalidDataException($"{where}: {path} is not a JPEG, PNG, BMP, GIF or WebP image; give an image file.");
        }
    }

    /// <summary>Whether the bytes start as a JPEG, PNG, BMP, GIF or WebP file does.</summary>
    private static bool LooksLikeImage(ReadOnlySpan<byte> head) =>
        head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
        || head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])
        || head.StartsWith("BM"u8)
        || head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8)
        || (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8));

    private static bool IsQuestionFileName(string path) =>
        Path.GetExtension(path) is { } extension
        && (extension.Equals(".json", StringComparison.OrdinalIgnoreCase) || extension.Equals(".jsonl", StringComparison.OrdinalIgnoreCase));
}
