using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project tests/AttAnchor.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(PlanningBenchmarks).Assembly).Run(args);
