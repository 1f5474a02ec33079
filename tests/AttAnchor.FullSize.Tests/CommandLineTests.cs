using System.Globalization;

namespace AttAnchor.FullSize.Tests;

/// <summary>
/// The benchmark's command line (Cli.cs, System.CommandLine), parsed in-process with the benchmark itself replaced by a
/// recorder: every command's defaults and options as README.md gives them, <c>--help</c>, and a bad command line as one
/// error line with exit code 2 and nothing run. Nothing here runs a model.
/// </summary>
public sealed class CommandLineTests
{
    private const string Model = "models/fixtures/tiny-336-gqa";

    [Fact]
    public async Task Run_has_the_readme_defaults()
    {
        Assert.Equal(new RunArgs(null, 5, 1, 2, "docs", false, 3, 2, false), (await Parse("run")).Args);
    }

    [Fact]
    public async Task Run_takes_every_option()
    {
        var (_, args) = await Parse("run", "--model", Model, "--runs", "2", "--warmup", "0", "--threads", "4", "--out", "/tmp/fs",
            "--skip-pytorch", "--six-runs", "7", "--six-new-tokens", "5", "--skip-six");
        Assert.Equal(new RunArgs(Model, 2, 0, 4, "/tmp/fs", true, 7, 5, true), args);
    }

    [Fact]
    public async Task Measure_commands_have_the_readme_defaults()
    {
        Assert.Equal(new OursArgs(Model, 5, 1, 2, null, false), (await Parse("measure", "ours", "--model", Model)).Args);
        Assert.Equal(new PlainOrtArgs(Model, 5, 1), (await Parse("measure", "plain-ort", "--model", Model)).Args);
        Assert.Equal(new PytorchArgs(Model, 5, null), (await Parse("measure", "pytorch", "--model", Model)).Args);
        Assert.Equal(new SixArgs(Model, 3, 1, 2, 2), (await Parse("measure", "six", "--model", Model)).Args);
    }

