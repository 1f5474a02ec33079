using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// Every file of a model folder damaged in every way a copy or a download damages it (missing, empty,
/// truncated, replaced by seeded random bytes, swapped with another file of the folder), generated at
/// test time: opening the folder fails with <see cref="FileNotFoundException"/> or
/// <see cref="InvalidDataException"/> and one line that names the damaged file; never another exception,
/// a hang or a model that opens.
/// </summary>
public sealed class DamagedModelFolderTests
{
    private const string Fixture = "tiny-336-gqa";

    /// <summary>The files <see cref="VisionLanguageModel.Open(string, ModelOptions?)"/> reads.</summary>
    public static readonly string[] Files =
        ["attanchor.json", "tokenizer.model", "vision_encoder.onnx", "projector.onnx", "embed_tokens.onnx", "decoder_model_merged.onnx"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string file in Files)
        {
            foreach (string damage in new[] { "missing", "empty", "first half", "first 64 bytes", "random bytes", "random bytes after 16" })
            {
                data.Add(file, damage);
            }

            foreach (string other in Files.Where(o => o != file && string.CompareOrdinal(o, file) > 0))
            {
                data.Add(file, "swapped with " + other);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_damaged_file_is_refused_with_one_line_that_names_it(string file, string damage)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"attanchor-damaged-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            foreach (string f in Files)
            {
                File.Copy(Path.Combine(Fixtures.FixturesFolder, Fixture, f), Path.Combine(folder, f));
            }

            string path = Path.Combine(folder, file);
            byte[] bytes = File.ReadAllBytes(path);
            var random = new Random(HashCode.Combine(file.Length, damage.Length, 2509));
            string[] named = [file];
            switch (damage)
            {
                case "missing":
                    File.Delete(path);
                    break;
                case "empty":
                    File.WriteAllBytes(path, []);
                    break;
                case "first half":
                    File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                    break;
                case "first 64 bytes":
                    File.WriteAllBytes(path, bytes[..64]);
                    break;
                case "random bytes":
                    random.NextBytes(bytes);
                    File.WriteAllBytes(path, bytes);
                    break;
                case "random bytes after 16":
                    random.NextBytes(bytes.AsSpan(16));
                    File.WriteAllBytes(path, bytes);
                    break;
                default:
                    string other = Path.Combine(folder, damage["swapped with ".Length..]);
                    File.Move(path, path + ".tmp");
                    File.Move(other, path);
                    File.Move(path + ".tmp", other);
                    named = [file, Path.GetFileName(other)];
                    break;
            }

            Exception e = Record.Exception(() => VisionLanguageModel.Open(folder, Pipelines.Cpu).Dispose());

            Assert.NotNull(e);
            Assert.True(e is FileNotFoundException or InvalidDataException, $"{damage} {file}: {e.GetType().Name}: {e.Message}");
            Assert.DoesNotContain('\n', e.Message);
            Assert.True(named.Any(n => e.Message.Contains(n, StringComparison.Ordinal)), $"{damage} {file}: the message names neither {string.Join(" nor ", named)}: {e.Message}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
