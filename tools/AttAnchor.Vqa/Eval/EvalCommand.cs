using System.CommandLine;
using AttAnchor.OnnxRuntime;
using Spectre.Console;

namespace AttAnchor.Vqa.Eval;

/// <summary>
/// The <c>eval</c> subcommand: answers every question of POPE-format question files (<see cref="PopeData"/>) with every model × AttAnchor
/// config (greedy), scores the answers (<see cref="PopeMetrics"/>) and writes <c>report.json</c>, <c>report.md</c>
/// and <c>report.png</c> (<see cref="EvalReport"/>), then prints the summary table on stdout. The command line, the
/// models' <c>attanchor.json</c> files and every data item and image are checked before any model runs.
/// </summary>
internal sealed class EvalCommand
{
    /// <summary>The answer length when <c>--max-new-tokens</c> is not given: a yes/no answer is short.</summary>
    public const int DefaultMaxNewTokens = 16;

    private readonly Option<string[]> _model = new("--model") { Description = "A model folder (repeatable: every model runs every config).", Required = true, HelpName = "DIR" };
    private readonly Option<string[]> _data = new("--data") { Description = "A POPE-format question file (one split, named by the file without its extension), or a folder whose *.json and *.jsonl files (sorted) are the splits (repeatable). A file is JSON lines (one object per line) or one JSON array of objects, told apart by its content: POPE's output/coco and output/seem/* files are read as published.", Required = true, HelpName = "FILE|DIR" };
    private readonly Option<string[]> _config = new("--config") { Description = $"An AttAnchor setting to run (repeatable): {EvalConfig.Forms}. Default: off and default.", HelpName = "CONFIG" };
    private readonly Option<string?> _images = new("--images") { Description = "Resolve the data's image names under this folder instead of beside each question file (POPE's files name COCO val2014 or GQA images by file name).", HelpName = "DIR" };
    private readonly Option<string?> _questionSuffix = new("--question-suffix") { Description = "Appended to every question after a space, e.g. \"Answer the question using a single word or phrase.\"", HelpName = "TEXT" };
    private readonly Option<int?> _limit = VqaApp.With(NumericOption.OptionalInt("--limit", 1, NumericOption.MaxLimit), $"Evaluate only the first N items of every split, 1..{NumericOption.MaxLimit}.", "N");
    private readonly Option<int> _maxNewTokens = VqaApp.With(NumericOption.Int("--max-new-tokens", 1, NumericOption.MaxNewTokens, DefaultMaxNewTokens), $"The most tokens to generate per answer, EOS included (greedy decoding): 1..{NumericOption.MaxNewTokens}.", "N");
    private readonly Option<string> _device = new("--device") { Description = "cpu or cuda[:N]. Default: CUDA when its provider loads, else the CPU.", HelpName = "cpu|cuda[:N]" };
    private readonly Option<int> _threads = VqaApp.ThreadsOption();
    private readonly Option<bool> _allowImagesAnywhere = new("--allow-images-anywhere") { Description = "Accept image paths in the data that are absolute or lead out of the question file's folder and the --images folder (with '..'); without it such a line is an error." };
    private readonly Option<string> _exif = VqaApp.ExifOption();
    private readonly Option<int> _progressInterval = VqaApp.With(NumericOption.Int("--progress-interval", 1, NumericOption.MaxProgressInterval, EvalProgress.DefaultIntervalSeconds), $"When stderr is not a terminal (a file, a CI log): print a progress line at most every S seconds while a split runs, 1..{NumericOption.MaxProgressInterval}. A terminal shows progress bars instead.", "S");
    private readonly Option<string> _out = new("--out") { Description = "The folder for report.json, report.md and report.png (created if missing).", Required = true, HelpName = "DIR" };

    /// <summary>Makes the command with its options; the caller sets its action.</summary>
    public EvalCommand()
    {
        Command = new Command("eval", "Evaluates models on POPE-format question files (yes/no and open items) with and without AttAnchor; writes report.json, report.md and report.png.");
        foreach (Option option in (Option[])[_model, _data, _config, _images, _allowImagesAnywhere, _questionSuffix, _limit, _maxNewTokens, _device, _threads, _exif, _progressInterval, _out])
        {
            Command.Add(option);
        }
    }

    /// <summary>The <c>eval</c> command.</summary>
    public Command Command { get; }

