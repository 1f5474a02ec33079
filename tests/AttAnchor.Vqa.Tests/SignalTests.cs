using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// Ctrl+C and SIGTERM sent to the built console (AttAnchor.Vqa.dll, beside the tests) as a real child process, while it
/// blocks reading its image from a FIFO, which nothing can cancel: a second SIGINT ends it at once with 130, SIGTERM
/// with 143, and nothing but silence on stderr (System.CommandLine's handler used to throw an unhandled
/// InvalidOperationException with its stack trace); one SIGINT cancels the answer, which stops with its one error line
/// and 130 once the image has come. Linux only (kill, mkfifo, GNU env); elsewhere the tests pass without running.
/// </summary>
public sealed class SignalTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>How long a signalled console may take to end: the handlers act at once, so this is slack for a slow host.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(8);

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-signals-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("INT,INT", 130)]
    [InlineData("TERM", 143)]
    [InlineData("INT,TERM", 143)]
    [InlineData("TERM,TERM", 143)]
    public async Task A_blocked_console_ends_quietly_with_the_signal_s_code(string signals, int expected)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using Child child = await Child.StartBlockedAsync(_folder);
        var clock = Stopwatch.StartNew();
        foreach (string signal in signals.Split(','))
        {
            Kill(signal, child.Process.Id);
            await Task.Delay(200);
        }

        (int code, string stdout, string stderr) = await child.WaitAsync(Prompt + (signals == "TERM" ? Termination.TermGrace : TimeSpan.Zero));

        output.WriteLine($"{signals}: exit {code} after {clock.Elapsed.TotalSeconds:F1} s; stderr: {stderr}");
        Assert.Equal(expected, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(string.Empty, stderr);
    }

    [Fact]
    public async Task One_sigint_cancels_the_answer_which_stops_with_one_line_and_130()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using Child child = await Child.StartBlockedAsync(_folder);
        Kill("INT", child.Process.Id);
        await Task.Delay(300);
        Assert.False(child.Process.HasExited, "one SIGINT does not end a console that is reading its image");

        // The image comes after the signal: the model loads it, then the cancelled answer stops at its first step.
        await child.Fifo!.WriteAsync(await File.ReadAllBytesAsync(ShapesModel.ExampleImage));
        await child.Fifo.DisposeAsync();
        child.Fifo = null;
        (int code, string stdout, string stderr) = await child.WaitAsync(Prompt);

        output.WriteLine($"exit {code}; stderr: {stderr}");
        Assert.Equal(VqaApp.Cancelled, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("error: Cancelled.", stderr.TrimEnd('\n', '\r'));
    }

    private static void Kill(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { UseShellExecute = false }) ?? throw new InvalidOperationException("kill did not start");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The console run as <c>dotnet AttAnchor.Vqa.dll --image FIFO …</c>, with its output kept.</summary>
    private sealed class Child : IDisposable
    {
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();

        private Child(Process process)
        {
            Process = process;
        }

        public Process Process { get; }

        /// <summary>The FIFO's writing end while the child reads it.</summary>
        public FileStream? Fifo { get; set; }

        /// <summary>
        /// Starts the console on a FIFO image and returns once it has opened the FIFO to read it, so that it blocks in the
        /// read: the model is open and the signal handlers are in place.
        /// </summary>
        public static async Task<Child> StartBlockedAsync(string folder)
        {
            string fifo = Path.Combine(folder, "image.fifo");
            using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", fifo) { UseShellExecute = false })!)
            {
                await mkfifo.WaitForExitAsync();
                Assert.Equal(0, mkfifo.ExitCode);
            }

            string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
            // Through env --default-signal: a shell that starts a job in the background (as a CI script may start the tests)
            // makes it ignore SIGINT, children inherit that, and .NET leaves an ignored signal ignored; a console started by a
            // person at a terminal has the default, which is what is tested.
            var start = new ProcessStartInfo("env")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in (string[])["--default-signal=INT,TERM", host, Path.Combine(AppContext.BaseDirectory, "AttAnchor.Vqa.dll"),
                "--model", ShapesModel.ModelFolder("attanchor"), "--image", fifo, "--question", "What color is the circle?", "--device", "cpu", "--json"])
            {
                start.ArgumentList.Add(argument);
            }

            var child = new Child(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
            child.Process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (child._stdout) { child._stdout.AppendLine(e.Data); } } };
            child.Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (child._stderr) { child._stderr.AppendLine(e.Data); } } };
            child.Process.BeginOutputReadLine();
            child.Process.BeginErrorReadLine();

            // Opening the FIFO to write returns when the child opens it to read.
            Task<FileStream> open = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1));
            Task done = await Task.WhenAny(open, child.Process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
            if (done != open)
            {
                child.Process.Kill(entireProcessTree: true);
                Assert.Fail($"the console did not open its image FIFO (exited: {child.Process.HasExited}): {child._stderr}");
            }

            child.Fifo = await open;
            await Task.Delay(300);   // into the read
            return child;
        }

        public async Task<(int Code, string Stdout, string Stderr)> WaitAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await Process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                Process.Kill(entireProcessTree: true);
                Assert.Fail($"the console did not end within {timeout.TotalSeconds:F0} s of the signal: {_stderr}");
            }

            Process.WaitForExit();   // the output's end
            lock (_stderr)
            {
                return (Process.ExitCode, _stdout.ToString(), _stderr.ToString());
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            Fifo?.Dispose();
            Process.Dispose();
        }
    }
}
