using System.Diagnostics;
using AttAnchor.OnnxRuntime.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// A LLaVA-style vision-language model opened from a model folder: one ONNX Runtime session per graph
/// (<c>vision_encoder</c>, <c>projector</c>, <c>embed_tokens</c>, <c>decoder_model_merged</c>), the
/// SentencePiece tokenizer, and AttAnchor regrouping between the projector and the decoder.
/// </summary>
/// <remarks>
/// Opening checks every value of <c>attanchor.json</c> that a graph also declares; a mismatch is an
/// <see cref="InvalidDataException"/> naming the file, the tensor and both values. The model is safe to use from
/// several threads at once (each answer has its own KV cache); disposing it while answers run ends each at its next
/// stage or decode step with an <see cref="ObjectDisposedException"/>, and the sessions are released when the last
/// has stopped. See docs/architecture.md for the stages of an answer, docs/image-sessions.md for
/// <see cref="OpenImage"/>.
/// </remarks>
/// <example>
/// <code>
/// using var model = VisionLanguageModel.Open("models/fixtures/tiny-336-gqa");
/// ModelImage image = model.LoadImage("models/fixtures/images/square.png");
/// AnswerStream answer = model.Answer(image, "What color is the circle?", new GenerationOptions { MaxNewTokens = 10 });
/// await foreach (string piece in answer)
///     Console.Write(piece);
/// Console.WriteLine($" [{answer.Result.StopReason}, {answer.Result.Anchors.Count} anchors, {model.Device}]");
/// // squZq7angZq�.\n: [MaxNewTokens, 9 anchors, cpu (…)]   (random weights: the words are noise)
/// </code>
/// </example>
public sealed class VisionLanguageModel : IDisposable
{
    private readonly ModelGraphs _graphs;
    private readonly OrtMemoryInfo? _cudaMemory;   // where a CUDA answer's KV cache lives; null on the CPU
    private readonly UseCount _uses;                // the owner's reference and one per answer or image encoding in flight

