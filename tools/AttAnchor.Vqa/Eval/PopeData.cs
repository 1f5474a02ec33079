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
    public static IReadOnlyList<PopeSplit> Load(IEnumerable<string> data, string? imagesFolder, int? limit)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (imagesFolder is not null && !Directory.Exists(imagesFolder))
        {
            throw new DirectoryNotFoundException($"--images: folder not found: {imagesFolder}");
        }

        var splits = new List<PopeSplit>();
        foreach (string file in SplitFiles(data))
        {
            PopeSplit split = ReadSplit(file, imagesFolder, limit);
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
    public static PopeSplit ReadSplit(string file, string? imagesFolder, int? limit)
    {
        ArgumentNullException.ThrowIfNull(file);
        var images = new ImageBase(imagesFolder ?? Path.GetDirectoryName(Path.GetFullPath(file))!, imagesFolder is not null);
        byte[] bytes = File.ReadAllBytes(file);
        ReadOnlySpan<byte> content = bytes.AsSpan();
        if (content.StartsWith(Encoding.UTF8.Preamble))
        {
            content = content[Encoding.UTF8.Preamble.Length..];
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
        string imagePath = Path.GetFullPath(Path.Combine(images.Folder, image));
        if (!System.IO.File.Exists(imagePath))
        {
            string hint = images.Given ? "is --images the folder that holds the images?" : "images are looked up beside the question file unless --images names their folder.";
            throw new InvalidDataException($"{where}: image not found: {imagePath}; {hint}");
        }

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

    /// <summary>The folder images are resolved under, and whether <c>--images</c> gave it.</summary>
    private readonly record struct ImageBase(string Folder, bool Given);

    private static bool IsQuestionFileName(string path) =>
        Path.GetExtension(path) is { } extension
        && (extension.Equals(".json", StringComparison.OrdinalIgnoreCase) || extension.Equals(".jsonl", StringComparison.OrdinalIgnoreCase));
}
