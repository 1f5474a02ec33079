using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.Vqa;

/// <summary>
/// The <c>tokenize</c> subcommand, for debugging prompts (as llama.cpp's <c>llama-tokenize</c>): reads only a model
/// folder's <c>attanchor.json</c> and <c>tokenizer.model</c> and prints the prompt's ids with their pieces, or with
/// <c>--json</c> one object whose <c>input_ids</c> are the prompt as Hugging Face's LLaVA processor gives it before the
/// image is expanded and whose <c>image_token_index</c> is the image token's position (docs/spec/vqa-cli.md).
/// </summary>
internal sealed class TokenizeCommand
{
    private readonly Option<string?> _model = new("--model") { Description = $"A model folder; only attanchor.json and tokenizer.model are read. Default: {VqaApp.DefaultModel}.", HelpName = "DIR" };
    private readonly Option<string> _question = new("--question") { Description = "The question, put into the model's prompt template.", Required = true, HelpName = "TEXT" };
    private readonly Option<bool> _json = new("--json") { Description = "Print one JSON object: input_ids, image_token_index (the image token's position), image_token_id, pieces, question_range." };

    /// <summary>Makes the command with its options; the caller sets its action.</summary>
    public TokenizeCommand()
    {
        Command = new Command("tokenize", "Prints the token ids and pieces of the prompt a question makes with a model's template and tokenizer (no graphs are loaded).");
        Command.Add(_model);
        Command.Add(_question);
        Command.Add(_json);
    }

    /// <summary>The <c>tokenize</c> command.</summary>
    public Command Command { get; }

    /// <summary>Tokenises the question; returns the exit code.</summary>
    public Task<int> RunAsync(ParseResult parsed, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        string folder;
        try
        {
            folder = parsed.GetValue(_model) ?? VqaApp.FindDefaultModel();
        }
        catch (ArgumentException e)
        {
            return Task.FromResult(VqaApp.Fail(stderr, VqaApp.UsageError, VqaApp.OptionMessage(e)));
        }

        string question = parsed.GetValue(_question)!;
        bool json = parsed.GetValue(_json);
        return VqaApp.RunGuardedAsync(stderr, () =>
        {
            PromptTokenizer tokenizer = PromptTokenizer.Open(folder);
            PromptTokens prompt = tokenizer.Tokenize(question);
            if (json)
            {
                WriteJson(stdout, tokenizer, prompt);
            }
            else
            {
                WriteTable(stdout, folder, tokenizer, prompt);
            }

            return Task.FromResult(0);
        });
    }

    private static void WriteJson(TextWriter stdout, PromptTokenizer tokenizer, PromptTokens prompt)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("input_ids");
            foreach (int id in prompt.InputIds)
            {
                writer.WriteNumberValue(id);
            }

            writer.WriteEndArray();
            writer.WriteNumber("image_token_index", prompt.ImageTokenPosition);
            writer.WriteNumber("image_token_id", tokenizer.ImageTokenId);
            writer.WriteStartArray("pieces");
            foreach (int id in prompt.InputIds)
            {
                writer.WriteStringValue(tokenizer.GetPiece(id));
            }

            writer.WriteEndArray();
            writer.WriteStartArray("question_range");
            writer.WriteNumberValue(prompt.Question.Start.Value);
            writer.WriteNumberValue(prompt.Question.End.Value);
            writer.WriteEndArray();
            writer.WriteBoolean("tokenizer_legacy", tokenizer.Config.TokenizerLegacy);
            writer.WriteEndObject();
        }

        stdout.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void WriteTable(TextWriter stdout, string folder, PromptTokenizer tokenizer, PromptTokens prompt)
    {
        ModelConfig config = tokenizer.Config;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model:    {folder}: tokenizer.model with {tokenizer.PieceCount} pieces, tokenizer_legacy {(config.TokenizerLegacy ? "true" : "false")}"));
        stdout.WriteLine($"template: {Escape(config.PromptTemplate)}");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"prompt:   {prompt.InputIds.Count} tokens; the image token (id {tokenizer.ImageTokenId}) at {prompt.ImageTokenPosition}, expanded to {config.NumImageTokens} image rows by the model; the question at {prompt.Question.Start.Value}…{prompt.Question.End.Value - 1}"));
        stdout.WriteLine();
        stdout.WriteLine("     #      id  piece");
        for (int i = 0; i < prompt.InputIds.Count; i++)
        {
            int id = prompt.InputIds[i];
            string mark = i >= prompt.Question.Start.Value && i < prompt.Question.End.Value ? "  (question)" : string.Empty;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i,6}  {id,6}  {Escape(tokenizer.GetPiece(id))}{mark}"));
        }
    }

    /// <summary>Control characters as escapes (<c>\n</c>, <c>\t</c>, <c>\u0001</c>), so that every piece stays on its line.</summary>
    private static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            _ = c switch
            {
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                '\\' => builder.Append("\\\\"),
                _ when char.IsControl(c) => builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"),
                _ => builder.Append(c),
            };
        }

        return builder.ToString();
    }
}
