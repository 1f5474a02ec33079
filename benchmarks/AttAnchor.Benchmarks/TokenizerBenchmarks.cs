using System.Reflection;
using System.Text.Json;
using AttAnchor.OnnxRuntime;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Tokenizers;

/// <summary>
/// Encoding the 9,809 strings of models/fixtures/llama-tokenizer/sentencepiece-reference.jsonl with the real Llama
/// vocabulary: the library's own SentencePiece BPE against Microsoft.ML.Tokenizers' <c>LlamaTokenizer</c>, the
/// encoder it replaced. <c>dotnet run -c Release --project benchmarks/AttAnchor.Benchmarks -- tokenizer</c> prints how
/// many of the strings each gets wrong against Python sentencepiece's ids; the benchmark times both.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private SentencePieceBpe _ours = null!;
    private LlamaTokenizer _peer = null!;
    private string[] _texts = [];

    [GlobalSetup]
    public void Setup()
    {
        (_ours, _peer, var strings) = Load();
        _texts = [.. strings.Select(s => s.Text)];
    }

    [Benchmark(Baseline = true, Description = "Microsoft.ML.Tokenizers LlamaTokenizer")]
    public int Peer()
    {
        int count = 0;
        foreach (string text in _texts)
        {
            count += text.Length == 0 ? 0 : _peer.EncodeToIds(text).Count;
        }

        return count;
    }

    [Benchmark(Description = "ours (SentencePieceBpe)")]
    public int Ours()
    {
        int count = 0;
        foreach (string text in _texts)
        {
            count += _ours.Encode(text, addDummyPrefix: true).Length;
        }

        return count;
    }

    /// <summary>Prints, for both encoders, how many reference strings get other ids than Python sentencepiece's, with examples.</summary>
    public static void Report()
    {
        var (ours, peer, strings) = Load();
        int oursWrong = 0, peerWrong = 0;
        var examples = new List<string>();
        var byCategory = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (text, category, ids) in strings)
        {
            oursWrong += ours.Encode(text, addDummyPrefix: true).AsSpan().SequenceEqual(ids) ? 0 : 1;
            int[] theirs = text.Length == 0 ? [] : [.. peer.EncodeToIds(text)];
            if (!theirs.AsSpan().SequenceEqual(ids))
            {
                peerWrong++;
                byCategory[category] = byCategory.GetValueOrDefault(category) + 1;
                if (examples.Count < 5)
                {
                    examples.Add($"  {JsonSerializer.Serialize(text)}: sentencepiece [{string.Join(", ", ids)}], LlamaTokenizer [{string.Join(", ", theirs)}]");
                }
            }
        }

        Console.WriteLine($"{strings.Count} strings of the real Llama vocabulary's reference (dummy prefix, no BOS):");
        Console.WriteLine($"  ours (SentencePieceBpe): {oursWrong} differ from Python sentencepiece");
        Console.WriteLine($"  Microsoft.ML.Tokenizers {typeof(LlamaTokenizer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]} LlamaTokenizer: {peerWrong} differ, by category: {string.Join(", ", byCategory.Select(p => $"{p.Key} {p.Value}"))}");
        examples.ForEach(Console.WriteLine);
    }

    private static (SentencePieceBpe Ours, LlamaTokenizer Peer, List<(string Text, string Category, int[] Ids)> Strings) Load()
    {
        string folder = Path.Combine(Repository(), "models", "fixtures", "llama-tokenizer");
        string model = Path.Combine(folder, "tokenizer.model");
        SentencePieceBpe ours = SentencePieceBpe.Open(model);
        using FileStream stream = File.OpenRead(model);
        LlamaTokenizer peer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        var strings = new List<(string, string, int[])>();
        foreach (string line in File.ReadLines(Path.Combine(folder, "sentencepiece-reference.jsonl")))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            JsonElement root = json.RootElement;
            strings.Add((root.GetProperty("text").GetString()!, root.GetProperty("category").GetString()!, [.. root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())]));
        }

        return (ours, peer, strings);
    }

    private static string Repository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AttAnchor.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"AttAnchor.sln not found above {AppContext.BaseDirectory}; run the benchmarks from inside the repository.");
    }
}
