using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace AttAnchor.OnnxRuntime;

/// <summary>A question's prompt, split at <c>&lt;image&gt;</c> as the model-folder spec says.</summary>
/// <param name="PrefixIds">The template before <c>&lt;image&gt;</c>, encoded with BOS first.</param>
/// <param name="TextIds">The template after <c>&lt;image&gt;</c> with the question in it, encoded on its own without BOS (so with the dummy prefix).</param>
/// <param name="Question">The question's tokens within <paramref name="TextIds"/>.</param>
internal sealed record Prompt(int[] PrefixIds, int[] TextIds, Range Question)
{
    /// <summary>Prefix and text tokens: what the prompt adds to the image block.</summary>
    public int TokenCount => PrefixIds.Length + TextIds.Length;
}

/// <summary>
/// The folder's <c>tokenizer.model</c> opened with <see cref="LlamaTokenizer"/>, and the prompt template split
/// at <c>&lt;image&gt;</c>: the text before it is encoded with BOS, the text after it on its own without BOS.
/// </summary>
internal sealed class PromptBuilder
{
    public const string FileName = "tokenizer.model";
    public const string CheckFileName = "tokenizer_check.json";

    private readonly string _before;
    private readonly string _afterHead;
    private readonly string _afterTail;
    private readonly int _bos;
    private readonly string[] _pieces;

    public PromptBuilder(LlamaTokenizer tokenizer, ModelConfig config)
    {
        Tokenizer = tokenizer;
        _bos = config.BosTokenId;
        string template = config.PromptTemplate;
        int image = template.IndexOf(ModelConfig.ImagePlaceholder, StringComparison.Ordinal);
        _before = template[..image];
        string after = template[(image + ModelConfig.ImagePlaceholder.Length)..];
        int question = after.IndexOf(ModelConfig.QuestionPlaceholder, StringComparison.Ordinal);
        _afterHead = after[..question];
        _afterTail = after[(question + ModelConfig.QuestionPlaceholder.Length)..];
        Detokenizer = new DetokenizerTable(tokenizer);
        _pieces = new string[tokenizer.Vocabulary.Count];
        foreach (var (piece, id) in tokenizer.Vocabulary)
        {
            if ((uint)id < (uint)_pieces.Length)
            {
                _pieces[id] = piece;
            }
        }
    }

    /// <summary>The id → text table the answers' <see cref="StreamingDetokenizer"/>s share, built once with the tokenizer.</summary>
    public DetokenizerTable Detokenizer { get; }

    /// <summary>The tokenizer, adding neither BOS nor EOS by itself.</summary>
    public LlamaTokenizer Tokenizer { get; }

    /// <summary>The special token ids, never AttAnchor candidates.</summary>
    public int[] SpecialIds => [Tokenizer.BeginningOfSentenceId, Tokenizer.EndOfSentenceId, Tokenizer.UnknownId];

    /// <summary>Opens <c>tokenizer.model</c> in a model folder and checks it against <c>attanchor.json</c>.</summary>
    public static PromptBuilder Open(string folder, ModelConfig config)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: not found; a model folder needs the SentencePiece tokenizer.model of its LLM.", path);
        }

        LlamaTokenizer tokenizer;
        try
        {
            using FileStream stream = File.OpenRead(path);
            tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not IOException and not UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: not a SentencePiece model that LlamaTokenizer can read ({e.Message}).", e);
        }

        if (tokenizer.Vocabulary.Count > config.VocabSize)
        {
            throw new InvalidDataException($"{path}: the tokenizer has {tokenizer.Vocabulary.Count} tokens but {ModelConfig.FileName}'s vocab_size is {config.VocabSize}; they come from different models.");
        }

        if (tokenizer.BeginningOfSentenceId != config.BosTokenId || tokenizer.EndOfSentenceId != config.EosTokenId)
        {
            throw new InvalidDataException(
                $"{path}: the tokenizer's BOS/EOS ids are {tokenizer.BeginningOfSentenceId}/{tokenizer.EndOfSentenceId} but {ModelConfig.FileName} says {config.BosTokenId}/{config.EosTokenId}; they come from different models.");
        }

        var builder = new PromptBuilder(tokenizer, config);
        builder.VerifyCheckFile(Path.Combine(folder, CheckFileName), config);
        return builder;
    }

    /// <summary>The template before <c>&lt;image&gt;</c>, encoded with BOS first: every prompt's <see cref="Prompt.PrefixIds"/>.</summary>
    public int[] PrefixIds => [_bos, .. Encode(_before)];

    /// <summary>Encodes a question into the prompt's two parts; the question is not validated here.</summary>
    public Prompt Build(string question)
    {
        int[] prefix = PrefixIds;
        int[] text = Encode(_afterHead + question + _afterTail);
        int start = Encode(_afterHead).Length;
        int end = Encode(_afterHead + question).Length;
        return new Prompt(prefix, text, start..Math.Max(start, Math.Min(end, text.Length)));
    }

    /// <summary>The SentencePiece piece of a token, e.g. <c>▁dog</c> or <c>&lt;0xE7&gt;</c>; empty for ids the tokenizer does not know.</summary>
    public string PieceOf(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] ?? string.Empty : string.Empty;

    private static string Quote(string? text) => $"\"{JsonEncodedText.Encode(text ?? string.Empty)}\"";

    /// <summary>SentencePiece encodes the empty string to nothing (not a lone dummy prefix).</summary>
    private int[] Encode(string text) => text.Length == 0 ? [] : [.. Tokenizer.EncodeToIds(text)];

    /// <summary>
    /// When the folder has <c>tokenizer_check.json</c> (written by models/export_llava.py from the checkpoint's own
    /// Hugging Face tokenizer), every prompt in it must tokenize to the same ids here.
    /// </summary>
    private void VerifyCheckFile(string path, ModelConfig config)
    {
        if (!File.Exists(path))
        {
            return;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("template", out JsonElement template) && template.GetString() != config.PromptTemplate)
            {
                throw new InvalidDataException($"{path}: was written for the template {Quote(template.GetString())}, but {ModelConfig.FileName} has {Quote(config.PromptTemplate)}; re-export the folder.");
            }

            foreach (JsonElement entry in root.GetProperty("prompts").EnumerateArray())
            {
                string question = entry.GetProperty("question").GetString() ?? string.Empty;
                int[] prefix = [.. entry.GetProperty("prefix_ids").EnumerateArray().Select(e => e.GetInt32())];
                int[] text = [.. entry.GetProperty("text_ids").EnumerateArray().Select(e => e.GetInt32())];
                Prompt ours = Build(question);
                Compare(path, question, "prefix_ids", prefix, ours.PrefixIds);
                Compare(path, question, "text_ids", text, ours.TextIds);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a tokenizer check file this library reads ({e.Message}); expected {{\"prompts\": [{{\"question\", \"prefix_ids\", \"text_ids\"}}]}}.", e);
        }
    }

    private void Compare(string path, string question, string field, int[] expected, int[] actual)
    {
        if (expected.AsSpan().SequenceEqual(actual))
        {
            return;
        }

        int at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
        {
            at++;
        }

        string Show(int[] ids) => at < ids.Length ? $"{ids[at]} ({PieceOf(ids[at])})" : "the end";
        throw new InvalidDataException(
            $"{path}: for the question {Quote(question)}, the checkpoint's tokenizer gives {field} with {Show(expected)} at index {at}, but tokenizer.model here gives {Show(actual)}. " +
            "The library's tokenisation would not match the model's; check that tokenizer.model belongs to this checkpoint.");
    }
}
