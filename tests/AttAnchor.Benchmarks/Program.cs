using System.Globalization;
using BenchmarkDotNet.Running;

// All BenchmarkDotNet benchmarks: dotnet run -c Release --project tests/AttAnchor.Benchmarks -- --filter '*'
// The pipeline's stage table:      dotnet run -c Release --project tests/AttAnchor.Benchmarks -- pipeline [runs]
if (args.Length > 0 && args[0] == "pipeline")
{
    await PipelineReport.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(PlanningBenchmarks).Assembly).Run(args);
