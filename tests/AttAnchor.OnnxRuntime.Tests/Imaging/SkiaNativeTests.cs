using AttAnchor.Skia;

namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// The one error an application gets when SkiaSharp's native library is missing or mismatched, built from the
/// exception shapes SkiaSharp and the runtime throw; the consumer test in AttAnchor.Package.Tests meets the real one.
/// </summary>
public sealed class SkiaNativeTests
{
    private const string Version = "4.156.1";

    [Fact]
    public void Missing_NativeLibrary_InATypeInitializer_NamesThePackageAndVersion()
    {
        var error = new TypeInitializationException("SkiaSharp.SKObject",
            new DllNotFoundException("Unable to load shared library 'libSkiaSharp' or one of its dependencies.\nIn order to help diagnose loading problems, consider using a tool like strace."));

        string message = Assert.IsType<string>(SkiaNative.Describe(error, Version));

        Assert.StartsWith("SkiaSharp 4.156.1 cannot load its native library libSkiaSharp: it is not in the application (Unable to load shared library 'libSkiaSharp'", message, StringComparison.Ordinal);
        Assert.Contains("Add package SkiaSharp.NativeAssets.Linux.NoDependencies version 4.156.1 (the version of SkiaSharp the application uses)", message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Missing_NativeLibrary_Thrown_Directly_GetsTheSameError()
    {
        string? message = SkiaNative.Describe(new DllNotFoundException("libSkiaSharp"), Version);
        Assert.Equal(SkiaNative.Describe(new TypeInitializationException("SkiaSharp.SKObject", new DllNotFoundException("libSkiaSharp")), Version), message);
        Assert.Contains("cannot load its native library", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mismatched_NativeLibrary_QuotesSkiaSharpsVersionRange_OnOneLine()
    {
        var error = new TypeInitializationException("SkiaSharp.SKObject", new InvalidOperationException(
            "The version of the native libSkiaSharp library (155.0) is incompatible with this version of SkiaSharp. \nSupported versions of the native libSkiaSharp library are in the range [156.0, 157.0)."));

        string message = Assert.IsType<string>(SkiaNative.Describe(error, Version));

        Assert.Equal(
            "SkiaSharp 4.156.1 does not match its native library libSkiaSharp: The version of the native libSkiaSharp library (155.0) is incompatible with this version of SkiaSharp. "
            + "Supported versions of the native libSkiaSharp library are in the range [156.0, 157.0). "
            + "Add package SkiaSharp.NativeAssets.Linux.NoDependencies version 4.156.1 (the version of SkiaSharp the application uses) to the application, and no other version of SkiaSharp's native assets.",
            message);
    }

    [Fact]
    public void Mismatched_NativeLibrary_MissingAFunction_IsAMismatch()
    {
        var error = new TypeInitializationException("SkiaSharp.SKObject", new EntryPointNotFoundException("Unable to find an entry point named 'sk_version_get_milestone'"));
        Assert.StartsWith("SkiaSharp 4.156.1 does not match its native library libSkiaSharp, which lacks a function it needs (Unable to find an entry point named 'sk_version_get_milestone')",
            SkiaNative.Describe(error, Version), StringComparison.Ordinal);
    }

    [Fact]
    public void OtherErrors_AreLeftAlone()
    {
        Assert.Null(SkiaNative.Describe(new InvalidOperationException("Collection was modified."), Version));
        Assert.Null(SkiaNative.Describe(new TypeInitializationException("SkiaSharp.SKObject", new OutOfMemoryException()), Version));
        Assert.Null(SkiaNative.Describe(new ArgumentException("libSkiaSharp"), Version));
    }

    [Fact]
    public void EnsureLoaded_Passes_WhenTheApplicationHasTheNativePackage_AndNamesTheManagedVersion()
    {
        SkiaNative.EnsureLoaded();
        SkiaNative.EnsureLoaded();
        Version assembly = typeof(SkiaSharp.SKImage).Assembly.GetName().Version!;
        Assert.Matches(@"^[0-9]+\.[0-9]+\.[0-9]+$", SkiaNative.SkiaSharpVersion); // the package version, without the commit
        Assert.StartsWith($"{assembly.Major}.{assembly.Minor}.", SkiaNative.SkiaSharpVersion, StringComparison.Ordinal);
    }
}
