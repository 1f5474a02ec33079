namespace AttAnchor.OnnxRuntime.Tests.Generation;

/// <summary>
/// The committed fixture tokenizer, <c>models/fixtures/tiny-336-gqa/tokenizer.model</c> (a Llama-style
/// BPE SentencePiece model: unk/BOS/EOS at 0/1/2, byte fallback at 3–258, 512 pieces), opened once.
/// </summary>
internal static class FixtureTokenizer
{
    private static readonly Lazy<SentencePieceModel> Tokenizer = new(Open);

    /// <summary>The tokenizer model.</summary>
    internal static SentencePieceModel Instance => Tokenizer.Value;

    /// <summary>The path of the tokenizer file: the repository root is the first folder above the test binaries with AttAnchor.sln.</summary>
    public static string Path
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "AttAnchor.sln")))
                {
                    return System.IO.Path.Combine(dir.FullName, "models", "fixtures", "tiny-336-gqa", "tokenizer.model");
                }
            }

            throw new InvalidOperationException($"No AttAnchor.sln above {AppContext.BaseDirectory}; the tests run from a build inside the repository.");
        }
    }

    private static SentencePieceModel Open() => SentencePieceModel.Parse(File.ReadAllBytes(Path), Path);
}
