using System.CommandLine;
using System.Globalization;
using AttAnchor.OnnxRuntime;
using AttAnchor.Visualization;
using AttAnchor.Vqa.Eval;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.Vqa;

/// <summary>
/// The console's command line and run: parses the options of docs/spec/vqa-cli.md, opens the model,
/// answers, and writes either the human-readable report or one JSON object; the <c>eval</c> subcommand
/// (<see cref="EvalCommand"/>) evaluates models on POPE-format question files. Every error is one line on
/// stderr with a non-zero exit code, and nothing on stdout.
/// </summary>
internal static class VqaApp
{
    /// <summary>The committed model the README's main command runs when no --model is given: the shapes model trained here with AttAnchor.</summary>
    public const string DefaultModel = "models/shapes/attanchor";

    /// <summary>Exit code for a bad command line.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a failure while opening the model or answering.</summary>
    public const int RunError = 1;

    /// <summary>Exit code after Ctrl+C.</summary>
    public const int Cancelled = 130;

    /// <summary>What the output says when the default model answers.</summary>
    public const string DefaultModelNote =
        "This is the committed shapes model models/shapes/attanchor, trained here on synthetic images of circles, squares and triangles " +
        "(models/shapes/README.md): it answers the four question types about such images and nothing else. " +
        "For photos, export TinyLLaVA with tools/python/export_llava.py (see models/README.md) and pass its folder with --model.";

    private sealed class Options
    {
        public readonly Option<string?> Model = new("--model") { Description = $"A model folder (attanchor.json, the .onnx graphs, tokenizer.model). Default: {DefaultModel}, the shapes model trained here (models/shapes/README.md).", HelpName = "DIR" };
        public readonly Option<string> Image = new("--image") { Description = "The image: JPEG, PNG, BMP, GIF or WebP.", Required = true, HelpName = "FILE" };
        public readonly Option<string> Question = new("--question") { Description = "The question about the image.", Required = true, HelpName = "TEXT" };
        public readonly Option<float?> Threshold = new("--threshold") { Description = "AttAnchor threshold τ. Default: the model's attanchor.json. 1 or more inserts nothing.", HelpName = "X" };
        public readonly Option<string?> Direction = new("--direction") { Description = "text-into-image (copy words next to their patches) or image-into-text. Default: the model's attanchor.json (text-into-image).", HelpName = "text-into-image|image-into-text" };
        public readonly Option<bool> NoAnchor = new("--no-anchor") { Description = "The plain LLaVA sequence, nothing inserted (same as τ ≥ 1)." };
        public readonly Option<int> MaxNewTokens = new("--max-new-tokens") { Description = "The most tokens to generate, EOS included.", DefaultValueFactory = _ => 64, HelpName = "N" };
        public readonly Option<float> Temperature = new("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => 0f, HelpName = "X" };
        public readonly Option<int> TopK = new("--top-k") { Description = "Sample among the k most likely tokens; 0 is off.", DefaultValueFactory = _ => 0, HelpName = "N" };
        public readonly Option<float> TopP = new("--top-p") { Description = "Sample among the most likely tokens whose probability reaches p; 1 is off.", DefaultValueFactory = _ => 1f, HelpName = "X" };
        public readonly Option<int?> Seed = new("--seed") { Description = "Seed of the sampler; the same seed gives the same answer.", HelpName = "N" };
        public readonly Option<float> RepetitionPenalty = new("--repetition-penalty") { Description = "Penalise tokens already in the prompt or answer; 1 is off.", DefaultValueFactory = _ => 1f, HelpName = "X" };
        public readonly Option<string[]> Stop = new("--stop") { Description = "Stop when the answer contains this text (repeatable).", HelpName = "TEXT" };
        public readonly Option<string> Device = new("--device") { Description = "cpu or cuda[:N]. Default: CUDA when its provider loads, else the CPU, saying which.", HelpName = "cpu|cuda[:N]" };
        public readonly Option<int> Threads = new("--threads") { Description = "ONNX Runtime threads per operator; 0 lets it choose.", DefaultValueFactory = _ => 0, HelpName = "N" };
        public readonly Option<long> MaxPixels = new("--max-pixels") { Description = "Refuse images with more pixels than this, before decoding them.", DefaultValueFactory = _ => ModelImage.DefaultMaxPixels, HelpName = "N" };
        public readonly Option<string> Exif = ExifOption();
        public readonly Option<bool> Json = new("--json") { Description = "Print one JSON object instead of the human-readable report." };
        public readonly Option<string> LogLevel = new("--log-level") { Description = $"Write the library's log (device chosen and why, model-folder checks, anchor counts) to stderr at this level and above: {TextLogger.Levels}.", DefaultValueFactory = _ => "none", HelpName = "LEVEL" };
        public readonly Option<string?> AnchorMap = new("--anchor-map") { Description = "Also write a PNG of the image as the model saw it, with the patch grid and each anchored patch labelled with its word and similarity. The folder must exist.", HelpName = "FILE" };

        public RootCommand Command()
        {
            var root = new RootCommand("Answers a question about an image with a LLaVA-style model exported to ONNX, with AttAnchor token regrouping.");
            foreach (Option option in (Option[])[Model, Image, Question, Threshold, Direction, NoAnchor, MaxNewTokens, Temperature, TopK, TopP, Seed, RepetitionPenalty, Stop, Device, Threads, MaxPixels, Exif, Json, AnchorMap, LogLevel])
            {
                root.Add(option);
            }

            return root;
        }
    }

