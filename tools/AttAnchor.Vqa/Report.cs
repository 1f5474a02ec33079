using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AttAnchor.OnnxRuntime;
using Spectre.Console;

namespace AttAnchor.Vqa;

/// <summary>Writes an answer as the spec's JSON object or as the human-readable report.</summary>
internal sealed class Report(VisionLanguageModel model, string modelFolder, ModelImage image, string question, string? note, TimeSpan open, TimeSpan load)
{
    /// <summary>The JSON object of docs/spec/vqa-cli.md, with a few more fields after the spec's (and <c>anchor_map</c> when <paramref name="anchorMap"/> was written).</summary>
    public void WriteJson(TextWriter stdout, VqaResult result, string? anchorMap = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("answer", result.Text);
            json.WriteStartArray("generated_token_ids");
            foreach (int id in result.TokenIds)
            {
                json.WriteNumberValue(id);
            }

            json.WriteEndArray();
            json.WriteString("stop_reason", StopName(result.StopReason));
            json.WriteNumber("prompt_token_count", result.PromptTokenCount);
            json.WriteNumber("sequence_length", result.SequenceLength);
            json.WriteStartArray("anchors");
            foreach (AnchorInfo a in result.Anchors)
            {
                json.WriteStartObject();
                json.WriteNumber("text_index", a.TextIndex);
                json.WriteNumber("token_id", a.TokenId);
                json.WriteString("token", a.Token);
                json.WriteNumber("patch_index", a.PatchIndex);
                json.WriteNumber("patch_row", a.PatchRow);
                json.WriteNumber("patch_col", a.PatchColumn);
                json.WriteNumber("similarity", Math.Round((double)a.Similarity, 6));
                json.WriteNumber("text_position", a.TextPosition);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            StageTimings t = result.Timings;
            json.WriteStartObject("timings_ms");
            Ms(json, "preprocess", t.Preprocess);
            Ms(json, "vision", t.Vision);
            Ms(json, "projector", t.Projector);
            Ms(json, "anchor", t.Anchor);
            Ms(json, "prefill", t.Prefill);
            Ms(json, "decode", t.Decode);
            Ms(json, "total", load + t.Total);
            Ms(json, "image_load", load);
            Ms(json, "embed", t.Embed);
            Ms(json, "decode_per_token", t.DecodePerToken);
            Ms(json, "model_open", open);
            json.WriteEndObject();
            json.WriteString("device", result.Device.Name);
            json.WriteString("device_reason", result.Device.Reason);
            json.WriteString("model", modelFolder);
            json.WriteString("question", question);
            json.WriteStartArray("image_size");
            json.WriteNumberValue(image.Width);
            json.WriteNumberValue(image.Height);
            json.WriteEndArray();
            json.WriteString("exif", VqaApp.ExifName(model.Options.ExifOrientation));
            json.WriteNumber("baseline_sequence_length", result.BaselineSequenceLength);
            json.WriteBoolean("anchoring", !result.Anchoring.IsIdentity);
            json.WriteNumber("threshold", Math.Round((double)result.Anchoring.Threshold, 6));
            json.WriteString("direction", AttAnchorOptions.GetDirectionName(result.Anchoring.Direction));
            if (note is not null)
            {
                json.WriteString("note", note);
            }

            if (anchorMap is not null)
            {
                json.WriteString("anchor_map", anchorMap);
            }

            json.WriteEndObject();
        }

        stdout.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        stdout.Flush();
    }

