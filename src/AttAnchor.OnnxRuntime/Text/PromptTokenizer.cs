using System.Text.Json;

namespace AttAnchor.OnnxRuntime;

/// <summary>A question's prompt, split at <c>&lt;image&gt;</c> as the model-folder spec says.</summary>
/// <param name="PrefixIds">The template before <c>&lt;image&gt;</c>, encoded with BOS first.</param>
/// <param name="TextIds">The template after <c>&lt;image&gt;</c> with the question in it (with the dummy prefix only under the legacy convention).</param>
/// <param name="Question">The question's tokens within <paramref name="TextIds"/>.</param>
internal sealed record Prompt(int[] PrefixIds, int[] TextIds, Range Question)
{
    /// <summary>Prefix and text tokens: what the prompt adds to the image block.</summary>
    public int TokenCount => PrefixIds.Length + TextIds.Length;
}

/// <summary>A prompt's token ids as Hugging Face's LLaVA processor gives them before it expands the image token.</summary>
/// <param name="InputIds">BOS, the template's text before <c>&lt;image&gt;</c>, the image token id once, then the text after it with the question.</param>
/// <param name="ImageTokenPosition">Where the image token id sits in <paramref name="InputIds"/>.</param>
/// <param name="Question">The question's own tokens within <paramref name="InputIds"/>.</param>
public sealed record PromptTokens(IReadOnlyList<int> InputIds, int ImageTokenPosition, Range Question);

/// <summary>
/// A model folder's prompt tokenizer: <c>tokenizer.model</c> (encoded exactly as SentencePiece encodes) with the
/// prompt template and tokenizer convention of <c>attanchor.json</c>. Opening it reads those two files only.
/// </summary>
/// <example>
/// <code>
/// PromptTokenizer tokenizer = PromptTokenizer.Open("models/shapes/attanchor");
/// PromptTokens prompt = tokenizer.Tokenize("What color is the circle?");
/// Console.WriteLine(string.Join(" ", prompt.InputIds.Select(tokenizer.GetPiece)));
/// </code>
/// </example>
public sealed class PromptTokenizer
{
    /// <summary>The tokenizer's file name inside a model folder.</summary>
    public const string FileName = "tokenizer.model";

    /// <summary>The optional file of prompts tokenised by the checkpoint's own tokenizer, checked when a folder opens.</summary>
    public const string CheckFileName = "tokenizer_check.json";

    private readonly SentencePieceBpe _encoder;
    private readonly string _before;
    private readonly string _afterHead;
    private readonly string _afterTail;
    private readonly int _questionStart;                  // the tokens of the text between <image> and {question}
    private readonly Lazy<DetokenizerTable> _detokenizer; // built on first answer: tokenizing alone does not need it

    private PromptTokenizer(SentencePieceBpe encoder, ModelConfig config)
    {
        _encoder = encoder;
        Config = config;
        string template = config.PromptTemplate;
        int image = template.IndexOf(ModelConfig.ImagePlaceholder, StringComparison.Ordinal);
        _before = template[..image];
        string after = template[(image + ModelConfig.ImagePlaceholder.Length)..];
        int question = after.IndexOf(ModelConfig.QuestionPlaceholder, StringComparison.Ordinal);
        _afterHead = after[..question];
        _afterTail = after[(question + ModelConfig.QuestionPlaceholder.Length)..];
        ImageTokenId = config.ImageTokenIndex ?? encoder.Model.Count;
        _detokenizer = new Lazy<DetokenizerTable>(() => new DetokenizerTable(encoder.Model));
        PrefixIds = [config.BosTokenId, .. Encode(_before, dummyPrefix: true)];
        _questionStart = Encode(_afterHead, config.TokenizerLegacy).Length;
    }

    /// <summary>The folder's <c>attanchor.json</c>.</summary>
    public ModelConfig Config { get; }

    /// <summary>The number of pieces in <c>tokenizer.model</c> (a model's <see cref="ModelConfig.VocabSize"/> may be larger).</summary>
    public int PieceCount => _encoder.Model.Count;

