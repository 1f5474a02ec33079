using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// Opening broken model folders (copies of a fixture with one thing wrong) and asking bad questions:
/// each gives an exception of the documented type whose message names the file, the tensor and both
/// values, and nothing runs.
/// </summary>
public sealed class ModelFolderTests : IDisposable
{
    private const string Fixture = "tiny-336-gqa";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"attanchor-folder-{Guid.NewGuid():N}");

    public ModelFolderTests()
    {
        Directory.CreateDirectory(_folder);
        foreach (string file in Directory.EnumerateFiles(Path.Combine(Fixtures.FixturesFolder, Fixture)))
        {
            File.Copy(file, Path.Combine(_folder, Path.GetFileName(file)));
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_unchanged_copy_opens_and_reports_its_device()
    {
        using var model = VisionLanguageModel.Open(_folder, Pipelines.Cpu);

        Assert.Equal(DeviceKind.Cpu, model.Device.Kind);
        Assert.Equal("cpu", model.Device.Name);
        Assert.Equal(576, model.Config.NumImageTokens);
        Assert.True(model.HasProjector);
    }

    [Fact]
    public void Auto_device_without_the_CUDA_package_falls_back_to_the_CPU_and_says_why()
    {
        using var model = VisionLanguageModel.Open(_folder);

        Assert.Equal(DeviceKind.Cpu, model.Device.Kind);
        Assert.Contains("CUDA", model.Device.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Asking_for_CUDA_without_it_is_a_clear_error()
    {
        var e = Assert.Throws<InvalidOperationException>(() => VisionLanguageModel.Open(_folder, new ModelOptions { Device = DevicePreference.Cuda }));

        // These tests run on the CPU package, so the message is the one for a build without the CUDA provider, unchanged
        // by the diagnosis of a CUDA provider that does not load.
        Assert.Equal(
            "CUDA was asked for, but the CUDA execution provider is not in this ONNX Runtime build; reference Microsoft.ML.OnnxRuntime.Gpu " +
            "instead of Microsoft.ML.OnnxRuntime for CUDA (the sample console: build with -p:OnnxRuntimeFlavor=Gpu).",
            e.Message);
    }

    [Theory]
    [InlineData("vision_encoder.onnx")]
    [InlineData("embed_tokens.onnx")]
    [InlineData("decoder_model_merged.onnx")]
    [InlineData("tokenizer.model")]
    [InlineData("attanchor.json")]
    public void A_missing_required_file_is_named(string file)
    {
        File.Delete(Path.Combine(_folder, file));

        var e = Assert.Throws<FileNotFoundException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains(file, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_folder_is_named()
    {
        string missing = Path.Combine(_folder, "nope");

        var e = Assert.Throws<DirectoryNotFoundException>(() => VisionLanguageModel.Open(missing, Pipelines.Cpu));

        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vision_encoder.onnx", "pixel_values", "pixel_valuez")]
    [InlineData("embed_tokens.onnx", "inputs_embeds", "inputs_embedz")]
    [InlineData("decoder_model_merged.onnx", "present.1.value", "present.1.valux")]
    [InlineData("projector.onnx", "image_embeds", "image_embedz")]
    public void A_misnamed_tensor_is_named_with_the_graph(string file, string name, string wrong)
    {
        ReplaceBytes(Path.Combine(_folder, file), name, wrong);

        var e = Assert.Throws<InvalidDataException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(wrong, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_graph_from_another_model_is_caught_by_its_width()
    {
        // tiny-noproj-mha's embed_tokens is 48 wide; this folder's decoder and attanchor.json say 64.
        File.Copy(Path.Combine(Fixtures.FixturesFolder, "tiny-noproj-mha", "embed_tokens.onnx"), Path.Combine(_folder, "embed_tokens.onnx"), overwrite: true);

        var e = Assert.Throws<InvalidDataException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains("embed_tokens.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("'inputs_embeds' declares 48", e.Message, StringComparison.Ordinal);
        Assert.Contains("hidden_size is 64", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("num_key_value_heads", 4, "past_key_values.0.key", "declares 2")]
    [InlineData("head_dim", 32, "past_key_values.0.key", "declares 16")]
    [InlineData("vocab_size", 640, "logits", "declares 512")]
    [InlineData("num_image_tokens", 144, "image_features", "declares 576")]
    [InlineData("image_size", 168, "pixel_values", "declares 336")]
    [InlineData("hidden_size", 96, "image_embeds", "declares 64")]
    [InlineData("num_hidden_layers", 3, "past_key_values", "needs 6")]
    public void A_value_that_disagrees_with_the_graphs_names_the_tensor_and_both_values(string field, int value, string tensor, string declared)
    {
        EditConfig(json =>
        {
            json[field] = value;
            if (field is "image_size")
            {
                json["patch_size"] = 7; // keep the grid consistent (24 × 24) so the graphs are what disagrees
            }

            if (field is "num_image_tokens")
            {
                json["patch_size"] = 28;
            }
        });

        var e = Assert.Throws<InvalidDataException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains(tensor, e.Message, StringComparison.Ordinal);
        Assert.Contains(declared, e.Message, StringComparison.Ordinal);
        Assert.Contains(value.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prompt_template", "\"USER: {question} ASSISTANT:\"", "exactly once")]
    [InlineData("image_mean", "[0.5, 0.5]", "three numbers")]
    [InlineData("image_std", "[0.5, 0, 0.5]", "positive")]
    [InlineData("resize_mode", "\"squash\"", "squash")]
    [InlineData("eos_token_id", "9999", "vocab_size")]
    [InlineData("num_image_tokens", "100", "patch grid")]
    [InlineData("tokenizer_legacy", "\"yes\"", "'tokenizer_legacy' must be true or false")]
    [InlineData("image_token_index", "-200", "'image_token_index' must be a token id")]
    [InlineData("image_token_index", "300", "image_token_index 300 is the tokenizer's piece")]
    public void An_invalid_settings_value_is_named(string field, string value, string expected)
    {
        EditConfig(json => json[field] = JsonNode.Parse(value));

        var e = Assert.Throws<InvalidDataException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains("attanchor.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_that_are_not_JSON_are_named()
    {
        File.WriteAllText(Path.Combine(_folder, "attanchor.json"), "{ not json");

        var e = Assert.Throws<InvalidDataException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains("not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public void A_truncated_or_empty_graph_is_named(int bytes)
    {
        string path = Path.Combine(_folder, "decoder_model_merged.onnx");
        byte[] data = File.ReadAllBytes(path);
        File.WriteAllBytes(path, data[..bytes]);

        var e = Assert.Throws<InvalidDataException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains("decoder_model_merged.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot load", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tokenizer_check_that_agrees_is_accepted_and_one_that_disagrees_is_named()
    {
        PromptReference reference = Fixtures.Get(Fixture).References.Prompts[0];
        string template = Fixtures.Get(Fixture).Settings.PromptTemplate;
        WriteCheck(template, reference.Question, reference.PrefixIds, reference.TextIds);
        using (VisionLanguageModel.Open(_folder, Pipelines.Cpu))
        {
        }

        WriteCheck(template, reference.Question, reference.PrefixIds, [.. reference.TextIds.Take(3), 7, .. reference.TextIds.Skip(4)]);
        var e = Assert.Throws<InvalidDataException>(() => VisionLanguageModel.Open(_folder, Pipelines.Cpu));

        Assert.Contains("tokenizer_check.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("text_ids", e.Message, StringComparison.Ordinal);
        Assert.Contains("index 3", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, "\u2581\n")]  // the dummy prefix after <image>: the fixture's references, made under the legacy convention
    [InlineData(false, "\n")]       // none: the fixture's vocabulary has "\n" as a piece of its own
    public void Tokenizer_legacy_decides_the_dummy_prefix_after_the_image(bool legacy, string firstTextPiece)
    {
        EditConfig(json => json["tokenizer_legacy"] = legacy);

        using var model = VisionLanguageModel.Open(_folder, Pipelines.Cpu);
        int[] text = model.Prompts.Build("What color is the circle?").TextIds;

        Assert.Equal(legacy, model.Config.TokenizerLegacy);
        Assert.Equal(firstTextPiece, model.Prompts.GetPiece(text[0]));
        Assert.Equal(legacy ? Fixtures.Get(Fixture).References.Prompts[0].TextIds : text, text);
    }

    [Fact]
    public void A_question_that_does_not_fit_the_context_is_refused_before_anything_runs()
    {
        using var model = VisionLanguageModel.Open(_folder, Pipelines.Cpu);
        ModelImage image = ModelImage.FromRgb(new byte[8 * 8 * 3], 8, 8);
        string question = string.Join(' ', Enumerable.Repeat("circle", 600));

        var e = Assert.Throws<ArgumentException>(() => model.Answer(image, question));

        Assert.Contains("does not fit the model's context", e.Message, StringComparison.Ordinal);
        Assert.Contains("1024", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_new_tokens_for_the_context_say_how_many_fit()
    {
        using var model = VisionLanguageModel.Open(_folder, Pipelines.Cpu);
        ModelImage image = ModelImage.FromRgb(new byte[8 * 8 * 3], 8, 8);

        var e = Assert.Throws<ArgumentException>(() => model.Answer(image, "What color is the circle?", new GenerationOptions { MaxNewTokens = 500 }));

        // 4 prefix + 576 image + 9 text = 589 of 1024: 435 fit.
        Assert.Contains("at most 435 new tokens fit", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("What is <image> here?")]
    public void Empty_questions_and_the_image_placeholder_are_refused(string question)
    {
        using var model = VisionLanguageModel.Open(_folder, Pipelines.Cpu);
        ModelImage image = ModelImage.FromRgb(new byte[8 * 8 * 3], 8, 8);

        var e = Assert.Throws<ArgumentException>(() => model.Answer(image, question));

        Assert.Contains(question.Contains("<image>", StringComparison.Ordinal) ? "<image>" : "empty", e.Message, StringComparison.Ordinal);
    }

    private void EditConfig(Action<JsonObject> edit)
    {
        string path = Path.Combine(_folder, "attanchor.json");
        JsonObject json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    private void WriteCheck(string template, string question, IReadOnlyList<int> prefix, IReadOnlyList<int> text)
    {
        var check = new { format = 1, template, prompts = new[] { new { question, prefix_ids = prefix, text_ids = text } } };
        File.WriteAllText(Path.Combine(_folder, "tokenizer_check.json"), JsonSerializer.Serialize(check));
    }

    /// <summary>Renames a tensor in an ONNX file by replacing its name's bytes with as many others: the protobuf stays valid.</summary>
    private static void ReplaceBytes(string path, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        byte[] data = File.ReadAllBytes(path);
        byte[] needle = Encoding.ASCII.GetBytes(from), replacement = Encoding.ASCII.GetBytes(to);
        int count = 0;
        for (int i = data.AsSpan().IndexOf(needle); i >= 0;)
        {
            replacement.CopyTo(data, i);
            count++;
            int next = data.AsSpan(i + 1).IndexOf(needle);
            i = next < 0 ? -1 : i + 1 + next;
        }

        Assert.True(count > 0, $"{from} not found in {path}");
        File.WriteAllBytes(path, data);
    }
}
