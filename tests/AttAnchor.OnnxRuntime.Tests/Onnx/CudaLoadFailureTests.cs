using System.Runtime.InteropServices;

namespace AttAnchor.OnnxRuntime.Tests.Onnx;

/// <summary>
/// The CUDA provider's load failure becomes one line naming the library at fault and what provides it: from ONNX Runtime 1.32's
/// messages as the Gpu package writes them on a machine without CUDA, and from the native loader probed on this machine.
/// </summary>
public sealed class CudaLoadFailureTests
{
    /// <summary>The exception OrtSessionOptionsAppendExecutionProvider_Cuda throws on Linux without CUDA: no library named.</summary>
    private const string LinuxException = "[ErrorCode:Fail] OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library";

    /// <summary>What ONNX Runtime logs beside it, with dlerror's text.</summary>
    private const string LinuxLog =
        "/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2059 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() " +
        "[ONNXRuntimeError] : 1 : FAIL : Failed to load library /app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so " +
        "with error: libcublasLt.so.13: cannot open shared object file: No such file or directory";

    /// <summary>The same when libraries of those names exist but are not CUDA 13's.</summary>
    private const string LinuxWrongBuild =
        "[ONNXRuntimeError] : 1 : FAIL : Failed to load library /app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so " +
        "with error: /app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so: undefined symbol: cudaMallocHost, version libcudart.so.13";

    /// <summary>ONNX Runtime's Windows loader, which walks the provider DLL's imports to the missing one.</summary>
    private const string WindowsMessage =
        "[ErrorCode:Fail] Error loading \"C:\\app\\runtimes\\win-x64\\native\\onnxruntime_providers_cuda.dll\" which depends on " +
        "\"cublasLt64_13.dll\" which is missing. (Error 126: \"The specified module could not be found.\")";

