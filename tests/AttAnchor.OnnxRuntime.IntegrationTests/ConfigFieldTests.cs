using System.Text;
using System.Text.Json.Nodes;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// <c>attanchor.json</c> field by field: every field given a value of each wrong JSON type, out of range, or left out,
/// and bytes that are not UTF-8, each refused with one line that names the file and the field (or the byte offset).
/// Read with <see cref="ModelConfig.Load"/> from a folder holding a fixture's <c>attanchor.json</c> alone.
/// </summary>
public sealed class ConfigFieldTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-config-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string ConfigPath => Path.Combine(_folder, ModelConfig.FileName);

    private static string Original => File.ReadAllText(Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa", ModelConfig.FileName));

    private static readonly string[] Integers = ["image_size", "patch_size", "num_image_tokens", "hidden_size", "num_hidden_layers", "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "bos_token_id", "eos_token_id"];

    /// <summary>Each field with the values of a wrong type (or range) it must refuse.</summary>
    public static TheoryData<string, string> WrongValues()
    {
        var data = new TheoryData<string, string>();
        foreach (string field in Integers)
        {
            foreach (string value in new[] { "\"64\"", "true", "[]", "{}", "null", "1.5", "-1", "2147483648" })
            {
                data.Add(field, value);
            }
        }

        foreach (string field in new[] { "image_mean", "image_std" })
        {
            foreach (string value in new[] { "\"0.5\"", "0.5", "true", "{}", "null", "[\"a\", \"b\", \"c\"]", "[0.5, 0.5]", "[0.5, 0.5, 0.5, 0.5]", "[1e400, 0.5, 0.5]" })
            {
                data.Add(field, value);
            }
        }

        data.Add("image_std", "[0.5, 0, 0.5]");
        data.Add("bos_token_id", "512");
        data.Add("eos_token_id", "100000");
        foreach (string field in new[] { "prompt_template", "resize_mode" })
        {
            foreach (string value in new[] { "1", "true", "[]", "{}", "null" })
            {
                data.Add(field, value);
            }
        }

        data.Add("resize_mode", "\"squash\"");
        data.Add("prompt_template", "\"USER: {question} ASSISTANT:\"");
        foreach (string value in new[] { "1", "true", "[]", "{}" })
        {
            data.Add("model_type", value);
        }

        foreach (string value in new[] { "1", "\"true\"", "[]", "{}" })
        {
            data.Add("tokenizer_legacy", value);
        }

        foreach (string value in new[] { "\"5\"", "true", "[]", "{}", "1.5", "-1" })
        {
            data.Add("image_token_index", value);
        }

        foreach (string value in new[] { "1", "\"text_into_image\"", "true", "[]" })
        {
            data.Add("attanchor", value);
        }

        foreach (string value in new[] { "\"0.1\"", "true", "[]", "{}", "null", "1e39" })
        {
            data.Add("attanchor.threshold", value);
        }

        foreach (string value in new[] { "1", "true", "[]", "{}", "null", "\"sideways\"" })
        {
            data.Add("attanchor.direction", value);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WrongValues))]
    public void A_wrong_value_is_refused_naming_the_file_and_the_field(string field, string value)
    {
        JsonObject json = JsonNode.Parse(Original)!.AsObject();
        if (field.StartsWith("attanchor.", StringComparison.Ordinal))
        {
            json["attanchor"]!.AsObject()[field["attanchor.".Length..]] = JsonNode.Parse(value);
        }
        else
        {
            json[field] = JsonNode.Parse(value);
        }

        File.WriteAllText(ConfigPath, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));

        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(_folder));

        Assert.StartsWith($"{ConfigPath}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{field}'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    public static TheoryData<string> RequiredFields() =>
        [.. Integers, "image_mean", "image_std", "prompt_template", "resize_mode"];

    [Theory]
    [MemberData(nameof(RequiredFields))]
    public void A_missing_field_is_named(string field)
    {
        JsonObject json = JsonNode.Parse(Original)!.AsObject();
        Assert.True(json.Remove(field));
        File.WriteAllText(ConfigPath, json.ToJsonString());

        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(_folder));

        Assert.Equal($"{ConfigPath}: the field '{field}' is missing.", e.Message);
    }

    [Theory]
    [InlineData("\"USER: <image>\\n{question}\\nASSISTANT:\"", "USER", "prompt_template")]
    [InlineData("\"shortest_edge_center_crop\"", "shortest", "resize_mode")]
    [InlineData("\"text_into_image\"", "text_into", "attanchor.direction")]
    [InlineData("\"llava\"", "lla", "model_type")]
    public void Bytes_that_are_not_UTF8_in_a_string_name_the_offset_and_the_field(string original, string before, string field)
    {
        byte[] text = Encoding.UTF8.GetBytes(Original);
        byte[] quoted = Encoding.UTF8.GetBytes(original);
        int at = text.AsSpan().IndexOf(quoted);
        Assert.True(at >= 0, $"{original} is not in the fixture's attanchor.json");
        int offset = at + 1 + before.Length;
        foreach (byte[] bad in new byte[][] { [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80] })
        {
            File.WriteAllBytes(ConfigPath, [.. text[..offset], .. bad, .. text[offset..]]);

            var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(_folder));

            Assert.Equal(
                $"{ConfigPath}: not valid UTF-8 JSON (byte offset {offset}, in the value of '{field}'): save the file as UTF-8, or export the model folder again.",
                e.Message);
        }
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_outside_a_string_name_the_offset()
    {
        byte[] text = Encoding.UTF8.GetBytes(Original);
        File.WriteAllBytes(ConfigPath, [.. text, 0x80]);

        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(_folder));

        Assert.Equal($"{ConfigPath}: not valid UTF-8 JSON (byte offset {text.Length}): save the file as UTF-8, or export the model folder again.", e.Message);
    }

    [Fact]
    public void The_unchanged_file_loads()
    {
        File.WriteAllText(ConfigPath, Original);
        ModelConfig config = ModelConfig.Load(_folder);
        Assert.Equal(336, config.ImageSize);
        Assert.Equal("llava", config.ModelType);
    }
}
