using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

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
        var (reason, names) = CudaLoadFailure.Describe(LinuxLog, loaderMessage: null, firstMissing: null, windows: false);

        Assert.True(names);
        Assert.StartsWith("libcublasLt.so.13 could not be loaded; it is cuBLAS of CUDA 13", reason, StringComparison.Ordinal);
        Assert.Contains("nvidia-cublas", reason, StringComparison.Ordinal);
        Assert.EndsWith("; if it is installed, add the folder that holds it to LD_LIBRARY_PATH", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NamedLibraryWinsOverTheProbe()
    {
        var (reason, _) = CudaLoadFailure.Describe(LinuxLog, loaderMessage: null, firstMissing: "libcuda.so.1", windows: false);

        Assert.StartsWith("libcublasLt.so.13 could not be loaded", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("libcuda.so.1", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void LibraryOfTheWrongBuildIsNamedAsFound()
    {
        Assert.Equal(new CudaLoadFailure.Named("libcudart.so.13", Found: true), CudaLoadFailure.LibraryIn(LinuxWrongBuild));

        var (reason, names) = CudaLoadFailure.Describe(LinuxWrongBuild, loaderMessage: null, firstMissing: null, windows: false);

        Assert.True(names);
        Assert.StartsWith("libcudart.so.13 was found but is not the version it needs; it is the CUDA 13 runtime", reason, StringComparison.Ordinal);
        Assert.EndsWith("put the folder that holds the right libcudart.so.13 first on LD_LIBRARY_PATH", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WindowsMessageNamesTheDllAndPath()
    {
        var (reason, names) = CudaLoadFailure.Describe(WindowsMessage, loaderMessage: null, firstMissing: null, windows: true);

        Assert.True(names);
        Assert.StartsWith("cublasLt64_13.dll could not be loaded; it is cuBLAS of CUDA 13", reason, StringComparison.Ordinal);
        Assert.EndsWith("; if it is installed, add the folder that holds it to PATH", reason, StringComparison.Ordinal);
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
        var (reason, names) = CudaLoadFailure.Describe($"Failed to load library x.so with error: {message}", loaderMessage: null, firstMissing: null, windows: false);

        Assert.True(names);
        Assert.StartsWith(library + " ", reason, StringComparison.Ordinal);
        Assert.Contains(remedy, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingProviderFileIsOnnxRuntimesOwn()
    {
        const string Message = "Failed to load library /app/libonnxruntime_providers_cuda.so with error: " +
            "/app/libonnxruntime_providers_cuda.so: cannot open shared object file: No such file or directory";

        var (reason, _) = CudaLoadFailure.Describe(Message, loaderMessage: null, firstMissing: null, windows: false);

        Assert.StartsWith("libonnxruntime_providers_cuda.so could not be loaded; it is ONNX Runtime's own file", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("LD_LIBRARY_PATH", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnnamedFailureTakesTheProbesLibrary()
    {
        var (reason, names) = CudaLoadFailure.Describe(LinuxException, loaderMessage: null, firstMissing: "libcudart.so.13", windows: false);

        Assert.True(names);
        Assert.StartsWith("libcudart.so.13 could not be loaded; it is the CUDA 13 runtime", reason, StringComparison.Ordinal);
        Assert.Contains("LD_LIBRARY_PATH", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnnamedFailureWithEverythingLoadingKeepsOnnxRuntimesLineAndListsTheLibraries()
    {
        var (reason, names) = CudaLoadFailure.Describe(LinuxException, loaderMessage: null, firstMissing: null, windows: false);

        Assert.False(names);
        Assert.Equal(
            LinuxException + " (the libraries it links to load here: libcublasLt.so.13, libcublas.so.13, libcurand.so.10, libcudart.so.13, " +
            "libcuda.so.1; check that they are CUDA 13's with ldd on libonnxruntime_providers_cuda.so)",
            reason);
    }

    [Fact]
    public void UnrecognisedFailureFallsBackToOnnxRuntimesFirstLine()
    {
        const string Message = "[ErrorCode:RuntimeException] CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; expr=cudaSetDevice(info_.device_id);\n" +
            "more detail on the second line";

        var (reason, names) = CudaLoadFailure.Describe(Message, loaderMessage: null, firstMissing: "libcuda.so.1", windows: false);

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
    public void ProbedLibraryOnThisMachineGetsOneLineWithTheRemedy()
    {
        string? missing = CudaLoadFailure.FirstMissing();
        var (reason, names) = CudaLoadFailure.Describe(LinuxException, loaderMessage: null, firstMissing: missing, windows: false);

        Assert.DoesNotContain('\n', reason);
        Assert.DoesNotContain('\r', reason);
        Assert.Equal(missing is not null, names);
        if (missing is not null)
        {
            Assert.StartsWith($"{missing} could not be loaded; it is ", reason, StringComparison.Ordinal);
            Assert.EndsWith("if it is installed, add the folder that holds it to LD_LIBRARY_PATH", reason, StringComparison.Ordinal);
        }
    }

    /// <summary>.NET's message on loading the provider library by path, with dlerror's text on its second line.</summary>
    private const string LoaderMissing =
        "Unable to load shared library '/app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so' or one of its dependencies. " +
        "In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the " +
        "LD_DEBUG environment variable: \nlibcublasLt.so.13: cannot open shared object file: No such file or directory\n";

    private const string LoaderWrongBuild =
        "Unable to load shared library '/app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so' or one of its dependencies. " +
        "In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the " +
        "LD_DEBUG environment variable: \n/app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so: undefined symbol: cudaMallocHost, " +
        "version libcudart.so.13\n";

    [Fact]
    public void LoaderMessageNamesWhatOnnxRuntimesExceptionDoesNot()
    {
        var (missing, _) = CudaLoadFailure.Describe(LinuxException, LoaderMissing, firstMissing: null, windows: false);
        var (wrong, _) = CudaLoadFailure.Describe(LinuxException, LoaderWrongBuild, firstMissing: "libcudnn.so.9", windows: false);

        Assert.StartsWith("libcublasLt.so.13 could not be loaded; it is cuBLAS of CUDA 13", missing, StringComparison.Ordinal);
        Assert.StartsWith("libcudart.so.13 was found but is not the version it needs", wrong, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', missing);
    }

    [Fact]
    public void ProviderLoadOnThisMachineNamesWhatIsMissing()
    {
        _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
        string? runtime = CudaLoadFailure.LoadedOnnxRuntime();
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(CudaLoadFailure.ProviderLoadError());
            return;
        }

        Assert.NotNull(runtime);
        Assert.True(File.Exists(runtime), runtime);
        Assert.StartsWith("libonnxruntime.so", Path.GetFileName(runtime), StringComparison.Ordinal);

        string provider = Path.Combine(Path.GetDirectoryName(runtime)!, "libonnxruntime_providers_cuda.so");
        string? error = CudaLoadFailure.ProviderLoadError();
        if (!File.Exists(provider))
        {
            // The CPU package, which these tests use: the provider file itself is what is missing.
            Assert.NotNull(error);
            Assert.Equal(new CudaLoadFailure.Named("libonnxruntime_providers_cuda.so", Found: false), CudaLoadFailure.LibraryIn(error));
        }
        else if (error is not null)
        {
            Assert.NotNull(CudaLoadFailure.LibraryIn(error));
        }
    }

    [Fact]
    public void MessageOnThisMachineIsOneLineNamingLibraryAndRemedy()
    {
        string? loader = CudaLoadFailure.ProviderLoadError();
        string? expected = (loader is null ? null : CudaLoadFailure.LibraryIn(loader)?.Library) ?? CudaLoadFailure.FirstMissing();
        var (reason, names) = CudaLoadFailure.Describe(LinuxException);

        Assert.DoesNotContain('\n', reason);
        Assert.DoesNotContain('\r', reason);
        if (expected is null)
        {
            // A machine where the provider loads: ONNX Runtime's own line stays, with the libraries checked.
            Assert.False(names);
            Assert.StartsWith(LinuxException, reason, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(names);
            Assert.Matches($"^{Regex.Escape(expected)} (could not be loaded|was found but is not the version it needs); it is .+(PATH|whole)$", reason);
        }
    }
}
