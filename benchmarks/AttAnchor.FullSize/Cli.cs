using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace AttAnchor.FullSize;

/// <summary>What a command line asks for: one of the records below, with every option's value or default.</summary>
internal abstract record BenchmarkArgs;

/// <summary><c>run</c>: the whole benchmark. <see cref="Model"/> null is the default full-size model.</summary>
internal sealed record RunArgs(string? Model, int Runs, int Warmup, int Threads, string Out, bool SkipPytorch, int SixRuns, int SixNewTokens, bool SkipSix) : BenchmarkArgs;

/// <summary><c>measure ours</c>: the library; <see cref="OffOnly"/> for <c>--settings off</c>.</summary>
internal sealed record OursArgs(string Model, int Runs, int Warmup, int Threads, string? Label, bool OffOnly) : BenchmarkArgs;

/// <summary><c>measure plain-ort</c>: the plain ONNX Runtime loop.</summary>
internal sealed record PlainOrtArgs(string Model, int Runs, int Warmup) : BenchmarkArgs;

/// <summary><c>measure pytorch</c>: PyTorch eager; <see cref="Warmup"/> passes to the script only when given.</summary>
internal sealed record PytorchArgs(string Model, int Runs, int? Warmup) : BenchmarkArgs;

/// <summary><c>measure six</c>: six questions about one image, from scratch and from an image session.</summary>
internal sealed record SixArgs(string Model, int Runs, int Warmup, int Threads, int NewTokens) : BenchmarkArgs;

/// <summary>
/// The benchmark's command line (System.CommandLine, as the VQA console's): <c>run</c> and <c>measure
/// ours|plain-ort|pytorch|six</c> with the options and defaults of README.md. A bad command line is one line on
/// stderr and exit code 2; <c>--help</c> works on every command.
/// </summary>
internal static class Cli
{
    /// <summary>Exit code for a bad command line (or a model folder <c>run</c> cannot find).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a model or file that could not be used.</summary>
    public const int RunError = 1;

    /// <summary>Parses <paramref name="args"/> and runs <paramref name="execute"/> with what they ask for; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<BenchmarkArgs, Task<int>> execute)
    {
        ArgumentNullException.ThrowIfNull(execute);
        int code = 0;
        RootCommand root = Build(async chosen => code = await execute(chosen).ConfigureAwait(false));
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // An unknown word says more than the missing command it leaves behind ("measure foo").
            ParseError first = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
            return Fail(stderr, $"{first.Message} Run with --help for the options.");
        }