    /// <summary>Runs the console with these arguments; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var options = new Options();
        RootCommand root = options.Command();
        int code = 0;
        root.SetAction(async (result, token) =>
        {
            code = await AnswerAsync(options, result, stdout, stderr, token).ConfigureAwait(false);
        });

        // The eval subcommand has its own options; the root's required --image and --question do not apply to it.
        var evaluation = new EvalCommand();
        evaluation.Command.SetAction(async (result, token) =>
        {
            code = await evaluation.RunAsync(result, stdout, stderr, token).ConfigureAwait(false);
        });
        root.Add(evaluation.Command);

        var tokenize = new TokenizeCommand();
        tokenize.Command.SetAction(async (result, _) =>
        {
            code = await tokenize.RunAsync(result, stdout, stderr).ConfigureAwait(false);
        });
        root.Add(tokenize.Command);

        // Actions are set before parsing: a root command with subcommands and no action would be an error.
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return Fail(stderr, UsageError, $"{parsed.Errors[0].Message} Run with --help for the options.");
        }

        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        int invoked = await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        return invoked != 0 ? invoked : code;
    }

    private static async Task<int> AnswerAsync(Options o, ParseResult p, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        // Everything the command line says is checked before the model is opened.
        ModelOptions modelOptions;
        GenerationOptions generation;
        string? modelArgument = p.GetValue(o.Model);
        string modelFolder;
        AnchorDirection? direction;
        string? anchorMap = p.GetValue(o.AnchorMap);
        try
        {
            modelOptions = new ModelOptions { IntraOpThreads = p.GetValue(o.Threads), MaxImagePixels = p.GetValue(o.MaxPixels), ExifOrientation = ParseExif(p.GetValue(o.Exif)) };
            modelOptions = ParseDevice(p.GetValue(o.Device), modelOptions);
            if (TextLogger.ParseLevel(p.GetValue(o.LogLevel)!) is { } level)
            {
                modelOptions = modelOptions with { LoggerFactory = new TextLogger(stderr, level) };
            }

            generation = new GenerationOptions
            {
                MaxNewTokens = p.GetValue(o.MaxNewTokens),
                Temperature = p.GetValue(o.Temperature),
                TopK = p.GetValue(o.TopK),
                TopP = p.GetValue(o.TopP),
                Seed = p.GetValue(o.Seed),
                RepetitionPenalty = p.GetValue(o.RepetitionPenalty),
                StopStrings = p.GetValue(o.Stop) ?? [],
            };
            if (p.GetValue(o.Threshold) is float t && !float.IsFinite(t))
            {
                throw new ArgumentException($"--threshold must be a finite number; got {t.ToString(CultureInfo.InvariantCulture)}.");
            }

            direction = ParseDirection(p.GetValue(o.Direction));
            if (anchorMap is not null)
            {
                CheckAnchorMapPath(anchorMap);
            }

            modelFolder = modelArgument ?? FindDefaultModel();
        }
        catch (ArgumentException e)
        {
            return Fail(stderr, UsageError, OptionMessage(e));
        }

        bool json = p.GetValue(o.Json);
        string question = p.GetValue(o.Question)!;
        return await RunGuardedAsync(stderr, async () =>
        {
            QuietOnnxRuntimeLog();
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            using VisionLanguageModel model = VisionLanguageModel.Open(modelFolder, modelOptions);
            TimeSpan open = System.Diagnostics.Stopwatch.GetElapsedTime(start);

            start = System.Diagnostics.Stopwatch.GetTimestamp();
            ModelImage image = model.LoadImage(p.GetValue(o.Image)!);
            TimeSpan load = System.Diagnostics.Stopwatch.GetElapsedTime(start);

            AttAnchorOptions anchoring = model.Config.Anchoring;
            if (p.GetValue(o.Threshold) is float threshold)
            {
                anchoring = anchoring with { Threshold = threshold };
            }

            if (direction is AnchorDirection chosen)
            {
                anchoring = anchoring with { Direction = chosen };
            }

            if (p.GetValue(o.NoAnchor))
            {
                anchoring = anchoring with { Enabled = false };
            }

            generation = generation with { Anchoring = anchoring };
            string? note = modelArgument is null ? DefaultModelNote : null;
            AnswerStream answer = model.Answer(image, question, generation);
            var report = new Report(model, modelFolder, image, question, note, open, load);
            if (json)
            {
                await foreach (string _ in answer.WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                }

                if (anchorMap is not null)
                {
                    AnchorMap.Save(model, image, answer.Result, anchorMap);
                }

                report.WriteJson(stdout, answer.Result, anchorMap);
            }
            else
            {
                await report.WriteHumanAsync(stdout, answer, cancellationToken).ConfigureAwait(false);
                if (anchorMap is not null)
                {
                    AnchorMap.Save(model, image, answer.Result, anchorMap);
                    Report.WriteAnchorMapLine(stdout, anchorMap, answer.Result);
                }
            }

            return 0;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="body"/> and turns what it throws into the console's one-line errors: cancelled (130),
    /// a bad argument (2), or a model, image or data problem (1).
    /// </summary>
    internal static async Task<int> RunGuardedAsync(TextWriter stderr, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return Fail(stderr, Cancelled, "Cancelled.");
        }
        catch (ArgumentException e)
        {
            return Fail(stderr, UsageError, OptionMessage(e));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException or NotSupportedException or OnnxRuntimeException)
        {
            return Fail(stderr, RunError, e.Message);
        }
    }

    /// <summary>
    /// ONNX Runtime's own log would print a multi-line report on stderr when, say, the CUDA provider does not
    /// load; the console reports such things itself, in one line. So this process's ONNX Runtime environment
    /// logs only fatal errors (when the console creates it; in-process hosts keep theirs).
    /// </summary>
    internal static void QuietOnnxRuntimeLog()
    {
        if (!OrtEnv.IsCreated)
        {
            var options = new EnvironmentCreationOptions { logId = "AttAnchor.Vqa", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            OrtEnv.CreateInstanceWithOptions(ref options);
        }
    }

    /// <summary>One line on stderr; nothing on stdout.</summary>
    internal static int Fail(TextWriter stderr, int code, string message)
    {
        stderr.WriteLine($"error: {OneLine(message)}");
        return code;
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>An option error's message without .NET's "(Parameter 'x')" tail, naming the console's option where it differs.</summary>
    internal static string OptionMessage(ArgumentException e)
    {
        string message = e.Message;
        int tail = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (tail >= 0)
        {
            message = message[..tail];
        }

        int actual = message.IndexOf("\nActual value was", StringComparison.Ordinal);
        if (actual >= 0)
        {
            message = message[..actual];
        }

        return e.ParamName switch
        {
            nameof(GenerationOptions.MaxNewTokens) => $"--max-new-tokens: {message}",
            nameof(GenerationOptions.Temperature) => $"--temperature: {message}",
            nameof(GenerationOptions.TopK) => $"--top-k: {message}",
            nameof(GenerationOptions.TopP) => $"--top-p: {message}",
            nameof(GenerationOptions.RepetitionPenalty) => $"--repetition-penalty: {message}",
            nameof(GenerationOptions.StopStrings) => $"--stop: {message}",
            nameof(ModelOptions.IntraOpThreads) => $"--threads: {message}",
            nameof(ModelOptions.MaxImagePixels) => $"--max-pixels: {message}",
            nameof(ModelOptions.CudaDeviceId) => $"--device: {message}",
            _ => message,
        };
    }

    internal static ModelOptions ParseDevice(string? device, ModelOptions options)
    {
        if (device is null)
        {
            return options;
        }

        if (device.Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            return options with { Device = DevicePreference.Cpu };
        }

        if (device.Equals("cuda", StringComparison.OrdinalIgnoreCase))
        {
            return options with { Device = DevicePreference.Cuda };
        }

        if (device.StartsWith("cuda:", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
        {
            return options with { Device = DevicePreference.Cuda, CudaDeviceId = id };
        }

        throw new ArgumentException($"--device must be cpu, cuda or cuda:N (N a device number); got '{device}'.");
    }

    /// <summary>--anchor-map's file, checked before the model opens: a file name (not a folder) in a folder that exists.</summary>
    internal static void CheckAnchorMapPath(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("--anchor-map needs a file name, such as anchor-map.png.");
        }

        if (Directory.Exists(path))
        {
            throw new ArgumentException($"--anchor-map {path} is a folder; give a file name, such as {Path.Combine(path, "anchor-map.png")}.");
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new ArgumentException($"--anchor-map {path}: the folder {folder} does not exist; create it first, or write the map elsewhere.");
        }
    }

    /// <summary>The <c>--exif apply|ignore</c> option, shared by the question and the <c>eval</c> subcommand.</summary>
    internal static Option<string> ExifOption() => new("--exif")
    {
        Description = "apply: turn the image as its EXIF orientation says, as transformers' load_image does (the default); " +
            "ignore: keep the pixels as stored, as an image processor given PIL's Image.open image does.",
        DefaultValueFactory = _ => "apply",
        HelpName = "apply|ignore",
    };

    /// <summary>The <c>--exif</c> value: <c>apply</c> or <c>ignore</c>, in any case.</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    internal static ExifOrientationMode ParseExif(string? value) => value?.ToLowerInvariant() switch
    {
        null or "apply" => ExifOrientationMode.Apply,
        "ignore" => ExifOrientationMode.Ignore,
        _ => throw new ArgumentException($"--exif must be apply or ignore; got '{value}'. apply turns the image as its EXIF orientation says (as transformers' load_image does); ignore keeps it as stored."),
    };

    /// <summary><c>apply</c> or <c>ignore</c>, as <c>--exif</c> takes it.</summary>
    internal static string ExifName(ExifOrientationMode mode) => mode == ExifOrientationMode.Ignore ? "ignore" : "apply";

    private static AnchorDirection? ParseDirection(string? direction) =>
        direction is null ? null
        : AttAnchorOptions.TryParseDirection(direction, out AnchorDirection value) ? value
        : throw new ArgumentException($"--direction must be text-into-image or image-into-text; got '{direction}'.");

    /// <summary>The committed test model: under the current folder, else above the program's own folder (it runs from inside the repository).</summary>
    internal static string FindDefaultModel()
    {
        if (Directory.Exists(DefaultModel))
        {
            return DefaultModel;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, DefaultModel);
            if (Directory.Exists(candidate))
            {
                return Path.GetRelativePath(Directory.GetCurrentDirectory(), candidate);
            }
        }

        throw new ArgumentException($"No --model given and the default model {DefaultModel} was not found from {Directory.GetCurrentDirectory()}; run from the repository or pass --model DIR.");
    }
}
