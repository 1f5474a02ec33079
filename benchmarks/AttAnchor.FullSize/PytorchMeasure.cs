using System.Diagnostics;

namespace AttAnchor.FullSize;

/// <summary>
/// <c>measure pytorch</c>: PyTorch eager on the generator's own modules, by <c>tools/python/pytorch_eager.py</c>
/// (Debian's python3-torch, 2 threads); its JSON lines pass through as they are.
/// </summary>
internal static class PytorchMeasure
{
    public const string Script = "tools/python/pytorch_eager.py";

    public static async Task<int> RunAsync(PytorchArgs args)
    {
        string folder = Repo.Resolve(args.Model);
        int runs = args.Runs;
        string script = Path.Combine(Repo.Root, Script);
        if (!File.Exists(script))
        {
            await Console.Error.WriteLineAsync($"pytorch: {script} not found");
            return 1;
        }

        var start = new ProcessStartInfo("/usr/bin/python3") { WorkingDirectory = Repo.Root, RedirectStandardOutput = true };
        foreach (string arg in new[] { script, "--model", folder, "--runs", runs.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        if (args.Warmup is int warmup)
        {
            start.ArgumentList.Add("--warmup");
            start.ArgumentList.Add(warmup.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using Process python = Process.Start(start) ?? throw new InvalidOperationException("could not start /usr/bin/python3");
        string? line;
        while ((line = await python.StandardOutput.ReadLineAsync()) is not null)
        {
            Console.WriteLine(line);
        }

        await python.WaitForExitAsync();
        return python.ExitCode;
    }
}