        try
        {
            var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            int invoked = await parsed.InvokeAsync(invocation).ConfigureAwait(false);
            return invoked != 0 ? invoked : code;
        }
        catch (ArgumentException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            // A model folder that is missing or broken, say: one line, not a stack trace.
            return Fail(stderr, e.Message, RunError);
        }
    }

    /// <summary>Runs a parsed command: the benchmark itself.</summary>
    public static async Task<int> ExecuteAsync(BenchmarkArgs chosen) => chosen switch
    {
        RunArgs a => await FullRun.RunAsync(a).ConfigureAwait(false),
        OursArgs a => await OursMeasure.RunAsync(a).ConfigureAwait(false),
        PlainOrtArgs a => PlainOrtLoop.Run(a),
        PytorchArgs a => await PytorchMeasure.RunAsync(a).ConfigureAwait(false),
        SixArgs a => await SixMeasure.RunAsync(a).ConfigureAwait(false),
        _ => throw new ArgumentException($"unknown command {chosen}"),
    };

    /// <summary>The commands; each one's action hands its values to <paramref name="chosen"/>.</summary>
    private static RootCommand Build(Func<BenchmarkArgs, Task> chosen)
    {
        var root = new RootCommand("The full-size benchmark: the library, a plain ONNX Runtime loop and PyTorch eager on the same weights (README.md beside the program).");

        Option<string?> runModel = new("--model") { Description = "The model folder the peers run; ours runs its -fused sibling when there is one. Default: models/generated/tinyllava-v1 (generated, fused and quantized first when absent).", HelpName = "DIR" };
        Option<int> runRuns = Whole("--runs", 1, 5, "Measured runs per system and setting.");
        Option<int> runWarmup = Whole("--warmup", 0, 1, "Warm-up runs before them.");
        Option<int> runThreads = Whole("--threads", 0, 2, "ONNX Runtime threads per operator for ours; 0 lets it choose.");
        Option<string> runOut = new("--out") { Description = "The folder for benchmarks-fullsize.md, .json and .png.", DefaultValueFactory = _ => "docs", HelpName = "DIR" };
        Option<bool> skipPytorch = new("--skip-pytorch") { Description = "Leave PyTorch eager out (it needs /usr/bin/python3 with torch)." };
        Option<int> sixRuns = Whole("--six-runs", 1, 3, "Measured runs of measure six.");
        Option<int> sixNewTokens = Whole("--six-new-tokens", 1, SixMeasure.DefaultNewTokens, "New tokens per answer in measure six.");
        Option<bool> skipSix = new("--skip-six") { Description = "Leave the six-questions measure out." };
        var run = new Command("run", "The whole benchmark: each measure in its own child process, then the report.");
        Add(run, runModel, runRuns, runWarmup, runThreads, runOut, skipPytorch, sixRuns, sixNewTokens, skipSix);
        run.SetAction((r, _) => chosen(new RunArgs(r.GetValue(runModel), r.GetValue(runRuns), r.GetValue(runWarmup), r.GetValue(runThreads),
            r.GetValue(runOut)!, r.GetValue(skipPytorch), r.GetValue(sixRuns), r.GetValue(sixNewTokens), r.GetValue(skipSix))));

        var measure = new Command("measure", "One system, in this process: one JSON line per setting on stdout.");

        Option<string> oursModel = Model();
        Option<int> oursRuns = Whole("--runs", 1, 5, "Measured runs per setting.");
        Option<int> oursWarmup = Whole("--warmup", 0, 1, "Warm-up runs before them.");
        Option<int> oursThreads = Whole("--threads", 0, 2, "ONNX Runtime threads per operator; 0 lets it choose.");
        Option<string?> label = new("--label") { Description = "A variant of the model (e.g. 4-bit): its rows are \"ours (NAME)\".", HelpName = "NAME" };
        Option<string> settings = new("--settings")
        {
            Description = "all: AttAnchor off, τ = 0.12 and the ~10 % τ; off: off only.",
            DefaultValueFactory = _ => "all",
            HelpName = "all|off",
            CustomParser = r => r.Tokens[0].Value is "all" or "off" ? r.Tokens[0].Value : Error(r, $"--settings must be all or off; got '{r.Tokens[0].Value}'."),
        };
        var ours = new Command("ours", "The library (VisionLanguageModel, CPU).");
        Add(ours, oursModel, oursRuns, oursWarmup, oursThreads, label, settings);
        ours.SetAction((r, _) => chosen(new OursArgs(r.GetValue(oursModel)!, r.GetValue(oursRuns), r.GetValue(oursWarmup), r.GetValue(oursThreads), r.GetValue(label), r.GetValue(settings) == "off")));

        Option<string> plainModel = Model();
        Option<int> plainRuns = Whole("--runs", 1, 5, "Measured runs.");
        Option<int> plainWarmup = Whole("--warmup", 0, 1, "Warm-up runs before them.");
        var plain = new Command("plain-ort", "The peer PlainOrtLoop.cs: a first-attempt ONNX Runtime C# loop, no AttAnchor.");
        Add(plain, plainModel, plainRuns, plainWarmup);
        plain.SetAction((r, _) => chosen(new PlainOrtArgs(r.GetValue(plainModel)!, r.GetValue(plainRuns), r.GetValue(plainWarmup))));

        Option<string> torchModel = Model();
        Option<int> torchRuns = Whole("--runs", 1, 5, "Measured runs.");
        Option<int?> torchWarmup = new("--warmup") { Description = "Warm-up runs, passed to the script. Default: the script's.", HelpName = "N", CustomParser = r => (int)Parse(r, "--warmup", 0) };
        var torch = new Command("pytorch", $"PyTorch eager by /usr/bin/python3 {PytorchMeasure.Script}; its JSON passes through.");
        Add(torch, torchModel, torchRuns, torchWarmup);
        torch.SetAction((r, _) => chosen(new PytorchArgs(r.GetValue(torchModel)!, r.GetValue(torchRuns), r.GetValue(torchWarmup))));

        Option<string> sixModel = Model();
        Option<int> sixMeasureRuns = Whole("--runs", 1, 3, "Measured runs.");
        Option<int> sixWarmup = Whole("--warmup", 0, 1, "Warm-up rounds (one question each way and setting).");
        Option<int> sixThreads = Whole("--threads", 0, 2, "ONNX Runtime threads per operator; 0 lets it choose.");
        Option<int> newTokens = Whole("--new-tokens", 1, SixMeasure.DefaultNewTokens, "New tokens per answer.");
        var six = new Command("six", "Six POPE questions about one image, from scratch and from one ImageSession.");
        Add(six, sixModel, sixMeasureRuns, sixWarmup, sixThreads, newTokens);
        six.SetAction((r, _) => chosen(new SixArgs(r.GetValue(sixModel)!, r.GetValue(sixMeasureRuns), r.GetValue(sixWarmup), r.GetValue(sixThreads), r.GetValue(newTokens))));

        measure.Add(ours);
        measure.Add(plain);
        measure.Add(torch);
        measure.Add(six);
        root.Add(run);
        root.Add(measure);
        return root;
    }

    private static void Add(Command command, params Option[] options)
    {
        foreach (Option option in options)
        {
            command.Add(option);
        }
    }

    private static Option<string> Model() => new("--model") { Description = "The model folder (from the working directory, else from the repository root).", Required = true, HelpName = "DIR" };

    /// <summary>A whole-number option of at least <paramref name="min"/>.</summary>
    private static Option<int> Whole(string name, int min, int defaultValue, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => (int)Parse(r, name, min),
    };

    /// <summary>A whole number ≥ <paramref name="min"/>; else an error on the result.</summary>
    private static long Parse(ArgumentResult result, string name, int min)
    {
        string? text = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
        if (text is null || !int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < min)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be a whole number ≥ {min}; got '{text}'."));
            return min;
        }

        return value;
    }

    private static string Error(ArgumentResult result, string message)
    {
        result.AddError(message);
        return string.Empty;
    }

    private static int Fail(TextWriter stderr, string message, int code = UsageError)
    {
        stderr.WriteLine($"error: {string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}");
        return code;
    }
}
