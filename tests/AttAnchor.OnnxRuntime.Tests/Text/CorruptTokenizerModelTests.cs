namespace AttAnchor.OnnxRuntime.Tests.Text;

/// <summary>
/// Every <c>tokenizer.model</c> that does not parse is refused with one line that names the file by its full path and says
/// it is not a SentencePiece model: the empty file, the real Llama model cut at many offsets, and seeded random bytes
/// (some behind a plausible first piece tag).
/// </summary>
public sealed class CorruptTokenizerModelTests : IDisposable
{
    private static readonly Lazy<byte[]> Real = new(() => File.ReadAllBytes(Path.Combine(LlamaVocabularyTests.Folder, "tokenizer.model")));

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-spm-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The cases: a name and the file's bytes.</summary>
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        data.Add("empty", 0);
        for (int i = 0; i < 40; i++)
        {
            data.Add("truncated", i);
        }

        for (int i = 0; i < 30; i++)
        {
            data.Add("random", i);
        }

        for (int i = 0; i < 10; i++)
        {
            data.Add("random-after-piece-tag", i);
        }

        return data;
    }

    private static byte[] Bytes(string kind, int index)
    {
        byte[] real = Real.Value;
        var random = new Random(1000 + index);
        switch (kind)
        {
            case "empty":
                return [];
            case "truncated":
                // Offsets spread over the file, the first few inside the first piece, the last near its end.
                int cut = index < 10 ? index + 1 : index < 30 ? random.Next(1, real.Length - 1) : real.Length - (index - 29);
                return real[..cut];
            case "random":
                byte[] noise = new byte[random.Next(1, 5000)];
                random.NextBytes(noise);
                return noise;
            default:
                byte[] tagged = new byte[random.Next(2, 500)];
                random.NextBytes(tagged);
                tagged[0] = 0x0A; // field 1 (pieces), length-delimited
                return tagged;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_file_that_is_not_a_SentencePiece_model_is_refused_naming_it(string kind, int index)
    {
        Directory.CreateDirectory(Path.Combine(_folder, "model"));
        string path = Path.Combine(_folder, "model", "tokenizer.model");
        File.WriteAllBytes(path, Bytes(kind, index));

        // A relative path: the message must still give the full one.
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        var e = Assert.Throws<InvalidDataException>(() => SentencePieceBpe.Open(relative));

        Assert.StartsWith($"{Path.GetFullPath(path)}: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("SentencePiece", e.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.model", e.Message[(path.Length + 2)..], StringComparison.Ordinal);
    }

    [Fact]
    public void The_intact_model_still_opens()
    {
        string path = Path.Combine(_folder, "tokenizer.model");
        File.WriteAllBytes(path, Real.Value);
        Assert.Equal(32000, SentencePieceBpe.Open(path).Model.Count);
    }
}
