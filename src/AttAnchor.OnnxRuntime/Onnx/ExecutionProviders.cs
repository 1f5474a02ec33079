using System.Runtime.InteropServices;
using AttAnchor.OnnxRuntime.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime;

/// <summary>Chooses the device a model's graphs run on (CUDA when asked for or available, else the CPU) and says why.</summary>
internal static partial class ExecutionProviders
{
    public const string CudaProvider = "CUDAExecutionProvider";

    /// <summary>Opens a model folder's graphs on the device <paramref name="options"/> asks for, falling back to the CPU when CUDA is only preferred.</summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for and cannot load, or no native ONNX Runtime is present.</exception>
    public static (ModelGraphs Graphs, DeviceInfo Device) OpenGraphs(string folder, ModelConfig config, ModelOptions options, ILogger logger)
    {
        ApplyTelemetry(options.EnableOnnxRuntimeTelemetry);
        var (graphs, device) = Choose(folder, config, options, logger);
        Log.DeviceChosen(logger, device.Name, device.Reason);
        return (graphs, device);
    }

    private static (ModelGraphs Graphs, DeviceInfo Device) Choose(string folder, ModelConfig config, ModelOptions options, ILogger logger)
    {
        if (options.Device == DevicePreference.Cpu)
        {
            return (OpenOn(folder, config, Cpu(options)), new DeviceInfo(DeviceKind.Cpu, 0, "asked for"));
        }

        if (!CudaAvailable())
        {
            const string NotBuilt = "the CUDA execution provider is not in this ONNX Runtime build; reference Microsoft.ML.OnnxRuntime.Gpu instead of Microsoft.ML.OnnxRuntime for CUDA";
            return options.Device == DevicePreference.Cuda
                ? throw new InvalidOperationException($"CUDA was asked for, but {NotBuilt} (the sample console: build with -p:OnnxRuntimeFlavor=Gpu).")
                : (OpenOn(folder, config, Cpu(options)), new DeviceInfo(DeviceKind.Cpu, 0, NotBuilt));
        }

        try
        {
            ModelGraphs graphs = OpenOn(folder, config, Cuda(options));
            return (graphs, new DeviceInfo(DeviceKind.Cuda, options.CudaDeviceId, options.Device == DevicePreference.Cuda ? "asked for" : "the CUDA execution provider loaded"));
        }
        catch (Exception e) when (e is OnnxRuntimeException || (e is InvalidDataException && e.InnerException is OnnxRuntimeException))
        {
            var (reason, namesLibrary) = CudaLoadFailure.Describe((e.InnerException ?? e).Message);
            string why = $"the CUDA execution provider did not load on device {options.CudaDeviceId}: {reason}";
            if (options.Device != DevicePreference.Cuda)
            {
                Log.CudaFellBack(logger, why);
            }

            string remedy = namesLibrary
                ? "Or use the CPU (DevicePreference.Cpu)."
                : $"Check the CUDA and cuDNN versions ONNX Runtime {OrtEnv.Instance().GetVersionString()} needs, or use the CPU.";
            return options.Device == DevicePreference.Cuda
                ? throw new InvalidOperationException($"CUDA was asked for, but {why}. {remedy}", e)
                : (OpenOn(folder, config, Cpu(options)), new DeviceInfo(DeviceKind.Cpu, 0, why));
        }
    }

    private static ModelGraphs OpenOn(string folder, ModelConfig config, SessionOptions session)
    {
        using (session)
        {
            return ModelGraphs.Open(folder, config, session);
        }
    }

    /// <summary>The telemetry setting last given to ONNX Runtime's environment, or <see langword="null"/> before the first model opened; for tests.</summary>
    internal static bool? TelemetryEnabled { get; private set; }

    /// <summary>The variable ONNX Runtime reads when its environment is created: 1 keeps its telemetry from starting at all.</summary>
    internal const string DisableTelemetryVariable = "ORT_DISABLE_TELEMETRY";

    /// <summary>
    /// Turns ONNX Runtime's telemetry off (or leaves it on, when the application opted in) before any session is created.
    /// On Linux and macOS its environment writes a telemetry store under <c>~/.cache/Microsoft/DeveloperTools/.onnxruntime</c>
    /// as it is created, which only <c>ORT_DISABLE_TELEMETRY=1</c> in the process's environment prevents, so that is set
    /// first (unless the application set the variable itself); <see cref="OrtEnv.DisableTelemetryEvents"/> then stops the
    /// events. The environment is one per process, so the model opened last decides the events.
    /// </summary>
    /// <exception cref="InvalidOperationException">No native ONNX Runtime is present at all.</exception>
    private static void ApplyTelemetry(bool enable)
    {
        if (!enable && !OperatingSystem.IsWindows() && Environment.GetEnvironmentVariable(DisableTelemetryVariable) is null)
        {
            try
            {
                // Environment.SetEnvironmentVariable changes only .NET's copy; ONNX Runtime reads the C library's.
                _ = SetNativeEnvironmentVariable(DisableTelemetryVariable, "1", overwrite: 0);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // No C library to ask: DisableTelemetryEvents below still stops the events.
            }
        }

        try
        {
            OrtEnv environment = OrtEnv.Instance();
            if (enable)
            {
                environment.EnableTelemetryEvents();
            }
            else
            {
                environment.DisableTelemetryEvents();
            }

            TelemetryEnabled = enable;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            throw NoNativeRuntime(e);
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetNativeEnvironmentVariable(string name, string value, int overwrite);

    private static InvalidOperationException NoNativeRuntime(Exception e) => new(
        "ONNX Runtime's native library was not found. The application must reference Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu (CUDA) beside AttAnchor.OnnxRuntime.", e);

    /// <summary>Whether this process's ONNX Runtime build has the CUDA provider compiled in (the Gpu package).</summary>
    /// <exception cref="InvalidOperationException">No native ONNX Runtime is present at all.</exception>
    public static bool CudaAvailable()
    {
        try
        {
            return OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            throw NoNativeRuntime(e);
        }
    }

    /// <summary>Session options for the CPU.</summary>
    public static SessionOptions Cpu(ModelOptions options) => Common(options);

    /// <summary>Session options with the CUDA provider appended; throws <see cref="OnnxRuntimeException"/> when the provider cannot load.</summary>
    public static SessionOptions Cuda(ModelOptions options)
    {
        SessionOptions session = Common(options);
        try
        {
            session.AppendExecutionProvider_CUDA(options.CudaDeviceId);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static SessionOptions Common(ModelOptions options)
    {
        var session = new SessionOptions
        {
            GraphOptimizationLevel = options.Optimization switch
            {
                GraphOptimization.None => GraphOptimizationLevel.ORT_DISABLE_ALL,
                GraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                GraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
            // Failures come back as exceptions with the message; ONNX Runtime's own log would repeat them on stderr.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        if (options.IntraOpThreads > 0)
        {
            session.IntraOpNumThreads = options.IntraOpThreads;
        }

        return session;
    }
}
