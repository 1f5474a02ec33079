using System.Reflection;
using SkiaSharp;

namespace AttAnchor.Skia;

/// <summary>
/// Checks, at the library's first SkiaSharp call, that SkiaSharp's native library loads and matches, and turns the
/// failure into one error that says which package the application must add. Compiled into each package that draws
/// or decodes with SkiaSharp (the application owns the native assets; see docs/packages.md).
/// </summary>
internal static class SkiaNative
{
    /// <summary>The package that brings libSkiaSharp on Linux (SkiaSharp itself brings the Windows and macOS ones).</summary>
    public const string LinuxNativePackage = "SkiaSharp.NativeAssets.Linux.NoDependencies";

    private static volatile bool _loaded;

    /// <summary>The version of the SkiaSharp assembly the application runs with (its informational version, without a commit).</summary>
    public static string SkiaSharpVersion { get; } = ManagedVersion();

    /// <summary>Returns once libSkiaSharp has loaded and accepted; throws <see cref="InvalidOperationException"/> naming the fix otherwise.</summary>
    /// <exception cref="InvalidOperationException">libSkiaSharp is missing or is not the version SkiaSharp needs.</exception>
    public static void EnsureLoaded()
    {
        if (_loaded)
        {
            return;
        }

        try
        {
            using SKData probe = SKData.CreateCopy(new byte[1]);
        }
        catch (Exception e) when (Describe(e, SkiaSharpVersion) is { } message)
        {
            throw new InvalidOperationException(message, e);
        }

        _loaded = true;
    }

    /// <summary>
    /// The one-line message for an exception SkiaSharp throws when its native library is missing or mismatched, or
    /// null when <paramref name="error"/> is neither.
    /// </summary>
    internal static string? Describe(Exception error, string skiaSharpVersion)
    {
        string fix = $"Add package {LinuxNativePackage} version {skiaSharpVersion} (the version of SkiaSharp the application uses) to the application, and no other version of SkiaSharp's native assets.";
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DllNotFoundException:
                    return $"SkiaSharp {skiaSharpVersion} cannot load its native library libSkiaSharp: it is not in the application ({OneLine(e.Message)}). {fix}";
                case EntryPointNotFoundException:
                    return $"SkiaSharp {skiaSharpVersion} does not match its native library libSkiaSharp, which lacks a function it needs ({OneLine(e.Message)}). {fix}";
                case InvalidOperationException when e.Message.Contains("libSkiaSharp", StringComparison.Ordinal):
                    return $"SkiaSharp {skiaSharpVersion} does not match its native library libSkiaSharp: {OneLine(e.Message)} {fix}";
                case TypeInitializationException:
                    continue;
                default:
                    return null;
            }
        }

        return null;
    }

    private static string OneLine(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static string ManagedVersion()
    {
        Assembly skia = typeof(SKImage).Assembly;
        string? version = skia.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(version))
        {
            return skia.GetName().Version?.ToString(3) ?? "(unknown)";
        }

        int plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
