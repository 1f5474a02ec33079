using System.Diagnostics;
using System.Globalization;
using AttAnchor.OnnxRuntime.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// A LLaVA-style vision-language model opened from a model folder: one ONNX Runtime session per graph
/// (<c>vision_encoder</c>, <c>projector</c>, <c>embed_tokens</c>, <c>decoder_model_merged</c>), the
/// SentencePiece tokenizer, and AttAnchor regrouping between the projector and the decoder.
/// </summary>
/// <remarks>
/// <para>Opening checks every value of <c>attanchor.json</c> that a graph also declares; a mismatch is an
/// <see cref="InvalidDataException"/> naming the file, the tensor and both values.</para>
/// <para>An answer runs: image → resize, crop, normalise → vision encoder → projector → the prompt's token
/// embeddings → AttAnchor plan and regrouped sequence → prefill → decode with the KV cache. The model is
/// safe to use from several threads at once; each answer has its own KV cache.</para>
/// <para>For several questions about one image, <see cref="OpenImage"/> encodes the image once and reuses the
/// decoder's KV cache of the prompt's shared prefix (see <see cref="ImageSession"/>).</para>
/// <para>Disposing the model while answers are running ends each of them at its next stage or decode step with an
/// <see cref="ObjectDisposedException"/>; the sessions are released when the last of them has stopped.</para>
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
    private readonly OrtMemoryInfo? _cudaMemory;
    private readonly double[] _meanValues;     // image_mean as written (the pad colour is computed from it as Python does)
    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly UseCount _uses = new();   // the owner's reference and one per answer or image encoding in flight
    private long _imageEncodings;

    private VisionLanguageModel(string folder, ModelConfig config, ModelOptions options, ModelGraphs graphs, PromptTokenizer prompts, DeviceInfo device, ILogger logger)
    {
        Folder = folder;
        Logger = logger;
        Config = config;
        Options = options;
        _graphs = graphs;
        Prompts = prompts;
        Device = device;
        _cudaMemory = device.Kind == DeviceKind.Cuda
            ? new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator, device.DeviceId, OrtMemType.Default)
            : null;
        _meanValues = [.. config.ImageMean];
        _mean = [.. config.ImageMean.Select(m => (float)m)];
        _std = [.. config.ImageStd.Select(s => (float)s)];
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

    internal PromptTokenizer Prompts { get; }

    internal ILogger Logger { get; }

    internal ModelGraphs Graphs => _graphs;

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    internal bool IsDisposed => _uses.IsDisposed;

    /// <summary>Tests: how many times the vision encoder (and projector) has run on this model.</summary>
    internal long ImageEncodings => Interlocked.Read(ref _imageEncodings);

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
        var (graphs, device) = OpenGraphs(folder, config, options, logger);
        Log.GraphsChecked(logger, graphs.Describe());
        Log.Opened(logger, folder, Stopwatch.GetElapsedTime(start).TotalMilliseconds, config.Describe(), device.Name);
        return new VisionLanguageModel(folder, config, options, graphs, prompts, device, logger);
    }

    /// <summary>
    /// Loads an image file with this model's pixel limit (<see cref="ModelOptions.MaxImagePixels"/>) and EXIF
    /// orientation mode (<see cref="ModelOptions.ExifOrientation"/>).
    /// </summary>
    /// <param name="path">A JPEG, PNG, BMP, GIF or WebP file.</param>
    /// <returns>The image as 8-bit RGB, its EXIF orientation applied unless the options say to ignore it.</returns>
    public ModelImage LoadImage(string path) => ModelImage.FromFile(path, Options.MaxImagePixels, Options.ExifOrientation);

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
        Prompt prompt = BuildPrompt(question, options);
        return new AnswerStream(this, image, session: null, prompt, options);
    }

    /// <summary>Answers a question about an image and returns the whole result.</summary>
    /// <param name="image">The image.</param>
    /// <param name="question">The question.</param>
    /// <param name="options">Generation options; <see cref="GenerationOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Cancels the answer within one decode step.</param>
    /// <returns>The result.</returns>
    public async Task<VqaResult> AnswerAsync(ModelImage image, string question, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        AnswerStream stream = Answer(image, question, options);
        await foreach (string _ in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
        }

        return stream.Result;
    }

    /// <summary>
    /// Opens an image for several questions: resizes and normalises it and runs the vision encoder and the projector
    /// now, once, and keeps the image embeddings; the session's answers also share the decoder's KV cache of the
    /// prompt's prefix and the image block. See <see cref="ImageSession"/>.
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
            using var run = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            long start = Stopwatch.GetTimestamp();
            float[] pixels = PixelValues(image);
            TimeSpan preprocess = Stopwatch.GetElapsedTime(start);
            float[] embeddings = ImageEmbeddings(pixels, run, out TimeSpan vision, out TimeSpan projector);
            return new ImageSession(this, image, embeddings, Prompts.PrefixIds, preprocess, vision, projector);
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
    public void Dispose()
    {
        if (_uses.Dispose())
        {
            Release();
        }
    }

    /// <summary>Takes a reference for an answer or an image encoding in flight, so the sessions outlive it.</summary>
    /// <exception cref="ObjectDisposedException">The model is disposed.</exception>
    internal void Enter()
    {
        if (!_uses.TryEnter())
        {
            throw new ObjectDisposedException(nameof(VisionLanguageModel), "The model is disposed; open it again to answer.");
        }
    }

    /// <summary>Drops a reference <see cref="Enter"/> took; the last one out after <see cref="Dispose"/> releases the sessions.</summary>
    internal void Exit()
    {
        if (_uses.Exit())
        {
            Release();
        }
    }

    /// <summary>Throws when the model was disposed while an answer was running (called between stages and decode steps).</summary>
    internal void ThrowIfDisposedWhileAnswering()
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException(nameof(VisionLanguageModel), "The model was disposed while this answer was being generated.");
        }
    }

    /// <summary>Checks a question and the options against the template and the context; the prompt, split at <c>&lt;image&gt;</c>.</summary>
    internal Prompt BuildPrompt(string question, GenerationOptions options)
    {
        Prompt prompt = Prompts.Build(PromptTokenizer.CheckQuestion(question));
        int baseline = prompt.TokenCount + Config.NumImageTokens;
        CheckContext(baseline, 0, options.MaxNewTokens, prompt);
        return prompt;
    }

    /// <summary>The RGB crop [S × S × 3] the vision encoder sees, before normalisation: resized, cropped or padded as <c>attanchor.json</c> says.</summary>
    internal byte[] Crop(ModelImage image) => ImagePreprocessor.ResizeAndCrop(image, Config.ImageSize, Config.ResizeMode, _meanValues);

    /// <summary>The normalised pixel values [3 × S × S] of an image, as the model sees it.</summary>
    internal float[] PixelValues(ModelImage image)
    {
        int size = Config.ImageSize;
        byte[] crop = Crop(image);                                                                    // [S × S × 3]
        var pixels = new float[3 * size * size];
        ImagePreprocessor.Normalize(crop, size, _mean, _std, pixels);
        return pixels;
    }

    /// <summary>The image rows [M × D]: vision encoder, then the projector when there is one.</summary>
    internal float[] ImageEmbeddings(float[] pixels, RunOptions run, out TimeSpan vision, out TimeSpan projector)
    {
        Interlocked.Increment(ref _imageEncodings);
        int size = Config.ImageSize;
        long start = Stopwatch.GetTimestamp();
        using OrtValue input = OrtTensors.FromFloats(pixels, [1, 3, size, size], _graphs.PixelType);
        using IDisposableReadOnlyCollection<OrtValue> features = RunGraph(_graphs.Vision, run, ModelGraphs.PixelValues, input, ModelGraphs.ImageFeatures);
        vision = Stopwatch.GetElapsedTime(start);
        OrtValue rows = features[0];
        projector = TimeSpan.Zero;
        float[] result;
        long[] shape;
        if (_graphs.Projector is { } graph)
        {
            start = Stopwatch.GetTimestamp();
            OrtValue? converted = null;
            if (rows.GetTensorTypeAndShape().ElementDataType != _graphs.ProjectorInputType)
            {
                converted = OrtTensors.FromFloats(OrtTensors.ToFloats(rows, out long[] featureShape), featureShape, _graphs.ProjectorInputType);
            }

            using (converted)
            {
                using IDisposableReadOnlyCollection<OrtValue> embeds = RunGraph(graph, run, ModelGraphs.ImageFeatures, converted ?? rows, ModelGraphs.ImageEmbeds);
                result = OrtTensors.ToFloats(embeds[0], out shape);
            }

            projector = Stopwatch.GetElapsedTime(start);
            RequireShape(graph, ModelGraphs.ImageEmbeds, shape, [1, Config.NumImageTokens, Config.HiddenSize]);
        }
        else
        {
            result = OrtTensors.ToFloats(rows, out shape);
            RequireShape(_graphs.Vision, ModelGraphs.ImageFeatures, shape, [1, Config.NumImageTokens, Config.HiddenSize]);
        }

        return result;
    }

    /// <summary>The <c>embed_tokens</c> rows [n × D] of token ids.</summary>
    internal float[] EmbedTokens(ReadOnlySpan<int> ids, RunOptions run)
    {
        if (ids.IsEmpty)
        {
            return [];
        }

        using OrtValue input = OrtTensors.Ids(ids, _graphs.InputIdsType);
        using IDisposableReadOnlyCollection<OrtValue> outputs = RunGraph(_graphs.Embed, run, ModelGraphs.InputIds, input, ModelGraphs.InputsEmbeds);
        float[] rows = OrtTensors.ToFloats(outputs[0], out long[] shape);
        RequireShape(_graphs.Embed, ModelGraphs.InputsEmbeds, shape, [1, ids.Length, Config.HiddenSize]);
        return rows;
    }

    /// <summary>A new decoder state with room for <paramref name="capacity"/> positions.</summary>
    internal DecoderState CreateDecoderState(int capacity) => new(_graphs, Config, _cudaMemory, capacity);

    /// <summary>A decoder state whose cache stays in host memory (under CUDA too), run with <paramref name="run"/>: for an image session's shared prefix.</summary>
    internal DecoderState CreateHostDecoderState(int capacity, RunOptions run) => new(_graphs, Config, deviceCache: null, capacity, run);

    /// <summary>Throws when the prompt sequence plus the answer would pass the context limit.</summary>
    internal void CheckContext(int sequenceLength, int copies, int maxNewTokens, Prompt prompt)
    {
        int context = Config.MaxPositionEmbeddings;
        if ((long)sequenceLength + maxNewTokens <= context)
        {
            return;
        }

        string parts = string.Create(CultureInfo.InvariantCulture,
            $"{prompt.PrefixIds.Length} prefix + {Config.NumImageTokens} image + {prompt.TextIds.Length} text{(copies > 0 ? $" + {copies} AttAnchor copies" : string.Empty)}");
        throw sequenceLength >= context
            ? new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The question does not fit the model's context: the prompt sequence takes {sequenceLength} positions ({parts}) of {context}. Ask a shorter question."), "question")
            : new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The prompt sequence takes {sequenceLength} positions ({parts}) of the model's {context}, so at most {context - sequenceLength} new tokens fit, not {maxNewTokens}. Lower the maximum new tokens (--max-new-tokens) to {context - sequenceLength} or ask a shorter question."), "options");
    }

    private void Release()
    {
        _graphs.Dispose();
        _cudaMemory?.Dispose();
    }

    private IDisposableReadOnlyCollection<OrtValue> RunGraph(OnnxGraph graph, RunOptions run, string inputName, OrtValue input, string outputName)
    {
        try
        {
            return graph.Session.Run(run, [inputName], [input], [outputName]);
        }
        catch (OnnxRuntimeException e)
        {
            if (run.Terminate)
            {
                throw new OperationCanceledException("The answer was cancelled.", e);
            }

            throw new InvalidOperationException($"{graph.Path}: ONNX Runtime failed to run the graph: {OnnxGraph.FirstLine(e.Message)}", e);
        }
    }

    private static void RequireShape(OnnxGraph graph, string name, long[] actual, long[] expected)
    {
        if (!actual.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidDataException($"{graph.Path}: '{name}' came out {OrtTensors.Format(actual)}, but attanchor.json implies {OrtTensors.Format(expected)}.");
        }
    }

    private static (ModelGraphs Graphs, DeviceInfo Device) OpenGraphs(string folder, ModelConfig config, ModelOptions options, ILogger logger)
    {
        var (graphs, device) = ChooseDevice(folder, config, options, logger);
        Log.DeviceChosen(logger, device.Name, device.Reason);
        return (graphs, device);
    }

    private static (ModelGraphs Graphs, DeviceInfo Device) ChooseDevice(string folder, ModelConfig config, ModelOptions options, ILogger logger)
    {
        if (options.Device == DevicePreference.Cpu)
        {
            return (OpenOn(folder, config, ExecutionProviders.Cpu(options)), new DeviceInfo(DeviceKind.Cpu, 0, "asked for"));
        }

        bool built = ExecutionProviders.CudaAvailable();
        if (!built)
        {
            const string NotBuilt = "the CUDA execution provider is not in this ONNX Runtime build; reference Microsoft.ML.OnnxRuntime.Gpu instead of Microsoft.ML.OnnxRuntime for CUDA";
            return options.Device == DevicePreference.Cuda
                ? throw new InvalidOperationException($"CUDA was asked for, but {NotBuilt} (the sample console: build with -p:OnnxRuntimeFlavor=Gpu).")
                : (OpenOn(folder, config, ExecutionProviders.Cpu(options)), new DeviceInfo(DeviceKind.Cpu, 0, NotBuilt));
        }

        try
        {
            ModelGraphs graphs = OpenOn(folder, config, ExecutionProviders.Cuda(options));
            return (graphs, new DeviceInfo(DeviceKind.Cuda, options.CudaDeviceId, options.Device == DevicePreference.Cuda ? "asked for" : "the CUDA execution provider loaded"));
        }
        catch (Exception e) when (e is OnnxRuntimeException || (e is InvalidDataException && e.InnerException is OnnxRuntimeException))
        {
            string why = $"the CUDA execution provider did not load on device {options.CudaDeviceId}: {OnnxGraph.FirstLine((e.InnerException ?? e).Message)}";
            if (options.Device != DevicePreference.Cuda)
            {
                Log.CudaFellBack(logger, why);
            }

            return options.Device == DevicePreference.Cuda
                ? throw new InvalidOperationException($"CUDA was asked for, but {why}. Check the CUDA and cuDNN versions ONNX Runtime {OrtEnv.Instance().GetVersionString()} needs, or use the CPU.", e)
                : (OpenOn(folder, config, ExecutionProviders.Cpu(options)), new DeviceInfo(DeviceKind.Cpu, 0, why));
        }
    }

    private static ModelGraphs OpenOn(string folder, ModelConfig config, SessionOptions session)
    {
        using (session)
        {
            return ModelGraphs.Open(folder, config, session);
        }
    }
}