    [Fact]
    public void LinuxMessageNamesTheLibraryAndWhatProvidesIt()
    {
        var (reason, names) = CudaLoadFailure.Describe(LinuxLog, firstMissing: null, windows: false);

        Assert.True(names);
        Assert.StartsWith("libcublasLt.so.13 could not be loaded (cuBLAS of CUDA 13", reason, StringComparison.Ordinal);
        Assert.Contains("nvidia-cublas", reason, StringComparison.Ordinal);
        Assert.EndsWith("add the folder that holds libcublasLt.so.13 to LD_LIBRARY_PATH)", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NamedLibraryWinsOverTheProbe()
    {
        var (reason, _) = CudaLoadFailure.Describe(LinuxLog, firstMissing: "libcuda.so.1", windows: false);

        Assert.StartsWith("libcublasLt.so.13 could not be loaded", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("libcuda.so.1", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void LibraryOfTheWrongBuildIsNamedAsFound()
    {
        Assert.Equal(new CudaLoadFailure.Named("libcudart.so.13", Found: true), CudaLoadFailure.LibraryIn(LinuxWrongBuild));

        var (reason, names) = CudaLoadFailure.Describe(LinuxWrongBuild, firstMissing: null, windows: false);

        Assert.True(names);
        Assert.StartsWith("libcudart.so.13 was found but is not the version it needs (the CUDA 13 runtime", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WindowsMessageNamesTheDllAndPath()
    {
        var (reason, names) = CudaLoadFailure.Describe(WindowsMessage, firstMissing: null, windows: true);

        Assert.True(names);
        Assert.StartsWith("cublasLt64_13.dll could not be loaded (cuBLAS of CUDA 13", reason, StringComparison.Ordinal);
        Assert.EndsWith("add the folder that holds cublasLt64_13.dll to PATH)", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WindowsChainNamesTheLastMissingDll()
    {
        const string Chain = "Error loading \"C:\\x\\onnxruntime_providers_cuda.dll\" which depends on \"cublas64_13.dll\" which depends on " +
            "\"cublasLt64_13.dll\" which is missing. (Error 126)";

        Assert.Equal(new CudaLoadFailure.Named("cublasLt64_13.dll", Found: false), CudaLoadFailure.LibraryIn(Chain));
    }

    [Theory]
    [InlineData("libcuda.so.1: cannot open shared object file: No such file or directory", "libcuda.so.1", "NVIDIA driver")]
    [InlineData("dlopen failed for libcudnn.so.9: libcudnn.so.9: cannot open shared object file", "libcudnn.so.9", "nvidia-cudnn-cu13")]
    [InlineData("libcurand.so.10: cannot open shared object file: No such file or directory", "libcurand.so.10", "nvidia-curand")]
    [InlineData("/usr/local/cuda/lib64/libcublas.so.13: version `libcublas.so.13' not found", "libcublas.so.13", "nvidia-cublas")]
    public void EachLinuxLibraryGetsItsOwnRemedy(string message, string library, string remedy)
    {
        var (reason, names) = CudaLoadFailure.Describe($"Failed to load library x.so with error: {message}", firstMissing: null, windows: false);

        Assert.True(names);
        Assert.StartsWith(library + " ", reason, StringComparison.Ordinal);
        Assert.Contains(remedy, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingProviderFileIsOnnxRuntimesOwn()
    {
        const string Message = "Failed to load library /app/libonnxruntime_providers_cuda.so with error: " +
            "/app/libonnxruntime_providers_cuda.so: cannot open shared object file: No such file or directory";

        var (reason, _) = CudaLoadFailure.Describe(Message, firstMissing: null, windows: false);

        Assert.StartsWith("libonnxruntime_providers_cuda.so could not be loaded (ONNX Runtime's own file", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("LD_LIBRARY_PATH", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnnamedFailureTakesTheProbesLibrary()
    {
        var (reason, names) = CudaLoadFailure.Describe(LinuxException, firstMissing: "libcudart.so.13", windows: false);

        Assert.True(names);
        Assert.StartsWith("libcudart.so.13 could not be loaded (the CUDA 13 runtime", reason, StringComparison.Ordinal);
        Assert.Contains("LD_LIBRARY_PATH", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnnamedFailureWithEverythingLoadingKeepsOnnxRuntimesLineAndListsTheLibraries()
    {
        var (reason, names) = CudaLoadFailure.Describe(LinuxException, firstMissing: null, windows: false);

        Assert.False(names);
        Assert.StartsWith(LinuxException + " (every library it needs loads here: libcublasLt.so.13, ", reason, StringComparison.Ordinal);
        Assert.Contains("libcudnn.so.9", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnrecognisedFailureFallsBackToOnnxRuntimesFirstLine()
    {
        const string Message = "[ErrorCode:RuntimeException] CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; expr=cudaSetDevice(info_.device_id);\n" +
            "more detail on the second line";

        var (reason, names) = CudaLoadFailure.Describe(Message, firstMissing: "libcuda.so.1", windows: false);

        Assert.False(names);
        Assert.Equal("[ErrorCode:RuntimeException] CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; expr=cudaSetDevice(info_.device_id);", reason);
    }

    [Fact]
    public void ProbeNamesTheFirstRefusedLibraryInTheProvidersOrder()
    {
        string[] loadable = ["libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10"];

        Assert.Equal("libcudart.so.13", CudaLoadFailure.FirstMissing(CudaLoadFailure.LinuxDependencies, loadable.Contains));
        Assert.Null(CudaLoadFailure.FirstMissing(CudaLoadFailure.LinuxDependencies, _ => true));
        Assert.Equal("cublasLt64_13.dll", CudaLoadFailure.FirstMissing(CudaLoadFailure.WindowsDependencies, _ => false));
    }

    [Fact]
    public void ProbeOnThisMachineAgreesWithTheNativeLoader()
    {
        string? expected = CudaLoadFailure.Dependencies.FirstOrDefault(library =>
        {
            bool loaded = NativeLibrary.TryLoad(library, out IntPtr handle);
            if (loaded)
            {
                NativeLibrary.Free(handle);
            }

            return !loaded;
        });

        Assert.Equal(expected, CudaLoadFailure.FirstMissing());
    }

    [Fact]
    public void MessageOnThisMachineIsOneLineNamingLibraryAndRemedy()
    {
        string? missing = CudaLoadFailure.FirstMissing();
        var (reason, names) = CudaLoadFailure.Describe(LinuxException);

        Assert.DoesNotContain('\n', reason);
        Assert.DoesNotContain('\r', reason);
        if (missing is null)
        {
            // A machine where every CUDA library loads: ONNX Runtime's own line stays, with the list checked.
            Assert.False(names);
            Assert.StartsWith(LinuxException, reason, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(names);
            Assert.StartsWith($"{missing} could not be loaded (", reason, StringComparison.Ordinal);
            Assert.Contains(OperatingSystem.IsWindows() ? " to PATH)" : " to LD_LIBRARY_PATH)", reason, StringComparison.Ordinal);
        }
    }
}
