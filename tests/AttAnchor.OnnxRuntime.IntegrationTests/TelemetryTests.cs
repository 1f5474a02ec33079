using System.Runtime.InteropServices;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// ONNX Runtime's telemetry is off unless the application opts in: opening a model with the default options sets
/// <c>ORT_DISABLE_TELEMETRY=1</c> in the process's native environment (what keeps ONNX Runtime 1.31 on Linux from
/// writing its store under <c>~/.cache/Microsoft/DeveloperTools/.onnxruntime</c> when its environment starts) and
/// turns the events off. The opt-in is not exercised here: the environment is one per process, shared by every test.
/// </summary>
public sealed partial class TelemetryTests
{
    [Fact]
    public void Opening_a_model_with_the_defaults_turns_ONNX_Runtime_telemetry_off()
    {
        Assert.False(ModelOptions.Default.EnableOnnxRuntimeTelemetry);
        Assert.True(new ModelOptions { EnableOnnxRuntimeTelemetry = true }.EnableOnnxRuntimeTelemetry);

        using var model = VisionLanguageModel.Open(Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa"), Pipelines.Cpu);

        Assert.False(ExecutionProviders.TelemetryEnabled);
        Assert.Equal("1", Marshal.PtrToStringUTF8(GetNativeEnvironmentVariable(ExecutionProviders.DisableTelemetryVariable)));
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetNativeEnvironmentVariable(string name);
}