    [Fact]
    public async Task Measure_commands_take_every_option()
    {
        Assert.Equal(new OursArgs(Model, 3, 0, 1, "4-bit", true),
            (await Parse("measure", "ours", "--model", Model, "--runs", "3", "--warmup", "0", "--threads", "1", "--label", "4-bit", "--settings", "off")).Args);
        Assert.Equal(new OursArgs(Model, 5, 1, 2, null, false), (await Parse("measure", "ours", "--settings", "all", "--model", Model)).Args);
        Assert.Equal(new PlainOrtArgs(Model, 9, 3), (await Parse("measure", "plain-ort", "--model", Model, "--runs", "9", "--warmup", "3")).Args);
        Assert.Equal(new PytorchArgs(Model, 2, 0), (await Parse("measure", "pytorch", "--model", Model, "--runs", "2", "--warmup", "0")).Args);
        Assert.Equal(new SixArgs(Model, 1, 2, 3, 16), (await Parse("measure", "six", "--model", Model, "--runs", "1", "--warmup", "2", "--threads", "3", "--new-tokens", "16")).Args);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("run --help")]
    [InlineData("measure --help")]
    [InlineData("measure ours -h")]
    [InlineData("measure six --help")]
    public async Task Help_prints_the_options_and_runs_nothing(string line)
    {
        var (code, stdout, stderr, args) = await Invoke(line.Split(' '));
        Assert.Equal(0, code);
        Assert.Null(args);
        Assert.Equal(string.Empty, stderr);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_help_lists_every_option_with_its_default()
    {
        string stdout = (await Invoke("run", "--help")).Stdout;
        foreach (string option in (string[])["--model", "--runs", "--warmup", "--threads", "--out", "--skip-pytorch", "--six-runs", "--six-new-tokens", "--skip-six"])
        {
            Assert.Contains(option, stdout, StringComparison.Ordinal);
        }

        Assert.Contains("[default: docs]", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "Required command was not provided.")]
    [InlineData("measure", "Required command was not provided.")]
    [InlineData("bench", "Unrecognized command or argument 'bench'.")]
    [InlineData("measure foo --model m", "Unrecognized command or argument 'foo'.")]
    [InlineData("run --bogus 1", "Unrecognized command or argument '--bogus'.")]
    [InlineData("run extra", "Unrecognized command or argument 'extra'.")]
    [InlineData("run --runs", "--runs")]
    [InlineData("run --runs 0", "--runs must be a whole number ≥ 1; got '0'.")]
    [InlineData("run --runs abc", "--runs must be a whole number ≥ 1; got 'abc'.")]
    [InlineData("run --runs 99999999999", "--runs must be a whole number ≥ 1; got '99999999999'.")]
    [InlineData("run --warmup -1", "--warmup must be a whole number ≥ 0; got '-1'.")]
    [InlineData("run --threads 1.5", "--threads must be a whole number ≥ 0; got '1.5'.")]
    [InlineData("run --six-runs 0", "--six-runs must be a whole number ≥ 1; got '0'.")]
    [InlineData("run --six-new-tokens 0", "--six-new-tokens must be a whole number ≥ 1; got '0'.")]
    [InlineData("measure ours --runs 2", "Option '--model' is required.")]
    [InlineData("measure ours --model m --settings some", "--settings must be all or off; got 'some'.")]
    [InlineData("measure ours --model m --new-tokens 2", "Unrecognized command or argument '--new-tokens'.")]
    [InlineData("measure plain-ort --model m --threads 2", "Unrecognized command or argument '--threads'.")]
    [InlineData("measure pytorch --model m --warmup x", "--warmup must be a whole number ≥ 0; got 'x'.")]
    [InlineData("measure six --model m --new-tokens 0", "--new-tokens must be a whole number ≥ 1; got '0'.")]
    [InlineData("measure six --model m --runs 0", "--runs must be a whole number ≥ 1; got '0'.")]
    public async Task A_bad_command_line_is_one_error_line_and_exit_code_2(string line, string message)
    {
        var (code, stdout, stderr, args) = await Invoke(line.Length == 0 ? [] : line.Split(' '));
        Assert.Equal(Cli.UsageError, code);
        Assert.Null(args);
        Assert.Equal(string.Empty, stdout);
        string error = Assert.Single(stderr.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.EndsWith(" Run with --help for the options.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_model_folder_is_one_line_not_a_stack_trace()
    {
        string missing = Path.Combine(Path.GetTempPath(), "attanchor-no-such-model-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

        var run = await Real("run", "--model", missing);
        Assert.Equal((Cli.UsageError, string.Empty, $"error: {missing}: no such model folder\n"), run);

        var ours = await Real("measure", "ours", "--model", missing);
        Assert.Equal(Cli.RunError, ours.Code);
        Assert.Equal(string.Empty, ours.Stdout);
        Assert.StartsWith($"error: Model folder not found: {missing}.", ours.Stderr, StringComparison.Ordinal);
        Assert.Single(ours.Stderr.TrimEnd('\n').Split('\n'));
    }

    private static async Task<(int Code, BenchmarkArgs? Args)> Parse(params string[] line)
    {
        var (code, stdout, stderr, args) = await Invoke(line);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(string.Empty, stdout + stderr);
        return (code, args);
    }

    /// <summary>The command line parsed and "run" by a recorder of what it asked for.</summary>
    private static async Task<(int Code, string Stdout, string Stderr, BenchmarkArgs? Args)> Invoke(params string[] line)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        BenchmarkArgs? seen = null;
        int code = await Cli.RunAsync(line, stdout, stderr, args =>
        {
            seen = args;
            return Task.FromResult(0);
        });
        return (code, stdout.ToString(), stderr.ToString(), seen);
    }

    /// <summary>The command line run by the benchmark itself (for the cases that fail before it measures anything).</summary>
    private static async Task<(int Code, string Stdout, string Stderr)> Real(params string[] line)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = await Cli.RunAsync(line, stdout, stderr, Cli.ExecuteAsync);
        return (code, stdout.ToString(), stderr.ToString().ReplaceLineEndings("\n"));
    }
}