    /// <summary>The id that stands for the image in <see cref="PromptTokens.InputIds"/>: <c>image_token_index</c>, or the first id after the tokenizer's pieces when absent.</summary>
    public int ImageTokenId { get; }

    /// <summary>The id → text table the answers' <see cref="StreamingDetokenizer"/>s share, built once with the tokenizer.</summary>
    internal DetokenizerTable Detokenizer => _detokenizer.Value;

    /// <summary>The template before <c>&lt;image&gt;</c>, encoded with BOS first: every prompt's <see cref="Prompt.PrefixIds"/>.</summary>
    internal int[] PrefixIds { get; }

    /// <summary>The special token ids, never AttAnchor candidates.</summary>
    internal int[] SpecialIds => [Config.BosTokenId, Config.EosTokenId, _encoder.Model.UnknownId];

    /// <summary>Opens <c>attanchor.json</c> and <c>tokenizer.model</c> in a model folder (<see cref="VisionLanguageModel.Open"/> also checks <c>tokenizer_check.json</c>).</summary>
    /// <param name="modelFolder">The model folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>attanchor.json</c> or <c>tokenizer.model</c> is missing.</exception>
    /// <exception cref="InvalidDataException">A file is invalid, or the tokenizer disagrees with <c>attanchor.json</c>.</exception>
    public static PromptTokenizer Open(string modelFolder) => Open(modelFolder, ModelConfig.Load(modelFolder), verify: false);

