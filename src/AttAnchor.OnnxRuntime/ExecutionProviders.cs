using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime;

/// <summary>Builds ONNX Runtime session options for the device a caller asks for, and says why that device.</summary>
internal static class ExecutionProviders
{
    public const string CudaProvider = "CUDAExecutionProvider";

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
            throw new InvalidOperationException(
                "ONNX Runtime's native library was not found. The application must reference Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu (CUDA) beside AttAnchor.OnnxRuntime.", e);
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
