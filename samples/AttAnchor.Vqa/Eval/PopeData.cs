using System.Globalization;
using System.Text.Json;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.Vqa.Eval;

/// <summary>One question of a split, checked and with its image path resolved.</summary>
/// <param name="QuestionId">The line's <c>question_id</c> as written: a JSON number or string.</param>
/// <param name="Image">The line's <c>image</c>, as written.</param>
/// <param name="ImagePath">The image file: <c>image</c> under <c>--images</c>, else under the JSONL file's folder (full path).</param>
/// <param name="Question">The line's <c>text</c>.</param>
/// <param name="Label">The line's <c>label</c>, as written.</param>
/// <param name="Kind">Yes/no or open, from the label (<see cref="PopeMetrics.ReadLabel"/>).</param>
/// <param name="Expected">The prediction that counts as correct: <c>yes</c>, <c>no</c> or the normalised label.</param>
/// <param name="Category">The line's <c>category</c> when it is a string, else null.</param>
/// <param name="File">The JSONL file, as given.</param>
/// <param name="Line">The 1-based line number in <paramref name="File"/>.</param>
internal sealed record PopeItem(
    JsonElement QuestionId, string Image, string ImagePath, string Question, string Label, ItemKind Kind, string Expected, string? Category, string File, int Line)
{
    /// <summary><c>file:line</c>, for messages.</summary>
    public string Where => string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}");
}

/// <summary>One split: the items of one JSONL file, named by the file name without its extension.</summary>
/// <param name="Name">The split's name.</param>
/// <param name="File">The JSONL file, as given.</param>
/// <param name="Items">The items evaluated (the first <c>--limit</c> of the file, or all).</param>
/// <param name="TotalItems">The number of items in the file.</param>
internal sealed record PopeSplit(string Name, string File, IReadOnlyList<PopeItem> Items, int TotalItems);

/// <summary>
/// Reads question files in POPE's format: one JSON object per line, <c>{"question_id": 1, "image": "x.png",
/// "text": "Is there a red circle in the image?", "label": "yes"}</c>, other fields ignored, blank lines skipped.
/// Every line and every image is checked before anything runs; the first problem is an
/// <see cref="InvalidDataException"/> whose message names the file, the line and what is wrong.
/// </summary>
internal static class PopeData
{
    /// <summary>
    /// The splits of <paramref name="data"/>: each argument is a JSONL file (one split) or a folder (every
    /// <c>*.jsonl</c> in it, sorted by name, one split each).
    /// </summary>
    /// <param name="data">The <c>--data</c> arguments.</param>
    /// <param name="imagesFolder">The <c>--images</c> folder, or null to resolve images beside each file.</param>
    /// <param name="limit">Keep the first <paramref name="limit"/> items of each split; null keeps all.</param>
    /// <exception cref="FileNotFoundException">An argument is neither a file nor a folder.</exception>
    /// <exception cref="DirectoryNotFoundException">The images folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A folder holds no <c>*.jsonl</c>, a file has no items, a line is bad, an image is missing.</exception>
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

    /// <summary>The JSONL files that <paramref name="data"/> names: files as given, folders expanded to their <c>*.jsonl</c>, sorted.</summary>
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
                string[] inFolder = [.. Directory.EnumerateFiles(argument, "*.jsonl").Order(StringComparer.Ordinal)];
                if (inFolder.Length == 0)
                {
                    throw new InvalidDataException($"--data: the folder {argument} holds no *.jsonl file.");
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

    /// <summary>Reads one JSONL file as a split, checking every line and image.</summary>
    public static PopeSplit ReadSplit(string file, string? imagesFolder, int? limit)
    {
        ArgumentNullException.ThrowIfNull(file);
        string imageBase = imagesFolder ?? Path.GetDirectoryName(Path.GetFullPath(file))!;
        var items = new List<PopeItem>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(file))
        {
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                items.Add(ParseLine(line, file, lineNumber, imageBase));
            }
        }

        if (items.Count == 0)
        {
            throw new InvalidDataException($"{file}: no items (the file is empty or holds only blank lines).");
        }

        string name = Path.GetFileNameWithoutExtension(file);
        return new PopeSplit(name, file, limit is int n && n < items.Count ? items[..n] : items, items.Count);
    }

    /// <summary>Parses one non-blank line; <paramref name="imageBase"/> is the folder its image is relative to.</summary>
    public static PopeItem ParseLine(string line, string file, int lineNumber, string imageBase)
    {
        string where = string.Create(CultureInfo.InvariantCulture, $"{file}:{lineNumber}");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: not JSON ({FirstSentence(e.Message)}).", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
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
            string imagePath = Path.GetFullPath(Path.Combine(imageBase, image));
            if (!System.IO.File.Exists(imagePath))
            {
                throw new InvalidDataException($"{where}: image not found: {imagePath}");
            }

            var (kind, expected) = PopeMetrics.ReadLabel(label);
            return new PopeItem(id.Clone(), image, imagePath, question, label, kind, expected, category, file, lineNumber);
        }
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

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (end >= 0 ? message[..end] : message).TrimEnd('.', ' ');
    }
}