    /// <summary>Streams the answer as it comes, then shows the anchors and where the time went.</summary>
    public async Task WriteHumanAsync(TextWriter stdout, AnswerStream answer, CancellationToken cancellationToken)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stdout) });
        // Plain lines (not Spectre markup) so that long ones are not wrapped at 80 columns when redirected.
        stdout.WriteLine($"model:  {modelFolder}: {model.Config.Describe()}");
        stdout.WriteLine($"device: {model.Device}");
        stdout.WriteLine($"image:  {image.Width}×{image.Height}, EXIF orientation {(model.Options.ExifOrientation == ExifOrientationMode.Ignore ? "ignored" : "applied")}");
        if (note is not null)
        {
            stdout.WriteLine($"note:   {note}");
        }

        stdout.WriteLine($"Q: {question}");
        stdout.Write("A: ");
        stdout.Flush();
        await foreach (string piece in answer.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            stdout.Write(piece);
            stdout.Flush();
        }

        stdout.WriteLine();
        VqaResult result = answer.Result;
        stdout.WriteLine($"(stopped: {StopName(result.StopReason)} after {result.TokenIds.Count} tokens)");
        stdout.WriteLine();

        AttAnchorOptions a = result.Anchoring;
        string setting = a.IsIdentity ? "off" : string.Create(CultureInfo.InvariantCulture, $"{AttAnchorOptions.GetDirectionName(a.Direction)}, τ = {a.Threshold:0.###}");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"AttAnchor ({setting}): {result.Anchors.Count} copies; sequence {result.BaselineSequenceLength} → {result.SequenceLength} positions ({result.PromptTokenCount} prompt tokens, {model.Config.NumImageTokens} image tokens)"));
        if (result.Anchors.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn("word").AddColumn(new TableColumn("text #").RightAligned())
                .AddColumn(new TableColumn("patch").RightAligned()).AddColumn(new TableColumn("row, col").RightAligned())
                .AddColumn(new TableColumn("similarity").RightAligned());
            foreach (AnchorInfo anchor in result.Anchors)
            {
                table.AddRow(
                    new Text(Visible(anchor.Token)),
                    new Text(anchor.TextIndex.ToString(CultureInfo.InvariantCulture)),
                    new Text(anchor.PatchIndex.ToString(CultureInfo.InvariantCulture)),
                    new Text(string.Create(CultureInfo.InvariantCulture, $"{anchor.PatchRow}, {anchor.PatchColumn}")),
                    new Text(anchor.Similarity.ToString("F4", CultureInfo.InvariantCulture)));
            }

            console.Write(table);
        }

        StageTimings t = result.Timings;
        TimeSpan total = load + t.Total;
        var times = new Table().Border(TableBorder.Rounded).AddColumn("stage").AddColumn(new TableColumn("ms").RightAligned()).AddColumn(new TableColumn("share").RightAligned());
        void Row(string stage, TimeSpan time) => times.AddRow(stage,
            time.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture),
            total > TimeSpan.Zero ? (time / total).ToString("P1", CultureInfo.InvariantCulture) : "-");
        Row("image load", load);
        Row("preprocess", t.Preprocess);
        Row("vision", t.Vision);
        Row("projector", t.Projector);
        Row("embed prompt", t.Embed);
        Row("AttAnchor", t.Anchor);
        Row("prefill", t.Prefill);
        Row(string.Create(CultureInfo.InvariantCulture, $"decode ({t.DecodeSteps} steps, {t.DecodePerToken.TotalMilliseconds:F1} ms each)"), t.Decode);
        Row("total", total);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Time (model opened in {open.TotalMilliseconds:F0} ms, not counted):"));
        console.Write(times);
    }

    /// <summary>The human report's last line after --anchor-map: <c>anchor map: FILE (N anchors)</c>.</summary>
    public static void WriteAnchorMapLine(TextWriter stdout, string path, VqaResult result)
    {
        int n = result.Anchors.Count;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"anchor map: {path} ({n} {(n == 1 ? "anchor" : "anchors")})"));
        stdout.Flush();
    }

    public static string StopName(StopReason reason) => reason switch
    {
        StopReason.EndOfSequence => "eos",
        StopReason.MaxNewTokens => "length",
        _ => "stop_string",
    };

    /// <summary>A piece with its control characters shown: <c>▁\n</c> stays readable in a table.</summary>
    private static string Visible(string piece) => piece.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);

    private static void Ms(Utf8JsonWriter json, string name, TimeSpan time) => json.WriteNumber(name, Math.Round(time.TotalMilliseconds, 3));
}
