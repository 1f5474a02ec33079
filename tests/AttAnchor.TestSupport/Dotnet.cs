using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace AttAnchor.TestSupport;

/// <summary>
/// Runs the .NET CLI as a child process, as a developer would from a shell.
/// </summary>
public static class Dotnet
{
    /// <summary>The configuration an assembly was built in (<c>Release</c> or <c>Debug</c>), so that a child build or run uses the same one.</summary>
    public static string ConfigurationOf(Assembly assembly) => assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    /// <summary>The <c>dotnet</c> that runs this test (the SDK sets DOTNET_HOST_PATH), else the one on PATH.</summary>
    private static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs <c>dotnet</c> with the arguments in a folder; returns its output, or fails the test with it.</summary>
    public static string Run(string workingDirectory, TimeSpan timeout, params string[] arguments) => Exec(Host, workingDirectory, timeout, arguments);

    /// <summary>Runs a program (a self-contained app's executable) as <see cref="Run"/> runs <c>dotnet</c>.</summary>
    public static string Exec(string program, string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host runs under MSBuild's and the test platform's environment; a nested build must not inherit it.
        foreach (string name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDTERMINALLOGGER"] = "off";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (error) { error.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(program)} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:F0} s.\n{output}\n{error}");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', arguments)} (in {workingDirectory}) exited with {process.ExitCode}:\n{output}\n{error}");
        }

        return output.ToString();
    }
}
