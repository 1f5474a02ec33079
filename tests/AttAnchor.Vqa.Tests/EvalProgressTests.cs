using System.Diagnostics;
using System.Globalization;
using AttAnchor.Vqa;
using AttAnchor.Vqa.Eval;
using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// eval's progress when stderr is not a terminal (a file, a CI log): a plain line every <c>--progress-interval</c>
/// seconds while a split runs, and one per finished run and split. The clock is a <see cref="StepClock"/> that moves
/// on a fixed step at each reading, so the lines are checked exactly without waiting. The terminal-or-not choice is
/// <see cref="Terminal.IsTerminal"/>'s, and the built console, its stderr a pipe, writes plain lines.
/// </summary>
public sealed class EvalProgressTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-progress-").FullName;

    private static string Data(string split) => Path.Combine(ShapesModel.Folder, "eval-sample", "pope", split + ".jsonl");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Redirected_eval_prints_progress_lines_with_the_counts_elapsed_and_time_left()
    {
        // Each clock reading is 4 s after the one before: a split's start, then one reading per answered question.
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = await VqaApp.RunAsync(
            ["eval", "--model", ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), "--data", Data("random"), "--data", Data("popular"),
             "--config", "off", "--config", "default", "--limit", "7", "--max-new-tokens", "2", "--device", "cpu", "--out", Path.Combine(_folder, "out")],
            stdout, stderr, new StepClock(TimeSpan.FromSeconds(4)), CancellationToken.None);

        output.WriteLine(stderr.ToString());
        Assert.True(code == 0, $"exit {code}: {stderr}");
        string[] lines = stderr.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

        // 10 s (the default interval) has passed at the 3rd question (12 s) and again at the 6th (24 s); the 7th is the split's own line (at 32 s).
        string[] runs = ["[1/2] attanchor / off", "[2/2] attanchor / default (τ=0.164 text-into-image)"];
        string[] expected = [.. runs.SelectMany(run => ((string[])["random", "popular"]).SelectMany(split => (string[])[
            $"{run} · {split}: 3/7 questions (42 %), 12 s elapsed, ~16 s left",
            $"{run} · {split}: 6/7 questions (85 %), 24 s elapsed, ~4 s left",
            $"{run} · {split}: 7 items, acc "]))];
        Assert.Equal(expected.Length + 1, lines.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], lines[i], StringComparison.Ordinal);
        }

        Assert.EndsWith(" (32.0 s)", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("wrote ", lines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain("questions", stdout.ToString(), StringComparison.Ordinal);   // progress is stderr's; stdout holds the summary table
    }

    [Theory]
    [InlineData(1, new[] { 1, 2, 3 })]
    [InlineData(8, new[] { 2 })]
    [InlineData(3600, new int[0])]
    public async Task The_interval_sets_how_often_a_line_comes(int seconds, int[] at)
    {
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = await VqaApp.RunAsync(
            ["eval", "--model", ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), "--data", Data("random"), "--config", "off",
             "--limit", "4", "--max-new-tokens", "2", "--device", "cpu", "--progress-interval", seconds.ToString(CultureInfo.InvariantCulture), "--out", Path.Combine(_folder, "out")],
            TextWriter.Null, stderr, new StepClock(TimeSpan.FromSeconds(4)), CancellationToken.None);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        string[] progress = [.. stderr.ToString().ReplaceLineEndings("\n").Split('\n').Where(l => l.Contains(" questions (", StringComparison.Ordinal))];
        Assert.Equal([.. at.Select(n => $"[1/1] attanchor / off · random: {n}/4 questions ({25 * n} %), {4 * n} s elapsed, ~{4 * (4 - n)} s left")], progress);
    }

    [Theory]
    [InlineData(0, "0 s")]
    [InlineData(59.4, "59 s")]
    [InlineData(60, "1 min 0 s")]
    [InlineData(725, "12 min 5 s")]
    [InlineData(7385, "2 h 3 min")]
    public void Durations_read_as_seconds_minutes_or_hours(double seconds, string text) =>
        Assert.Equal(text, EvalProgress.Lines.Duration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Only_the_process_own_unredirected_streams_are_terminals()
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Assert.False(Terminal.IsTerminal(writer));
        Assert.False(Terminal.IsTerminal(TextWriter.Null));
        Assert.Equal(!Console.IsErrorRedirected, Terminal.IsTerminal(Console.Error));
        Assert.Equal(!Console.IsOutputRedirected, Terminal.IsTerminal(Console.Out));
    }

    [Fact]
    public async Task The_built_console_with_stderr_a_pipe_writes_plain_lines_not_bars()
    {
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[Path.Combine(AppContext.BaseDirectory, "AttAnchor.Vqa.dll"), "eval",
            "--model", ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), "--data", Data("random"), "--config", "off",
            "--limit", "2", "--max-new-tokens", "2", "--device", "cpu", "--out", Path.Combine(_folder, "out")])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        output.WriteLine(stderr);

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("| attanchor / off |", await stdout, StringComparison.Ordinal);
        Assert.StartsWith("[1/1] attanchor / off · random: 2 items, acc ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', stderr);   // no escape sequences: Spectre's bars draw with them
    }

    /// <summary>A clock that reads <paramref name="step"/> later at each reading, starting at 0.</summary>
    private sealed class StepClock(TimeSpan step) : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            long now = _now;
            _now += step.Ticks;
            return now;
        }
    }
}