    private VisionLanguageModel(string folder, ModelConfig config, ModelOptions options, ModelGraphs graphs, PromptTokenizer prompts, Regrouper regrouper, DeviceInfo device, ILogger logger)
    {
        Folder = folder;
        Logger = logger;
        Config = config;
        Options = options;
        _graphs = graphs;
        Device = device;
        _cudaMemory = device.Kind == DeviceKind.Cuda
            ? new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator, device.DeviceId, OrtMemType.Default)
            : null;
        _uses = new UseCount(Release, nameof(VisionLanguageModel), "model", "open it again to answer");
        ImageEncoder = new ImageEncoder(graphs, config);
        PromptEncoder = new PromptEncoder(prompts, graphs, config);
        Regrouper = regrouper;
    }

    /// <summary>The model folder.</summary>
    public string Folder { get; }

    /// <summary>The folder's <c>attanchor.json</c>.</summary>
    public ModelConfig Config { get; }

    /// <summary>The options the model was opened with.</summary>
    public ModelOptions Options { get; }

    /// <summary>Where the graphs run, and why there.</summary>
    public DeviceInfo Device { get; }

    /// <summary>Whether the folder has a projector graph.</summary>
    public bool HasProjector => _graphs.Projector is not null;

    /// <summary>The image stage: image → image rows.</summary>
    internal ImageEncoder ImageEncoder { get; }

    /// <summary>The text stage: question → prompt ids → prompt rows.</summary>
    internal PromptEncoder PromptEncoder { get; }

    /// <summary>The AttAnchor stage: prompt rows and image rows → the regrouped sequence.</summary>
    internal Regrouper Regrouper { get; }

    internal PromptTokenizer Prompts => PromptEncoder.Tokenizer;

    internal ILogger Logger { get; }

    internal ModelGraphs Graphs => _graphs;

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    internal bool IsDisposed => _uses.IsDisposed;

    /// <summary>Opens a model folder (see the model-folder spec) on the device <paramref name="options"/> asks for.</summary>
    /// <param name="folder">The folder with <c>attanchor.json</c>, the graphs and <c>tokenizer.model</c>.</param>
    /// <param name="options">Device, threads, optimisation level, pixel limit; <see cref="ModelOptions.Default"/> when null.</param>
    /// <returns>The opened model; dispose it to release the sessions.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A required file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is invalid, or a graph disagrees with <c>attanchor.json</c> or with the graph it feeds.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for and cannot load, or no native ONNX Runtime is present.</exception>
    public static VisionLanguageModel Open(string folder, ModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= ModelOptions.Default;
        ILogger logger = options.LoggerFactory.CreateLogger<VisionLanguageModel>();
        long start = Stopwatch.GetTimestamp();
        ModelConfig config = ModelConfig.Load(folder);
        Log.ConfigRead(logger, Path.Combine(folder, ModelConfig.FileName), config.Describe(), config.PromptTemplate.ReplaceLineEndings("\\n"), Log.Describe(config.Anchoring));
        PromptTokenizer prompts = PromptTokenizer.Open(folder, config, verify: true);
        Log.TokenizerChecked(logger, Path.Combine(folder, PromptTokenizer.FileName), prompts.PieceCount, config.VocabSize, config.BosTokenId, config.EosTokenId,
            File.Exists(Path.Combine(folder, PromptTokenizer.CheckFileName)) ? "agrees" : "absent, not checked");
        var regrouper = new Regrouper(config, prompts, logger);
        PlanningWarmUp.Start(regrouper, logger); // compiles the AttAnchor stage while the sessions are created below
        var (graphs, device) = ExecutionProviders.OpenGraphs(folder, config, options, logger);
        Log.GraphsChecked(logger, graphs.Describe());
        Log.Opened(logger, folder, Stopwatch.GetElapsedTime(start).TotalMilliseconds, config.Describe(), device.Name);
        return new VisionLanguageModel(folder, config, options, graphs, prompts, regrouper, device, logger);
    }

    /// <summary>
    /// Loads an image file with this model's pixel and byte limits (<see cref="ModelOptions.MaxImagePixels"/>,
    /// <see cref="ModelOptions.MaxImageBytes"/>) and EXIF orientation mode (<see cref="ModelOptions.ExifOrientation"/>).
    /// </summary>
    /// <param name="path">A JPEG, PNG, BMP, GIF or WebP file.</param>
    /// <returns>The image as 8-bit RGB, its EXIF orientation applied unless the options say to ignore it.</returns>
    public ModelImage LoadImage(string path) => ModelImage.FromFile(path, Options.MaxImagePixels, Options.ExifOrientation, Options.MaxImageBytes);

    /// <summary>
    /// Starts answering a question about an image. The question and options are checked now; the work
    /// runs as the returned stream is enumerated, and <see cref="AnswerStream.Result"/> holds the outcome.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="question">The question: not empty, without <c>&lt;image&gt;</c>.</param>
    /// <param name="options">Length, sampling, stop strings and AttAnchor settings; <see cref="GenerationOptions.Default"/> when null.</param>
    /// <returns>The answer's text pieces, as they are generated.</returns>
    /// <exception cref="ArgumentException">The question is empty or holds <c>&lt;image&gt;</c>, or the prompt does not fit the context.</exception>
    public AnswerStream Answer(ModelImage image, string question, GenerationOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(image);
        options ??= GenerationOptions.Default;
        return new AnswerStream(this, image, session: null, PromptEncoder.Encode(question, options.MaxNewTokens), options);
    }

    /// <summary>Answers a question about an image and returns the whole result.</summary>
    /// <param name="image">The image.</param>
    /// <param name="question">The question.</param>
    /// <param name="options">Generation options; <see cref="GenerationOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Cancels the answer within one decode step.</param>
    /// <returns>The result.</returns>
    public Task<VqaResult> AnswerAsync(ModelImage image, string question, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Answer(image, question, options).ToResultAsync(cancellationToken);

    /// <summary>
    /// Opens an image for several questions: runs the image stage (preprocess, vision encoder, projector) now, once;
    /// the session's answers also share the decoder's KV cache of the prompt's prefix and the image block.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <returns>The session; dispose it to release the cached KV tensors.</returns>
    /// <exception cref="ObjectDisposedException">The model is disposed.</exception>
    /// <example>
    /// <code>
    /// using var model = VisionLanguageModel.Open("models/shapes/attanchor");
    /// using ImageSession session = model.OpenImage(model.LoadImage("models/shapes/example.png")); // vision encoder and projector run here
    /// VqaResult result = await session.AnswerAsync("What color is the circle?", new GenerationOptions { Anchoring = AttAnchorOptions.Off });
    /// Console.WriteLine($"{result.Text} (reused {result.ReusedPrefixLength} of {result.SequenceLength} positions)");
    /// // Red. (reused 53 of 62 positions)
    /// </code>
    /// </example>
    public ImageSession OpenImage(ModelImage image)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(image);
        Enter();
        try
        {
            using var run = NewRunOptions();
            return new ImageSession(this, image, ImageEncoder.Encode(image, run), Prompts.PrefixIds);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// This model as a Microsoft.Extensions.AI <see cref="Microsoft.Extensions.AI.IChatClient"/>: one user message with
    /// a question and an image (<c>DataContent</c>) in, the answer out. Disposing the client leaves the model open.
    /// </summary>
    /// <param name="defaultOptions">What a request without <c>ChatOptions</c> gets; <see cref="GenerationOptions.Default"/> when null.</param>
    /// <returns>The client; see <see cref="AttAnchorChatClient"/> for what it maps and what it refuses.</returns>
    public AttAnchorChatClient AsIChatClient(GenerationOptions? defaultOptions = null) => new(this, defaultOptions);

    /// <inheritdoc/>
    public void Dispose() => _uses.Dispose();

    /// <summary>Run options for one answer or encoding: setting <see cref="RunOptions.Terminate"/> cancels its run in flight.</summary>
    internal static RunOptions NewRunOptions() => new() { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };

    /// <summary>
    /// The stages before the first token, composed: the image rows (encoded now, or the session's), the prompt's rows,
    /// AttAnchor, the decoder state (resumed from the session's shared prefix when there is one) and its prefill.
    /// The token is checked before each stage, so a cancelled answer stops at the next stage boundary.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a stage.</exception>
    internal Generator Prepare(ModelImage image, ImageSession? session, Prompt prompt, GenerationOptions options, RunOptions run, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ImageRows imageRows = session?.Rows ?? ImageEncoder.Encode(image, run, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        PromptRows promptRows = PromptEncoder.Embed(prompt, run);
        cancellationToken.ThrowIfCancellationRequested();
        RegroupedSequence sequence = Regrouper.Regroup(prompt, promptRows.Rows, imageRows.Rows, options.Anchoring ?? Config.Anchoring, options.MaxNewTokens);
        cancellationToken.ThrowIfCancellationRequested();

        long start = Stopwatch.GetTimestamp();
        var decoder = new DecoderState(_graphs, Config, _cudaMemory, sequence.Length + options.MaxNewTokens, run);
        int reused = 0;
        TimeSpan shared = TimeSpan.Zero;
        if (session is not null)
        {
            reused = session.Resume(decoder, prompt, sequence.Plan, run, out shared);
            Log.PrefixReused(Logger, reused, sequence.Length);
        }

        var setup = new AnswerSetup(prompt, sequence, imageRows, promptRows.Time, Stopwatch.GetElapsedTime(start), shared, reused, session is not null);
        var generator = new Generator(decoder, setup, options, Config, Prompts.Detokenizer, Device);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            generator.Prefill();
            return generator;
        }
        catch
        {
            generator.Dispose();
            throw;
        }
    }

    /// <summary>A decoder state for an image session's shared prefix: its cache stays in host memory, under CUDA too.</summary>
    internal DecoderState NewHostDecoderState(int capacity, RunOptions run) => new(_graphs, Config, deviceCache: null, capacity, run);

    /// <summary>A decoder state on the model's device, as an answer's.</summary>
    internal DecoderState NewDecoderState(int capacity, RunOptions run) => new(_graphs, Config, _cudaMemory, capacity, run);

    /// <summary>Takes a reference for an answer or an image encoding in flight, so the sessions outlive it.</summary>
    /// <exception cref="ObjectDisposedException">The model is disposed.</exception>
    internal void Enter() => _uses.Enter();

    /// <summary>Drops a reference <see cref="Enter"/> took; the last one out after <see cref="Dispose"/> releases the sessions.</summary>
    internal void Exit() => _uses.Exit();

    /// <summary>Throws when the model was disposed while an answer was running (called between stages and decode steps).</summary>
    internal void ThrowIfDisposedWhileAnswering() => _uses.ThrowIfDisposedWhileAnswering();

    private void Release()
    {
        _graphs.Dispose();
        _cudaMemory?.Dispose();
    }
}