    /// <summary>Opens the tokenizer of a folder whose <c>attanchor.json</c> is already read; with <paramref name="verify"/>, checks <c>tokenizer_check.json</c> when there is one.</summary>
    internal static PromptTokenizer Open(string folder, ModelConfig config, bool verify)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: not found; a model folder needs the SentencePiece tokenizer.model of its LLM.", path);
        }

        SentencePieceBpe encoder = SentencePieceBpe.Open(path);
        SentencePieceModel model = encoder.Model;
        if (model.Count > config.VocabSize)
        {
            throw new InvalidDataException($"{path}: the tokenizer has {model.Count} pieces but {ModelConfig.FileName}'s vocab_size is {config.VocabSize}; they come from different models.");
        }

        if (model.BosId != config.BosTokenId || model.EosId != config.EosTokenId)
        {
            throw new InvalidDataException(
                $"{path}: the tokenizer's BOS/EOS ids are {model.BosId}/{model.EosId} but {ModelConfig.FileName} says {config.BosTokenId}/{config.EosTokenId}; they come from different models.");
        }

        if (config.ImageTokenIndex is int image && image < model.Count && model.Types[image] != PieceType.UserDefined)
        {
            throw new InvalidDataException(
                $"{Path.Combine(folder, ModelConfig.FileName)}: image_token_index {image} is the tokenizer's piece '{model.Pieces[image]}'; the image token must be an added token (an id at or after {model.Count}) or a user-defined piece.");
        }

        var tokenizer = new PromptTokenizer(encoder, config);
        if (verify)
        {
            tokenizer.VerifyCheckFile(Path.Combine(folder, CheckFileName));
        }

        return tokenizer;
    }

    /// <summary>The prompt's ids as Hugging Face's LLaVA processor gives them before expanding the image: BOS, text, the image token once, text.</summary>
    /// <param name="question">The question: not empty, without <c>&lt;image&gt;</c>.</param>
    /// <returns>The ids, where the image token sits, and the question's tokens.</returns>
    /// <exception cref="ArgumentException">The question is empty or holds <c>&lt;image&gt;</c>.</exception>
    public PromptTokens Tokenize(string question)
    {
        Prompt prompt = Build(CheckQuestion(question));
        int offset = prompt.PrefixIds.Length + 1;
        return new PromptTokens([.. prompt.PrefixIds, ImageTokenId, .. prompt.TextIds], prompt.PrefixIds.Length,
            (prompt.Question.Start.Value + offset)..(prompt.Question.End.Value + offset));
    }

    /// <summary>The SentencePiece piece of an id, e.g. <c>▁dog</c> or <c>&lt;0x0A&gt;</c>; <c>&lt;image&gt;</c> for <see cref="ImageTokenId"/>; empty for other ids outside the tokenizer.</summary>
    /// <param name="id">A token id.</param>
    /// <returns>The piece.</returns>
    public string GetPiece(int id) =>
        (uint)id < (uint)_encoder.Model.Count ? _encoder.Model.Pieces[id] : id == ImageTokenId ? ModelConfig.ImagePlaceholder : string.Empty;

    /// <summary>Checks a question: not empty, without the template's image placeholder.</summary>
    internal static string CheckQuestion(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        if (string.IsNullOrWhiteSpace(question))
        {
            throw new ArgumentException("The question is empty; ask something about the image.", nameof(question));
        }

        if (question.Contains(ModelConfig.ImagePlaceholder, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The question contains {ModelConfig.ImagePlaceholder}, the template's image placeholder; the image goes in once, where the template puts it. Remove it from the question.", nameof(question));
        }

        return question;
    }

    /// <summary>
    /// Encodes a question into the prompt's two parts; the question is not validated here. The text after
    /// <c>&lt;image&gt;</c> gets the dummy prefix only under the legacy convention (<see cref="ModelConfig.TokenizerLegacy"/>).
    /// </summary>
    internal Prompt Build(string question)
    {
        bool dummyPrefix = Config.TokenizerLegacy;
        int[] text = Encode(_afterHead + question + _afterTail, dummyPrefix);
        int end = Encode(_afterHead + question, dummyPrefix).Length;
        return new Prompt(PrefixIds, text, _questionStart..Math.Max(_questionStart, Math.Min(end, text.Length)));
    }

    /// <summary>Encodes text as SentencePiece does, with or without the dummy prefix.</summary>
    internal int[] Encode(string text, bool dummyPrefix) => _encoder.Encode(text, dummyPrefix && _encoder.Model.AddDummyPrefix);

    private static string Quote(string? text) => $"\"{JsonEncodedText.Encode(text ?? string.Empty)}\"";

    /// <summary>
    /// When the folder has <c>tokenizer_check.json</c> (written by tools/python/export_llava.py with the checkpoint's own
    /// Hugging Face tokenizer), every prompt in it must tokenise to the same ids here: <c>input_ids</c> holds the
    /// whole prompt with the image token once; the older form holds <c>prefix_ids</c> and <c>text_ids</c>.
    /// </summary>
    private void VerifyCheckFile(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("template", out JsonElement template) && template.GetString() != Config.PromptTemplate)
            {
                throw new InvalidDataException($"{path}: was written for the template {Quote(template.GetString())}, but {ModelConfig.FileName} has {Quote(Config.PromptTemplate)}; re-export the folder.");
            }

            foreach (JsonElement entry in root.GetProperty("prompts").EnumerateArray())
            {
                string question = entry.GetProperty("question").GetString() ?? string.Empty;
                if (entry.TryGetProperty("input_ids", out JsonElement inputIds))
                {
                    Compare(path, question, "input_ids", Ids(inputIds), [.. Tokenize(question).InputIds]);
                    continue;
                }

                Prompt ours = Build(question);
                Compare(path, question, "prefix_ids", Ids(entry.GetProperty("prefix_ids")), ours.PrefixIds);
                Compare(path, question, "text_ids", Ids(entry.GetProperty("text_ids")), ours.TextIds);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException(
                $"{path}: not a tokenizer check file this library reads ({e.Message}); expected {{\"prompts\": [{{\"question\", \"input_ids\"}}]}}. Re-export the folder, or delete the file to skip the check.", e);
        }

        static int[] Ids(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];
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

        string Show(int[] ids) => at < ids.Length ? $"{ids[at]} ({GetPiece(ids[at])})" : "the end";
        throw new InvalidDataException(
            $"{path}: for the question {Quote(question)}, the checkpoint's tokenizer gives {field} with {Show(expected)} at index {at}, but tokenizer.model and attanchor.json here give {Show(actual)}. " +
            "The library's tokenisation would not match the model's; check that tokenizer.model belongs to this checkpoint and that attanchor.json's tokenizer_legacy matches its tokenizer_config.json.");
    }
}
