using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// Every numeric option of every command has a documented range (docs/spec/vqa-cli.md), checked while the command line
/// is parsed: a generated table gives each option values just below and above its range, far above it, words, and NaN
/// and infinities where it takes decimals, and each is one error line naming the option, exit code 2, nothing on
/// stdout, at once, with --model naming a folder that does not exist (so the check comes before anything loads). The
/// range's ends are accepted: the error is then the missing model. A test holds the table to the commands' options.
/// </summary>
public sealed class OptionRangeTests(ITestOutputHelper output) : IDisposable
{
    private const string NoModel = "/nonexistent/attanchor-model";

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-ranges-").FullName;

    /// <summary>A numeric option: its command, name, whether it takes decimals, its range and whether the minimum itself is refused.</summary>
    private sealed record Range(string Command, string Name, bool Decimal, double Min, double Max, bool MinOpen = false);

    private static readonly Range[] Ranges =
    [
        new(string.Empty, "--threshold", true, -1, 1),
        new(string.Empty, "--max-new-tokens", false, 1, NumericOption.MaxNewTokens),
        new(string.Empty, "--temperature", true, 0, NumericOption.MaxTemperature),
        new(string.Empty, "--top-k", false, 0, NumericOption.MaxTopK),
        new(string.Empty, "--top-p", true, 0, 1, MinOpen: true),
        new(string.Empty, "--seed", false, 0, int.MaxValue),
        new(string.Empty, "--repetition-penalty", true, 0, NumericOption.MaxRepetitionPenalty, MinOpen: true),
        new(string.Empty, "--threads", false, 0, NumericOption.MaxThreads),
        new(string.Empty, "--max-pixels", false, 1, NumericOption.MaxPixels),
        new("eval", "--limit", false, 1, NumericOption.MaxLimit),
        new("eval", "--max-new-tokens", false, 1, NumericOption.MaxNewTokens),
        new("eval", "--threads", false, 0, NumericOption.MaxThreads),
        new("eval", "--progress-interval", false, 1, NumericOption.MaxProgressInterval),
    ];

    /// <summary>Values outside each option's range, and what the message says of them.</summary>
    public static TheoryData<string, string, string> Refused()
    {
        var data = new TheoryData<string, string, string>();
        foreach (Range r in Ranges)
        {
            string below = r.MinOpen ? Text(r.Min) : r.Decimal ? Text(r.Min - 0.5) : Text(r.Min - 1);
            string above = r.Decimal ? Text(r.Max + 0.5) : Text(r.Max + 1);
            data.Add(r.Command, r.Name, below);
            data.Add(r.Command, r.Name, above);
            data.Add(r.Command, r.Name, r.Decimal ? "1e30" : "1000000000000");
            data.Add(r.Command, r.Name, r.Decimal ? "-1e30" : "-1000000000000");
            data.Add(r.Command, r.Name, "99999999999999999999999999");
            data.Add(r.Command, r.Name, "abc");
            data.Add(r.Command, r.Name, "1,5");
            data.Add(r.Command, r.Name, "0x10");
            if (r.Decimal)
            {
                data.Add(r.Command, r.Name, "NaN");
                data.Add(r.Command, r.Name, "Infinity");
                data.Add(r.Command, r.Name, "-Infinity");
            }
            else
            {
                data.Add(r.Command, r.Name, "1.5");
            }
        }

        // eval --config takes τ inside its value.
        foreach (string config in (string[])["1.5", "-2", "text-into-image:7", "image-into-text:-1.01", "NaN", "1e39"])
        {
            data.Add("eval", "--config", config);
        }

        return data;
    }

    /// <summary>The ends of each option's range (the open minimum's next value), which are accepted.</summary>
    public static TheoryData<string, string, string> Accepted()
    {
        var data = new TheoryData<string, string, string>();
        foreach (Range r in Ranges)
        {
            data.Add(r.Command, r.Name, r.MinOpen ? "1e-6" : Text(r.Min));
            data.Add(r.Command, r.Name, Text(r.Max));
        }

        data.Add("eval", "--config", "-1");
        data.Add("eval", "--config", "image-into-text:1");
        return data;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_value_outside_the_range_is_one_line_naming_the_option_before_anything_loads(string command, string option, string value)
    {
        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = await VqaConsole.Run([.. Arguments(command), option, value]);

        output.WriteLine(stderr);
        Assert.Equal(VqaApp.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"error: {option}", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Model folder", stderr, StringComparison.Ordinal);
        Assert.True(option == "--config" || stderr.Contains(" must be ", StringComparison.Ordinal), stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.False(Directory.Exists(Path.Combine(_folder, "out")), "nothing is written");
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public async Task The_ends_of_the_range_are_accepted(string command, string option, string value)
    {
        var (code, stdout, stderr) = await VqaConsole.Run([.. Arguments(command), option, value]);

        output.WriteLine(stderr);
        Assert.NotEqual(0, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("Model folder not found", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Threads_of_a_million_is_refused_with_the_range()
    {
        var (code, stdout, stderr) = await VqaConsole.Run([.. Arguments(string.Empty), "--threads", "1000000"]);

        Assert.Equal(VqaApp.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(
            $"error: --threads must be in 0..{NumericOption.MaxThreads} (0 lets ONNX Runtime choose); got 1000000. Run with --help for the options.",
            stderr.TrimEnd('\n'));
    }

    /// <summary>The table above covers every option of every command whose value is a number.</summary>
    [Fact]
    public void Every_numeric_option_has_a_range_in_the_table()
    {
        Type[] numeric = [typeof(int), typeof(long), typeof(float), typeof(double), typeof(decimal), typeof(short), typeof(uint), typeof(ulong)];
        string[] options = [.. VqaApp.AllOptions()
            .Where(o => numeric.Contains(Nullable.GetUnderlyingType(o.Option.ValueType) ?? o.Option.ValueType))
            .Select(o => $"{o.Command} {o.Option.Name}".Trim())
            .Order(StringComparer.Ordinal)];

        Assert.Equal(Ranges.Select(r => $"{r.Command} {r.Name}".Trim()).Order(StringComparer.Ordinal), options);
    }

    private string[] Arguments(string command) => command == "eval"
        ? ["eval", "--model", NoModel, "--data", Path.Combine(_folder, "data.jsonl"), "--out", Path.Combine(_folder, "out")]
        : ["--model", NoModel, "--image", Path.Combine(_folder, "image.png"), "--question", "What is it?", "--json"];

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
