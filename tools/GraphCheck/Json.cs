using System.Text.Json;

namespace AttAnchor.GraphCheck;

/// <summary>Reads JSON files and their fields with errors that name the file and the field.</summary>
internal static class Json
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Parses a JSON file; the caller disposes the document.</summary>
    public static JsonDocument ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new GraphCheckException($"{path}: file not found.");
        }

        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new GraphCheckException($"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {FirstLine(e.Message)}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GraphCheckException($"{path}: cannot read the file ({e.Message}).", e);
        }
    }

    public static JsonElement Required(JsonElement obj, string name, string where)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            throw new GraphCheckException($"{where}: expected a JSON object, found {obj.ValueKind}.");
        }

        return obj.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new GraphCheckException($"{where}: '{name}' is missing.");
    }

    public static JsonElement? Optional(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string String(JsonElement obj, string name, string where)
    {
        JsonElement value = Required(obj, name, where);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new GraphCheckException($"{where}: '{name}' should be a string, found {value.ValueKind}.");
    }

    public static double Number(JsonElement obj, string name, string where) => Number(Required(obj, name, where), $"{where}: '{name}'");

    public static double Number(JsonElement value, string what) =>
        value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw new GraphCheckException($"{what} should be a number, found {value.ValueKind}.");

    public static int Int32(JsonElement obj, string name, string where)
    {
        JsonElement value = Required(obj, name, where);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw new GraphCheckException($"{where}: '{name}' should be an integer, found {value}.");
    }

    public static double[] Numbers(JsonElement obj, string name, string where)
    {
        JsonElement value = Required(obj, name, where);
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new GraphCheckException($"{where}: '{name}' should be an array of numbers, found {value.ValueKind}.");
        }

        return [.. value.EnumerateArray().Select((item, i) => Number(item, $"{where}: '{name}'[{i}]"))];
    }

    /// <summary>The first line of a System.Text.Json message, without its own " LineNumber: …" suffix.</summary>
    private static string FirstLine(string text)
    {
        int end = text.IndexOfAny(['\r', '\n']);
        string line = end < 0 ? text : text[..end];
        int position = line.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return position < 0 ? line : line[..position];
    }
}
