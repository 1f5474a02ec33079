using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace AttAnchor.OnnxRuntime;

/// <summary>Turns ONNX Runtime's "Failed to load shared library" for the CUDA provider into one line naming the missing library and what provides it.</summary>
/// <remarks>The libraries the CUDA provider of ONNX Runtime 1.32 needs, and what provides each, are listed in docs/reliability.md.</remarks>
internal static partial class CudaLoadFailure
{
    private const string Cuda13 = "install the CUDA 13 toolkit or its runtime libraries";
    private const string Driver = "the NVIDIA driver's library: install a driver that supports CUDA 13";
    private const string CuDnn = "cuDNN 9: install cuDNN 9 for CUDA 13, or pip's nvidia-cudnn-cu13";
    private const string CuBlas = $"cuBLAS of CUDA 13: {Cuda13}, or pip's nvidia-cublas";
    private const string CuRand = $"cuRAND of CUDA 13: {Cuda13}, or pip's nvidia-curand";
    private const string CudaRuntime = $"the CUDA 13 runtime: {Cuda13}, or pip's nvidia-cuda-runtime";
    private const string CuFft = $"cuFFT of CUDA 13: {Cuda13}, or pip's nvidia-cufft";

    /// <summary>What ONNX Runtime's own provider libraries' names hold (libonnxruntime_providers_cuda.so, onnxruntime_providers_shared.dll).</summary>
    private const string OwnFile = "onnxruntime_providers_";

