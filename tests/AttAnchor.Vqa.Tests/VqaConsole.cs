using System.Globalization;
using AttAnchor.Vqa;

namespace AttAnchor.Vqa.Tests;

/// <summary>Runs the VQA console in-process, as its command line would, and keeps what it wrote.</summary>
public static class VqaConsole
{
    /// <summary>Runs the console with these arguments; returns the exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> Run(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = await VqaApp.RunAsync(args, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
