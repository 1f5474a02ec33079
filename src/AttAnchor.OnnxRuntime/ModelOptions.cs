using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AttAnchor.OnnxRuntime;

/// <summary>Which execution provider <see cref="VisionLanguageModel.Open"/> asks ONNX Runtime for.</summary>
public enum DevicePreference
{
    /// <summary>CUDA when its provider loads, else the CPU; <see cref="DeviceInfo.Reason"/> says which and why.</summary>
    Auto,

    /// <summary>The CPU execution provider.</summary>
    Cpu,

    /// <summary>The CUDA execution provider; opening fails with a clear error when it cannot load.</summary>
    Cuda,
}

/// <summary>How much ONNX Runtime rewrites the graphs when it opens them.</summary>
public enum GraphOptimization
{
    /// <summary>No rewriting.</summary>
    None,

    /// <summary>Constant folding and redundant-node removal.</summary>
    Basic,

    /// <summary>Basic plus node fusions.</summary>
    Extended,

    /// <summary>Every optimisation, layout ones included (ONNX Runtime's default).</summary>
    All,
}

/// <summary>
/// How to open a model folder: the execution provider, threads, graph optimisation, the image pixel limit
/// and EXIF orientation, and where the library's log goes.
/// </summary>
/// <example>
/// <code>
/// var options = new ModelOptions { Device = DevicePreference.Cpu, IntraOpThreads = 2 };
/// using var model = VisionLanguageModel.Open("models/fixtures/tiny-336-gqa", options);
/// Console.WriteLine(model.Device); // cpu (asked for)
/// </code>
/// </example>
public sealed record ModelOptions
{
    /// <summary>The defaults: CUDA device 0 when it loads, else the CPU; ONNX Runtime's thread count and optimisation level.</summary>
    public static ModelOptions Default { get; } = new();

    /// <summary>The execution provider to ask for. Default <see cref="DevicePreference.Auto"/>.</summary>
    public DevicePreference Device { get; init; } = DevicePreference.Auto;

    /// <summary>The CUDA device id (as in <c>cuda:1</c>). Default 0.</summary>
    public int CudaDeviceId
    {
        get;
        init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(CudaDeviceId), value, "The CUDA device id must be 0 or more.");
    }

    /// <summary>Threads for one operator; 0 lets ONNX Runtime choose (one per physical core). Default 0.</summary>
    public int IntraOpThreads
    {
        get;
        init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), value, "The thread count must be 0 (ONNX Runtime chooses) or more.");
    }

    /// <summary>Graph optimisation level. Default <see cref="GraphOptimization.All"/>.</summary>
    public GraphOptimization Optimization { get; init; } = GraphOptimization.All;

    /// <summary>The largest image, in pixels, that is decoded; larger ones are refused from their header, before decoding. Default <see cref="ModelImage.DefaultMaxPixels"/>.</summary>
    public long MaxImagePixels
    {
        get;
        init => field = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxImagePixels), value, "The pixel limit must be positive.");
    } = ModelImage.DefaultMaxPixels;

    /// <summary>The largest encoded image, in bytes, that is read; a larger file is refused without being read to its end. Default <see cref="ModelImage.DefaultMaxBytes"/> (256 MiB).</summary>
    public long MaxImageBytes
    {
        get;
        init => field = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxImageBytes), value, "The image byte limit must be positive.");
    } = ModelImage.DefaultMaxBytes;

    /// <summary>
    /// Whether ONNX Runtime may send its telemetry events (Windows builds send them through ETW; Linux and macOS builds
    /// have none). Default <see langword="false"/>: <see cref="VisionLanguageModel.Open"/> turns them off before creating
    /// sessions. ONNX Runtime's environment is one per process, so the model opened last decides.
    /// </summary>
    public bool EnableOnnxRuntimeTelemetry { get; init; }

    /// <summary>
    /// Whether <see cref="VisionLanguageModel.LoadImage"/> and the chat client apply an image's EXIF orientation
    /// (<see cref="ExifOrientationMode.Apply"/>, the default, as <c>transformers</c>' <c>load_image</c> does) or keep
    /// the pixels as stored (<see cref="ExifOrientationMode.Ignore"/>, as an image processor given Pillow's
    /// <c>Image.open</c> image does). Use the one the model's Python pipeline used.
    /// </summary>
    public ExifOrientationMode ExifOrientation
    {
        get;
        init => field = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(ExifOrientation), value, "Not a defined ExifOrientationMode; use ExifOrientationMode.Apply or ExifOrientationMode.Ignore.");
    }

    /// <summary>
    /// Where the library logs what it decides, under the category <c>AttAnchor.OnnxRuntime.VisionLanguageModel</c>:
    /// the device chosen and why (Information; Warning when CUDA was there but did not load), each model-folder
    /// check (Debug), each answer's AttAnchor copies and timings (Debug; each copy at Trace).
    /// Default <see cref="NullLoggerFactory.Instance"/>: silent.
    /// </summary>
    /// <example>
    /// <code>
    /// using ILoggerFactory logs = LoggerFactory.Create(b => b.AddConsole().SetMinimumLevel(LogLevel.Debug));
    /// using var model = VisionLanguageModel.Open("models/shapes/attanchor", new ModelOptions { LoggerFactory = logs });
    /// // info: AttAnchor.OnnxRuntime.VisionLanguageModel[4] Execution provider: cpu (the CUDA execution provider is not in this ONNX Runtime build; …)
    /// </code>
    /// </example>
    public ILoggerFactory LoggerFactory
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(LoggerFactory), "Pass NullLoggerFactory.Instance for no logging.");
    } = NullLoggerFactory.Instance;
}

/// <summary>The kind of device the graphs run on.</summary>
public enum DeviceKind
{
    /// <summary>ONNX Runtime's CPU execution provider.</summary>
    Cpu,

    /// <summary>ONNX Runtime's CUDA execution provider.</summary>
    Cuda,
}

/// <summary>Where a model runs, and why there.</summary>
/// <param name="Kind">CPU or CUDA.</param>
/// <param name="DeviceId">The CUDA device id; 0 on the CPU.</param>
/// <param name="Reason">Why this device: e.g. <c>asked for</c>, or why CUDA did not load.</param>
public sealed record DeviceInfo(DeviceKind Kind, int DeviceId, string Reason)
{
    /// <summary>The device's short name: <c>cpu</c> or <c>cuda:N</c>, as the console's <c>--device</c> takes it.</summary>
    public string Name => Kind == DeviceKind.Cuda ? $"cuda:{DeviceId}" : "cpu";

    /// <summary>The name and the reason: <c>cpu (CUDA execution provider not in this ONNX Runtime build)</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"{Name} ({Reason})";
}