    /// <summary>What provides each library the CUDA provider loads, by file name (Linux sonames and Windows DLLs).</summary>
    private static readonly Dictionary<string, string> Providers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["libcublasLt.so.13"] = CuBlas,
        ["libcublas.so.13"] = CuBlas,
        ["libcurand.so.10"] = CuRand,
        ["libcudart.so.13"] = CudaRuntime,
        ["libcufft.so.12"] = CuFft,
        ["libcuda.so.1"] = Driver,
        ["libcudnn.so.9"] = CuDnn,
        ["cublasLt64_13.dll"] = CuBlas,
        ["cublas64_13.dll"] = CuBlas,
        ["cudart64_13.dll"] = CudaRuntime,
        ["cufft64_12.dll"] = CuFft,
        ["nvcuda.dll"] = Driver,
        ["cudnn64_9.dll"] = CuDnn,
    };

    /// <summary>
    /// The libraries libonnxruntime_providers_cuda.so links to, in the order the loader resolves them (its DT_NEEDED entries).
    /// cuDNN (libcudnn.so.9) is not among them: the provider opens it later, and names it when it is missing.
    /// </summary>
    public static readonly IReadOnlyList<string> LinuxDependencies =
        ["libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1"];

    /// <summary>The CUDA libraries onnxruntime_providers_cuda.dll imports; it opens the driver (nvcuda.dll) and cuDNN (cudnn64_9.dll) later.</summary>
    public static readonly IReadOnlyList<string> WindowsDependencies = ["cublasLt64_13.dll", "cublas64_13.dll"];

    /// <summary>This platform's list: <see cref="LinuxDependencies"/>, <see cref="WindowsDependencies"/>, or none where ONNX Runtime has no CUDA build.</summary>
    public static IReadOnlyList<string> Dependencies =>
        OperatingSystem.IsLinux() ? LinuxDependencies : OperatingSystem.IsWindows() ? WindowsDependencies : [];

    /// <summary>The first of <paramref name="libraries"/> that <paramref name="canLoad"/> refuses, or <see langword="null"/> when all load.</summary>
    public static string? FirstMissing(IEnumerable<string> libraries, Func<string, bool> canLoad) =>
        libraries.FirstOrDefault(library => !canLoad(library));

    /// <summary>The first of this platform's <see cref="Dependencies"/> that the native loader cannot open here, or <see langword="null"/>.</summary>
    public static string? FirstMissing() => FirstMissing(Dependencies, CanLoad);

    /// <summary>Whether the native loader opens <paramref name="library"/> by name (through LD_LIBRARY_PATH and the loader's cache, or PATH on Windows).</summary>
    public static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out IntPtr handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }

    /// <summary>
    /// Loads libonnxruntime_providers_cuda.so from beside the libonnxruntime.so this process loaded, as ONNX Runtime does, and
    /// returns the loader's message when that fails (it names the library at fault, which ONNX Runtime's exception does not);
    /// <see langword="null"/> when it loads, off Linux, or before ONNX Runtime is loaded.
    /// </summary>
    public static string? ProviderLoadError()
    {
        if (!OperatingSystem.IsLinux() || LoadedOnnxRuntime() is not { } runtime)
        {
            return null;
        }

        string provider = Path.Combine(Path.GetDirectoryName(runtime) ?? ".", "libonnxruntime_providers_cuda.so");
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(provider));
            return null;
        }
        catch (DllNotFoundException e)
        {
            return e.Message;
        }
    }

    /// <summary>The path of the libonnxruntime.so mapped into this process, from /proc/self/maps, or <see langword="null"/>.</summary>
    public static string? LoadedOnnxRuntime()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && Path.GetFileName(line.AsSpan(slash)).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
                {
                    return line[slash..];
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>A library named in ONNX Runtime's message as missing or unusable, with whether it was found at all.</summary>
    /// <param name="Library">The file name, without its folder.</param>
    /// <param name="Found">True when the loader found the file but it lacked a symbol or version the provider needs.</param>
    public readonly record struct Named(string Library, bool Found);

    /// <summary>The library ONNX Runtime's message says failed to load, or <see langword="null"/> when it names none.</summary>
    public static Named? LibraryIn(string message)
    {
        if (WindowsMissing().Matches(message) is { Count: > 0 } windows)
        {
            return new Named(BaseName(windows[^1].Groups[1].Value), Found: false);
        }

        if ((LinuxMissing().Match(message) is { Success: true } linux ? linux : DlopenFailed().Match(message)) is { Success: true } missing)
        {
            return new Named(BaseName(missing.Groups[1].Value), Found: false);
        }

        if (WrongVersion().Match(message) is { Success: true } version)
        {
            return new Named(version.Groups[1].Value, Found: true);
        }

        if (CuDnnNotFound().IsMatch(message))
        {
            return new Named(OperatingSystem.IsWindows() ? "cudnn64_9.dll" : "libcudnn.so.9", Found: false);
        }

        return null;
    }

    /// <summary>Whether ONNX Runtime's message says a shared library did not load, named or not.</summary>
    public static bool IsLoadFailure(string message) =>
        message.Contains("Failed to load shared library", StringComparison.OrdinalIgnoreCase)
        || message.Contains("Failed to load library", StringComparison.OrdinalIgnoreCase)
        || message.Contains("Error loading", StringComparison.OrdinalIgnoreCase)
        || LibraryIn(message) is not null;

    /// <summary>
    /// One line on why the CUDA provider did not load: the library at fault and what provides it when ONNX Runtime's message,
    /// the loader's own message or the probe names one, else the first line of ONNX Runtime's message.
    /// </summary>
    /// <param name="message">ONNX Runtime's message.</param>
    /// <param name="loaderMessage">The loader's message on loading the provider library, from <see cref="ProviderLoadError"/>.</param>
    /// <param name="firstMissing">The first library the provider links to that the loader cannot open here, from <see cref="FirstMissing()"/>.</param>
    /// <param name="windows">Whether to give Windows's hint (PATH) rather than Linux's (LD_LIBRARY_PATH).</param>
    /// <returns>The line, and whether it names the library at fault.</returns>
    public static (string Reason, bool NamesLibrary) Describe(string message, string? loaderMessage, string? firstMissing, bool windows)
    {
        string first = OnnxGraph.FirstLine(message).Trim();
        if (!IsLoadFailure(message))
        {
            return (first, false);
        }

        string path = windows ? "PATH" : "LD_LIBRARY_PATH";
        Named? named = LibraryIn(message)
            ?? (loaderMessage is null ? null : LibraryIn(loaderMessage))
            ?? (firstMissing is null ? null : new Named(firstMissing, Found: false));
        if (named is not { } library)
        {
            string all = string.Join(", ", windows ? WindowsDependencies : LinuxDependencies);
            string check = windows ? "check that they are CUDA 13's" : "check that they are CUDA 13's with ldd on libonnxruntime_providers_cuda.so";
            return ($"{first} (the libraries it links to load here: {all}; {check})", false);
        }

        string fault = library.Found
            ? $"{library.Library} was found but is not the version it needs"
            : $"{library.Library} could not be loaded";
        if (library.Library.Contains(OwnFile, StringComparison.OrdinalIgnoreCase))
        {
            return ($"{fault}; it is ONNX Runtime's own file, shipped in Microsoft.ML.OnnxRuntime.Gpu beside the onnxruntime library: restore or publish that package whole", true);
        }

        string what = Providers.TryGetValue(library.Library, out string? provider)
            ? provider
            : "part of CUDA 13 or cuDNN 9: install them";
        string where = library.Found
            ? $"then put the folder that holds the right {library.Library} first on {path}"
            : $"if it is installed, add the folder that holds it to {path}";
        return ($"{fault}; it is {what}; {where}", true);
    }

    /// <summary><see cref="Describe(string, string?, string?, bool)"/> on this machine: asks the loader only when ONNX Runtime's message names no library.</summary>
    public static (string Reason, bool NamesLibrary) Describe(string message)
    {
        if (!IsLoadFailure(message) || LibraryIn(message) is not null)
        {
            return Describe(message, null, null, OperatingSystem.IsWindows());
        }

        string? loader = ProviderLoadError();
        return Describe(message, loader, loader is not null && LibraryIn(loader) is not null ? null : FirstMissing(), OperatingSystem.IsWindows());
    }

    private static string BaseName(string path) => path[(path.LastIndexOfAny(['/', '\\']) + 1)..];

    // Windows: Error loading "...\onnxruntime_providers_cuda.dll" which depends on "cublasLt64_13.dll" which is missing.
    [GeneratedRegex("\"([^\"]+?\\.dll)\" which is missing", RegexOptions.IgnoreCase)]
    private static partial Regex WindowsMissing();

    // Linux: dlerror's "libcublasLt.so.13: cannot open shared object file: No such file or directory".
    [GeneratedRegex(@"([^\s:'""`]+\.so(?:\.\d+)*): cannot open shared object file")]
    private static partial Regex LinuxMissing();

    // Linux: cuDNN's own loader, "dlopen failed for libcudnn.so.9".
    [GeneratedRegex(@"dlopen failed for ([^\s:'""`]+\.so(?:\.\d+)*)")]
    private static partial Regex DlopenFailed();

    // Linux: "undefined symbol: cudaMallocHost, version libcudart.so.13" or "version `libcublasLt.so.13' not found".
    [GeneratedRegex(@"version [`']?([A-Za-z0-9_+.-]+\.so(?:\.\d+)*)")]
    private static partial Regex WrongVersion();

    [GeneratedRegex("cuDNN library was not found", RegexOptions.IgnoreCase)]
    private static partial Regex CuDnnNotFound();
}
