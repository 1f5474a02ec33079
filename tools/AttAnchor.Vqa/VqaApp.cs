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
internal static partial class VqaApp
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
        public readonly Option<float?> Threshold = With(NumericOption.OptionalFloat("--threshold", NumericOption.MinThreshold, NumericOption.MaxThreshold), "AttAnchor threshold τ, in [-1, 1]. Default: the model's attanchor.json. 1 inserts nothing.", "X");
        public readonly Option<string?> Direction = new("--direction") { Description = "text-into-image (copy words next to their patches) or image-into-text. Default: the model's attanchor.json (text-into-image).", HelpName = "text-into-image|image-into-text" };
        public readonly Option<bool> NoAnchor = new("--no-anchor") { Description = "The plain LLaVA sequence, nothing inserted (same as τ ≥ 1)." };
        public readonly Option<int> MaxNewTokens = With(NumericOption.Int("--max-new-tokens", 1, NumericOption.MaxNewTokens, 64), $"The most tokens to generate, EOS included: 1..{NumericOption.MaxNewTokens}.", "N");
        public readonly Option<float> Temperature = With(NumericOption.Float("--temperature", 0f, false, NumericOption.MaxTemperature, 0f), $"Sampling temperature in [0, {NumericOption.MaxTemperature}]; 0 is greedy.", "X");
        public readonly Option<int> TopK = With(NumericOption.Int("--top-k", 0, NumericOption.MaxTopK, 0), $"Sample among the k most likely tokens, 0..{NumericOption.MaxTopK}; 0 is off.", "N");
        public readonly Option<float> TopP = With(NumericOption.Float("--top-p", 0f, true, 1f, 1f), "Sample among the most likely tokens whose probability reaches p, in (0, 1]; 1 is off.", "X");
        public readonly Option<int?> Seed = With(NumericOption.OptionalInt("--seed", 0, int.MaxValue), $"Seed of the sampler, 0..{int.MaxValue}; the same seed gives the same answer.", "N");
        public readonly Option<float> RepetitionPenalty = With(NumericOption.Float("--repetition-penalty", 0f, true, NumericOption.MaxRepetitionPenalty, 1f), $"Penalise tokens already in the prompt or answer, in (0, {NumericOption.MaxRepetitionPenalty}]; 1 is off.", "X");
        public readonly Option<string[]> Stop = new("--stop") { Description = "Stop when the answer contains this text (repeatable).", HelpName = "TEXT" };
        public readonly Option<string> Device = new("--device") { Description = "cpu or cuda[:N]. Default: CUDA when its provider loads, else the CPU, saying which.", HelpName = "cpu|cuda[:N]" };
        public readonly Option<int> Threads = ThreadsOption();
        public readonly Option<long> MaxPixels = With(NumericOption.Long("--max-pixels", 1, NumericOption.MaxPixels, ModelImage.DefaultMaxPixels), $"Refuse images with more pixels than this, before decoding them: 1..{NumericOption.MaxPixels}.", "N");
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

    /// <summary>Every option of every command, by command (<c>""</c> for the question, <c>eval</c>, <c>tokenize</c>): for the tests that hold every numeric option to a range.</summary>
    internal static IEnumerable<(string Command, Option Option)> AllOptions() =>
        new Options().Command().Options.Select(o => (string.Empty, o))
            .Concat(new EvalCommand().Command.Options.Select(o => ("eval", o)))
            .Concat(new TokenizeCommand().Command.Options.Select(o => ("tokenize", o)));

    /// <summary>Runs the console with these arguments; returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(args, stdout, stderr, TimeProvider.System, cancellationToken);

    /// <summary>Runs the console with these arguments, <c>eval</c>'s progress lines timed by <paramref name="clock"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider clock, CancellationToken cancellationToken)
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
            code = await evaluation.RunAsync(result, stdout, stderr, clock, token).ConfigureAwait(false);
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

        // The caller handles Ctrl+C and SIGTERM (Program.cs, Termination.cs): System.CommandLine's own handler would throw on a second Ctrl+C.
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
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
            ModelImage image = LoadImage(model, p.GetValue(o.Image)!);
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
    /// Loads <c>--image</c>: a regular file as the library does; a file that reports 0 bytes (empty, a pipe such as
    /// bash's <c>&lt;(curl …)</c>, a device) is read to its end but at most the model's <see cref="ModelOptions.MaxImageBytes"/>, so
    /// that /dev/zero is an error instead of a process that grows without end; a folder is an error naming it.
    /// </summary>
    internal static ModelImage LoadImage(VisionLanguageModel model, string path)
    {
        if (Directory.Exists(path))
        {
            throw new InvalidDataException($"--image {path} is a folder; give an image file.");
        }

        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
        {
            info = target;   // a link's own size is its target's name's
        }

        if (!info.Exists || info.Length > 0)
        {
            return model.LoadImage(path);
        }

        long limit = model.Options.MaxImageBytes;
        using var buffer = new MemoryStream();
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1))
        {
            byte[] chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > limit)
                {
                    throw new InvalidDataException($"--image {path} gives more than {limit >> 20} MiB and is not a regular file (a device such as /dev/zero?); give an image file.");
                }
            }
        }

        const string Anonymous = "The image data";
        try
        {
            return ModelImage.FromBytes(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), model.Options.MaxImagePixels, model.Options.ExifOrientation);
        }
        catch (InvalidDataException e) when (e.Message.StartsWith(Anonymous, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"The image file {path}{e.Message[Anonymous.Length..]}", e);
        }
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
        stderr.WriteLine($"error: {OneLine(WithoutBytes(message))}");
        return code;
    }

    /// <summary>
    /// A message without the "(N bytes starting 726F6F74…)" that the image reader appends about data that is not an
    /// image: those bytes are the file's content (the start of /etc/passwd, say), and an error must not show it.
    /// </summary>
    internal static string WithoutBytes(string message) => FileBytes().Replace(message, string.Empty);

    [System.Text.RegularExpressions.GeneratedRegex(@" ?\(\d+ bytes starting [0-9A-Fa-f]*\)")]
    private static partial System.Text.RegularExpressions.Regex FileBytes();

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

        string? folder = Path.GetDirectoryName(FullPath("--anchor-map", path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new ArgumentException(FileAncestor(folder) is { } file
                ? $"--anchor-map {path}: {file} is a file, not a folder; write the map in a folder."
                : $"--anchor-map {path}: the folder {folder} does not exist; create it first, or write the map elsewhere.");
        }

        ProbeWritableFile("--anchor-map", path);
    }

    /// <summary>
    /// Checks that <paramref name="path"/> can be written, before anything is answered or evaluated: opens it for
    /// writing (creating it, then deleting it again when it did not exist), without changing a file already there.
    /// </summary>
    /// <exception cref="ArgumentException">The file cannot be created or written; the message names the option and the path.</exception>
    internal static void ProbeWritableFile(string option, string path)
    {
        string full = FullPath(option, path);
        bool existed = File.Exists(full);
        try
        {
            using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
            }

            if (!existed)
            {
                File.Delete(full);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{option} {path} cannot be written ({WhyNot(full, e)}); give a path in a folder you can write to.", e);
        }
    }

    /// <summary>
    /// Creates <c>eval --out</c>'s folder if missing and checks that files can be written in it, before anything runs;
    /// returns whether the folder was created (so that a failed run can take an empty one away again).
    /// </summary>
    /// <exception cref="ArgumentException">The folder is a file, lies under a file, or cannot be created or written.</exception>
    internal static bool PrepareOutFolder(string option, string folder, IEnumerable<string> fileNames)
    {
        string full = FullPath(option, folder);
        if (File.Exists(full))
        {
            throw new ArgumentException($"{option} {folder} is a file; give a folder (it is created if missing).");
        }

        bool created = !Directory.Exists(full);
        try
        {
            Directory.CreateDirectory(full);
            string probe = Path.Combine(full, string.Create(CultureInfo.InvariantCulture, $".attanchor-write-check-{Environment.ProcessId}"));
            using (new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            foreach (string name in fileNames)
            {
                if (Directory.Exists(Path.Combine(full, name)))
                {
                    throw new IOException($"{Path.Combine(full, name)} is a folder where a report file goes");
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            RemoveIfEmpty(full, created);
            throw new ArgumentException($"{option} {folder} cannot be written ({WhyNot(full, e)}); give a folder you can write to.", e);
        }

        return created;
    }

    /// <summary>Deletes a folder this run created, when it is still empty.</summary>
    internal static void RemoveIfEmpty(string folder, bool created)
    {
        try
        {
            if (created && Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
            {
                Directory.Delete(folder);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left as it is: the error the caller reports matters more.
        }
    }

    /// <summary>A path made full, or a usage error naming the option when it cannot be (a NUL in it, say).</summary>
    internal static string FullPath(string option, string path)
    {
        try
        {
            return path.Contains('\0', StringComparison.Ordinal) ? throw new ArgumentException("NUL") : Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"{option}: the path holds a character that is not allowed in a path (such as NUL); give a plain path.", e);
        }
    }

    /// <summary>Why a path cannot be written, in a few words: an ancestor that is a file, permission, or the system's reason.</summary>
    private static string WhyNot(string full, Exception e) =>
        FileAncestor(Path.GetDirectoryName(full) ?? full) is { } file ? $"{file} is a file, not a folder"
        : e is UnauthorizedAccessException ? "permission denied"
        : e is FileNotFoundException or DirectoryNotFoundException ? "the file system does not let a file be created there"
        : OneLine(e.Message);

    /// <summary>The nearest ancestor of <paramref name="path"/> (or the path itself) that exists as a file, or null.</summary>
    private static string? FileAncestor(string path)
    {
        for (string? p = Path.GetFullPath(path); p is not null; p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>The <c>--threads</c> option, shared by the question and the <c>eval</c> subcommand: 0..<see cref="NumericOption.MaxThreads"/>.</summary>
    internal static Option<int> ThreadsOption() =>
        With(NumericOption.Int("--threads", 0, NumericOption.MaxThreads, 0, "0 lets ONNX Runtime choose"), $"ONNX Runtime threads per operator, 0..{NumericOption.MaxThreads}; 0 lets it choose.", "N");

    /// <summary>An option with its help text and value name.</summary>
    internal static Option<T> With<T>(Option<T> option, string description, string helpName)
    {
        option.Description = description;
        option.HelpName = helpName;
        return option;
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
