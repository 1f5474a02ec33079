using System.Globalization;
using BenchmarkDotNet.Running;

// All BenchmarkDotNet benchmarks: dotnet run -c Release --project benchmarks/AttAnchor.Benchmarks -- --filter '*'
// The pipeline's stage table:      dotnet run -c Release --project benchmarks/AttAnchor.Benchmarks -- pipeline [runs]
// Tokenizer parity with Python sentencepiece on the real Llama vocabulary, ours and Microsoft.ML.Tokenizers':
//                                  dotnet run -c Release --project benchmarks/AttAnchor.Benchmarks -- tokenizer
if (args.Length > 0 && args[0] == "pipeline")
{
    await PipelineReport.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15);
    return;
}

if (args.Length > 0 && args[0] == "tokenizer")
{
    TokenizerBenchmarks.Report();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(PlanningBenchmarks).Assembly).Run(args);