    /// <summary>Runs the evaluation the parsed command line asks for, timing its progress lines by <paramref name="clock"/>; returns the exit code.</summary>
    public async Task<int> RunAsync(ParseResult parsed, TextWriter stdout, TextWriter stderr, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(clock);
        ModelOptions modelOptions;
        GenerationOptions generation;
        IReadOnlyList<EvalConfig> configs;
        int? limit = parsed.GetValue(_limit);
        string? suffix = parsed.GetValue(_questionSuffix) is { } s && !string.IsNullOrWhiteSpace(s) ? s.Trim() : null;
        string outFolder = parsed.GetValue(_out)!;
        bool createdOut;
        try
        {
            modelOptions = VqaApp.ParseDevice(parsed.GetValue(_device), new ModelOptions { IntraOpThreads = parsed.GetValue(_threads), ExifOrientation = VqaApp.ParseExif(parsed.GetValue(_exif)) });
            generation = new GenerationOptions { MaxNewTokens = parsed.GetValue(_maxNewTokens), Temperature = 0 };
            configs = ParseConfigs(parsed.GetValue(_config) ?? []);
            if (string.IsNullOrWhiteSpace(outFolder))
            {
                throw new ArgumentException("--out must name a folder.");
            }

            // The report's folder is made and written to before anything runs: a run of hours must not fail at its end.
            createdOut = VqaApp.PrepareOutFolder("--out", outFolder, [EvalReport.JsonFile, EvalReport.MarkdownFile, EvalReport.ChartFile]);
        }
        catch (ArgumentException e)
        {
            return VqaApp.Fail(stderr, VqaApp.UsageError, VqaApp.OptionMessage(e));
        }

        bool anywhere = parsed.GetValue(_allowImagesAnywhere);
        int code = await VqaApp.RunGuardedAsync(stderr, async () =>
        {
            // Everything is checked before the first model opens: the models' attanchor.json, every line, every image.
            IReadOnlyList<ModelEntry> models = ReadModels(parsed.GetValue(_model)!);
            IReadOnlyList<PopeSplit> splits = PopeData.Load(parsed.GetValue(_data)!, parsed.GetValue(_images), limit, anywhere);
            var plan = new Plan(models, configs, splits, generation, modelOptions, suffix);

            IReadOnlyList<RunReport> runs = Terminal.IsTerminal(stderr)
                ? await WithProgressBarsAsync(plan, stderr, cancellationToken).ConfigureAwait(false)
                : await EvaluateAsync(plan, new EvalProgress.Lines(stderr, [.. plan.Labels()], clock, TimeSpan.FromSeconds(parsed.GetValue(_progressInterval))), cancellationToken).ConfigureAwait(false);

            var settings = new EvalSettings(
                [.. models.Select(m => m.Folder)],
                [.. splits.Select(s => new DataSource(s.Name, s.File, s.Items.Count, s.TotalItems))],
                [.. configs.Select(c => c.Argument)],
                parsed.GetValue(_images), suffix, limit, generation.MaxNewTokens, generation.Temperature,
                parsed.GetValue(_device) ?? "auto", modelOptions.IntraOpThreads, VqaApp.ExifName(modelOptions.ExifOrientation));
            var report = new EvalReport(settings, runs);
            report.Write(outFolder);
            stdout.Write(report.SummaryTable());
            stdout.Flush();
            stderr.WriteLine($"wrote {Path.Combine(outFolder, EvalReport.JsonFile)}, {EvalReport.MarkdownFile} and {EvalReport.ChartFile}");
            return 0;
        }).ConfigureAwait(false);
        if (code != 0)
        {
            VqaApp.RemoveIfEmpty(Path.GetFullPath(outFolder), createdOut);
        }

        return code;
    }

    /// <summary>The <c>--config</c> values, or <c>off</c> and <c>default</c> when none is given; a repeated value is a usage error.</summary>
    /// <exception cref="ArgumentException">A value is not one of <see cref="EvalConfig.Forms"/>, or is given twice.</exception>
    public static IReadOnlyList<EvalConfig> ParseConfigs(IReadOnlyList<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return EvalConfig.Defaults;
        }

        var configs = new List<EvalConfig>();
        foreach (string value in values)
        {
            EvalConfig config = EvalConfig.Parse(value);
            if (configs.Any(c => c.Anchoring == config.Anchoring))
            {
                throw new ArgumentException($"--config '{value}' repeats a config given before it; give each once.");
            }

            configs.Add(config);
        }

