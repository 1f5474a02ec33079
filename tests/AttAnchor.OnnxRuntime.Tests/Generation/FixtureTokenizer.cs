using Microsoft.ML.Tokenizers;

namespace AttAnchor.OnnxRuntime.Tests.Generation;

/// <summary>
/// The committed fixture tokenizer, <c>models/fixtures/tiny-336-gqa/tokenizer.model</c> (a Llama-style
/// BPE SentencePiece model: unk/BOS/EOS at 0/1/2, byte fallback at 3–258, 512 pieces), opened once.
/// </summary>
public static class FixtureTokenizer
{
    private static readonly Lazy<LlamaTokenizer> Tokenizer = new(Open);

    /// <summary>The tokenizer, without BOS or EOS added on encoding.</summary>
    public static LlamaTokenizer Instance => Tokenizer.Value;

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

    private static LlamaTokenizer Open()
    {
        using FileStream stream = File.OpenRead(Path);
        return LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
    }
}
