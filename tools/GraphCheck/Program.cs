using System.Globalization;
using AttAnchor.GraphCheck;

// GraphCheck: runs every case of <model-folder>/references/checks.json with ONNX Runtime (CPU) and
// compares each output with the PyTorch reference.
//   dotnet run -c Release --project tools/GraphCheck -- <model-folder> [<model-folder>...]
// Exit code: 0 when every case passed, 1 when a case failed, 2 on an error (bad file, bad JSON,
// an input the graph does not declare, a shape the graph cannot take).

if (args.Length == 0 || args.Any(a => a is "-h" or "--help"))
{
    Console.Error.WriteLine("usage: GraphCheck <model-folder> [<model-folder>...]");
    Console.Error.WriteLine("Runs <model-folder>/references/checks.json with ONNX Runtime and compares the outputs with the references.");
    return args.Length == 0 ? 2 : 0;
}

int passed = 0, failed = 0;
double worstPassing = 0;
try
{
    foreach (string folder in args)
    {
        using GraphCheckSuite suite = GraphCheckSuite.Load(folder);
        Console.WriteLine($"== {folder}: {suite.Cases.Count} cases ({suite.ChecksPath})");
        foreach (GraphCheckResult result in suite.RunAll())
        {
            Console.WriteLine(result);
            if (result.Passed)
            {
                passed++;
                worstPassing = Math.Max(worstPassing, result.MaxAbsDiff);
            }
            else
            {
                failed++;
            }
        }
    }
}
catch (GraphCheckException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (Exception e)
{
    // Anything else is a bug or an environment problem (e.g. a native library that does not load); still one line.
    Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    return 2;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"largest max|Δ| among passing cases: {worstPassing:G3}"));
Console.WriteLine($"{passed} cases passed, {failed} failed");
return failed == 0 ? 0 : 1;