        return configs;
    }

    /// <summary>A run's label: "&lt;model name&gt; / &lt;config&gt;", e.g. <c>shapes-baseline / off</c>.</summary>
    public static string RunLabel(string modelName, EvalConfig config, AttAnchorOptions modelDefaults) =>
        $"{modelName} / {config.Describe(modelDefaults)}";

    private static IReadOnlyList<ModelEntry> ReadModels(IReadOnlyList<string> folders)
    {
        var names = folders.Select(f => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(f)))).ToList();
        var models = new List<ModelEntry>();
        for (int i = 0; i < folders.Count; i++)
        {
            // Two folders of the same name are told apart by the path as given.
            string name = names.Count(n => n == names[i]) > 1 ? Path.TrimEndingDirectorySeparator(folders[i]) : names[i];
            models.Add(new ModelEntry(folders[i], name, ModelConfig.Load(folders[i])));
        }

        return models;
    }

    private static async Task<IReadOnlyList<RunReport>> WithProgressBarsAsync(Plan plan, TextWriter stderr, CancellationToken cancellationToken)
    {
        // stderr is a terminal (Terminal.IsTerminal, by the caller); Spectre's own check looks at stdin, which may be redirected.
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr), Interactive = InteractionSupport.Yes });
        return await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                ProgressTask[] tasks = [.. plan.Labels().Select(label => context.AddTask(Markup.Escape(label), autoStart: false, maxValue: plan.ItemsPerRun))];
                return await EvaluateAsync(plan, new EvalProgress.Bars(tasks), cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<RunReport>> EvaluateAsync(Plan plan, EvalProgress progress, CancellationToken cancellationToken)
    {
        var runs = new List<RunReport>();
        foreach (ModelEntry entry in plan.Models)
        {
            VqaApp.QuietOnnxRuntimeLog();
            using VisionLanguageModel model = VisionLanguageModel.Open(entry.Folder, plan.ModelOptions);
            var images = new Dictionary<string, ModelImage>(StringComparer.Ordinal);   // each image decoded once per model
            foreach (EvalConfig config in plan.Configs)
            {
                int run = runs.Count;
                string label = RunLabel(entry.Name, config, model.Config.Anchoring);
                AttAnchorOptions anchoring = config.Resolve(model.Config.Anchoring);
                GenerationOptions options = plan.Generation with { Anchoring = anchoring };
                progress.RunStarted(run);
                var splits = new List<SplitReport>();
                using var sessions = new CurrentSession(model);
                foreach (PopeSplit split in plan.Splits)
                {
                    progress.SplitStarted(run, split.Name, split.Items.Count);
                    var items = new List<ItemReport>(split.Items.Count);
                    foreach (PopeItem item in split.Items)
                    {
                        if (!images.TryGetValue(item.ImagePath, out ModelImage? image))
                        {
                            image = Load(model, item);
                            images.Add(item.ImagePath, image);
                        }

                        VqaResult result = await AnswerAsync(sessions.For(image), item, plan.Ask(item), options, cancellationToken).ConfigureAwait(false);
                        string prediction = PopeMetrics.Predict(item.Kind, result.Text);
                        items.Add(new ItemReport(item.QuestionId, item.Image, item.Question, item.Label, item.Kind, item.Expected,
                            result.Text, prediction, prediction == item.Expected, result.Anchors.Count, result.SequenceLength));
                        progress.ItemDone(run);
                    }

                    var done = new SplitReport(split.Name, PopeMetrics.Summarize(items.Select(i => (i.Kind, i.Expected, i.Prediction))), items);
                    splits.Add(done);
                    progress.SplitDone(run, done);
                }

                runs.Add(new RunReport(label, entry.Folder,
                    new RunConfig(config.Argument, anchoring.Enabled, anchoring.Threshold, AttAnchorOptions.GetDirectionName(anchoring.Direction)),
                    model.Device.Name, model.Device.Reason, splits));
            }
        }

        return runs;
    }

    private static ModelImage Load(VisionLanguageModel model, PopeItem item)
    {
        try
        {
            return model.LoadImage(item.ImagePath);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{item.Where}: {e.Message}", e);
        }
    }

    private static async Task<VqaResult> AnswerAsync(ImageSession session, PopeItem item, string question, GenerationOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await session.AnswerAsync(question, options, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            // The question does not fit the model's context, say: a data problem, named by its line.
            throw new InvalidDataException($"{item.Where}: {VqaApp.OptionMessage(e)}", e);
        }
    }

    /// <summary>
    /// The image session of the questions in a row about one image (POPE asks about six per image, one after another):
    /// the image is encoded once and the prompt prefix's and image block's KV cache reused; the answers are the model's
    /// own. Only the latest image's session is kept, so memory stays one cache however many images a split has.
    /// </summary>
    private sealed class CurrentSession(VisionLanguageModel model) : IDisposable
    {
        private ImageSession? _session;

        public ImageSession For(ModelImage image)
        {
            if (_session?.Image != image)
            {
                _session?.Dispose();
                _session = null;
                _session = model.OpenImage(image);
            }

            return _session;
        }

        public void Dispose() => _session?.Dispose();
    }

    /// <summary>A model folder, its name in labels and its attanchor.json.</summary>
    private sealed record ModelEntry(string Folder, string Name, ModelConfig Config);

    /// <summary>Everything a run needs, checked.</summary>
    private sealed record Plan(
        IReadOnlyList<ModelEntry> Models, IReadOnlyList<EvalConfig> Configs, IReadOnlyList<PopeSplit> Splits,
        GenerationOptions Generation, ModelOptions ModelOptions, string? QuestionSuffix)
    {
        public int ItemsPerRun => Splits.Sum(s => s.Items.Count);

        public int RunCount => Models.Count * Configs.Count;

        public IEnumerable<string> Labels() =>
            Models.SelectMany(m => Configs.Select(c => RunLabel(m.Name, c, m.Config.Anchoring)));

        /// <summary>The question as the model is asked it: the item's text, then the suffix after a space.</summary>
        public string Ask(PopeItem item) => QuestionSuffix is null ? item.Question : $"{item.Question} {QuestionSuffix}";
    }
}
