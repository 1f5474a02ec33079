using System.IO.Compression;
using System.Xml.Linq;
using AttAnchor.TestSupport;

namespace AttAnchor.Package.Tests;

/// <summary>
/// Packs the repository's packages once per test run into a fresh local folder, with a version no other feed
/// has, then creates, builds and runs console apps outside the repository that reference them from that folder.
/// </summary>
/// <remarks>
/// The packages are packed from the build the tests run on (<c>dotnet pack --no-build</c>, in this test assembly's
/// configuration). A copy of <c>src/</c> is packed once more, for net10.0 only, against an older SkiaSharp
/// (<see cref="BehindSkiaSharpVersion"/>) into a second folder, with a repository URL given on the command line.
/// The apps, all sharing one <c>nuget.config</c> that lists both folders:
/// <list type="bullet">
/// <item>net10.0: the AttAnchor.OnnxRuntime package README's example, word for word, and the AttAnchor.Visualization
/// package README's;</item>
/// <item>net8.0, published self-contained for linux-x64 so that it runs on the .NET 8 runtime: the Visualization
/// example, with a module initializer that prints the runtime first;</item>
/// <item>net10.0 on the repository's SkiaSharp, newer than the second folder's packages were built against: the
/// Visualization example again;</item>
/// <item>net10.0 without SkiaSharp's Linux native package, and one with that package of the older version: each
/// decodes an image and prints the error it gets.</item>
/// </list>
/// The package versions they add to the NuGet cache are removed afterwards.
/// </remarks>
public sealed class PackedPackages : IDisposable
{
    /// <summary>The packages the repository ships.</summary>
    public static readonly string[] Ids = ["AttAnchor", "AttAnchor.OnnxRuntime", "AttAnchor.Visualization"];

    /// <summary>The frameworks the packages target.</summary>
    public static readonly string[] TargetFrameworks = ["net8.0", "net10.0"];

    /// <summary>The older SkiaSharp the second folder's packages are built against.</summary>
    public const string BehindSkiaSharpVersion = "4.155.0";

    /// <summary>The repository URL given to the second pack on the command line.</summary>
    public const string GivenRepositoryUrl = "https://example.invalid/attanchor/attanchor-dotnet.git";

    /// <summary>The project URL given to the second pack on the command line.</summary>
    public const string GivenProjectUrl = "https://example.invalid/attanchor/attanchor-dotnet/docs";

    /// <summary>The line the net8.0 app's module initializer prints before the example runs.</summary>
    public const string RuntimeLinePrefix = "Runtime: ";

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    public PackedPackages()
    {
        RepositoryRoot = FindRepositoryRoot();
        Configuration = Dotnet.ConfigurationOf(typeof(PackedPackages).Assembly);
        Work = Directory.CreateTempSubdirectory("attanchor-consumer-").FullName;
        Feed = Path.Combine(Work, "feed");
        BehindFeed = Path.Combine(Work, "feed-behind");
        string suffix = $"consumer.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        string prefix = ReadProperty(Path.Combine(RepositoryRoot, "Directory.Build.props"), "VersionPrefix");
        Version = $"{prefix}-{suffix}";
        BehindVersion = $"{prefix}-{suffix}.behind";
        SkiaSharpVersion = ReadProperty(Path.Combine(RepositoryRoot, "Directory.Packages.props"), "SkiaSharpVersion");
        OnnxRuntimeVersion = ReadPackageVersion("Microsoft.ML.OnnxRuntime");

        PackOutput = Dotnet.Run(RepositoryRoot, Limit, "pack", "AttAnchor.sln", "-c", Configuration, "--no-build", "-o", Feed, $"-p:VersionSuffix={suffix}");
        BehindPackOutput = PackBehind($"{suffix}.behind");

        File.WriteAllText(Path.Combine(Work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="attanchor-local" value="{Feed}" />
                <add key="attanchor-behind" value="{BehindFeed}" />
              </packageSources>
            </configuration>
            """);

        (ExampleSource, ExampleOutput) = ReadmeExample(Path.Combine(RepositoryRoot, "src", "AttAnchor.OnnxRuntime", "README.md"));
        (MapExampleSource, MapExampleOutput) = ReadmeExample(Path.Combine(RepositoryRoot, "src", "AttAnchor.Visualization", "README.md"));

        Consumer = Path.Combine(Work, "consumer");
        ConsumerOutput = BuildAndRun(Consumer, "net10.0", [("AttAnchor.OnnxRuntime", Version), .. AppNatives(SkiaSharpVersion)], ExampleSource);

        MapConsumer = Path.Combine(Work, "map-consumer");
        MapConsumerOutput = BuildAndRun(MapConsumer, "net10.0", [("AttAnchor.Visualization", Version), .. AppNatives(SkiaSharpVersion)], MapExampleSource);

        Net8Consumer = Path.Combine(Work, "net8-consumer");
        Net8ConsumerOutput = BuildAndRun(Net8Consumer, "net8.0", [("AttAnchor.Visualization", Version), .. AppNatives(SkiaSharpVersion)], MapExampleSource, RuntimeReport);

        AheadConsumer = Path.Combine(Work, "skia-ahead-consumer");
        AheadConsumerOutput = BuildAndRun(AheadConsumer, "net10.0",
            [("AttAnchor.Visualization", BehindVersion), ("SkiaSharp", SkiaSharpVersion), .. AppNatives(SkiaSharpVersion)], MapExampleSource);

        NoNativeConsumer = Path.Combine(Work, "no-native-consumer");
        NoNativeConsumerOutput = BuildAndRun(NoNativeConsumer, "net10.0", [("AttAnchor.OnnxRuntime", Version), ("Microsoft.ML.OnnxRuntime", OnnxRuntimeVersion)], NoNativeSource);

        MismatchedNativeConsumer = Path.Combine(Work, "mismatched-native-consumer");
        MismatchedNativeConsumerOutput = BuildAndRun(MismatchedNativeConsumer, "net10.0", [("AttAnchor.OnnxRuntime", Version), .. AppNatives(BehindSkiaSharpVersion)], NoNativeSource);

    }

    public string RepositoryRoot { get; }

    public string Configuration { get; }

    /// <summary>The temporary folder holding the feeds and the consumers.</summary>
    public string Work { get; }

    /// <summary>The local folder the packages were packed to.</summary>
    public string Feed { get; }

    /// <summary>The local folder the packages built against <see cref="BehindSkiaSharpVersion"/> were packed to.</summary>
    public string BehindFeed { get; }

    /// <summary>The version packed: the repository's prefix with a suffix no other feed has.</summary>
    public string Version { get; }

    /// <summary>The version of the packages in <see cref="BehindFeed"/>.</summary>
    public string BehindVersion { get; }

    /// <summary>The repository's SkiaSharp version (Directory.Packages.props' SkiaSharpVersion).</summary>
    public string SkiaSharpVersion { get; }

    /// <summary>The repository's ONNX Runtime version.</summary>
    public string OnnxRuntimeVersion { get; }

    public string PackOutput { get; }

    /// <summary>What the second pack, against the older SkiaSharp, printed.</summary>
    public string BehindPackOutput { get; }

    /// <summary>The consumer app's folder.</summary>
    public string Consumer { get; }

    /// <summary>The package README's example code (the consumer's Program.cs).</summary>
    public string ExampleSource { get; }

    /// <summary>The output the package README shows for it.</summary>
    public string ExampleOutput { get; }

    /// <summary>What the consumer printed.</summary>
    public string ConsumerOutput { get; }

    /// <summary>The map consumer app's folder: it references AttAnchor.Visualization only (the other two come with it).</summary>
    public string MapConsumer { get; }

    /// <summary>The AttAnchor.Visualization package README's example code (the map consumer's Program.cs).</summary>
    public string MapExampleSource { get; }

    /// <summary>The output that README shows for it.</summary>
    public string MapExampleOutput { get; }

    /// <summary>What the map consumer printed.</summary>
    public string MapConsumerOutput { get; }

    /// <summary>The net8.0 map consumer, published self-contained for linux-x64.</summary>
    public string Net8Consumer { get; }

    /// <summary>What it printed: the runtime line, then the map example's output.</summary>
    public string Net8ConsumerOutput { get; }

    /// <summary>The map consumer on <see cref="SkiaSharpVersion"/> with packages built against <see cref="BehindSkiaSharpVersion"/>.</summary>
    public string AheadConsumer { get; }

    /// <summary>What it printed.</summary>
    public string AheadConsumerOutput { get; }

    /// <summary>The app that forgot SkiaSharp's Linux native package.</summary>
    public string NoNativeConsumer { get; }

    /// <summary>What it printed: the exception's type and message.</summary>
    public string NoNativeConsumerOutput { get; }

    /// <summary>The app whose SkiaSharp native package is older than its SkiaSharp.</summary>
    public string MismatchedNativeConsumer { get; }

    /// <summary>What it printed: the exception's type and message.</summary>
    public string MismatchedNativeConsumerOutput { get; }

    /// <summary>The NuGet global packages folder the consumer restored into.</summary>
    public static string GlobalPackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The no-native app's Program.cs: decodes the README's image and prints what it gets.</summary>
    private const string NoNativeSource = """
        using AttAnchor.OnnxRuntime;

        try
        {
            ModelImage image = ModelImage.FromFile("models/shapes/example.png");
            Console.WriteLine($"decoded {image.Width} × {image.Height}");
        }
        catch (Exception e)
        {
            Console.WriteLine($"{e.GetType().FullName}: {e.Message}");
        }
        """;

    /// <summary>The net8.0 app's second source file: prints the runtime before Program's statements run.</summary>
    private const string RuntimeReport = $$"""
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;

        #pragma warning disable CA2255 // an application's own module initializer
        internal static class RuntimeReport
        {
            [ModuleInitializer]
            internal static void Print() => Console.WriteLine($"{{RuntimeLinePrefix}}{RuntimeInformation.FrameworkDescription}");
        }
        """;

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <summary>The bytes of one entry of a package (of <see cref="Feed"/>, or of <paramref name="path"/>).</summary>
    public byte[] Entry(string id, string entry, string extension = "nupkg", string? path = null)
    {
        path ??= PackagePath(id, extension);
        using ZipArchive zip = ZipFile.OpenRead(path);
        ZipArchiveEntry found = zip.GetEntry(entry) ?? throw new Xunit.Sdk.XunitException($"{Path.GetFileName(path)} has no {entry}; it has {string.Join(", ", zip.Entries.Select(e => e.FullName))}");
        using Stream stream = found.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The names of a package's entries.</summary>
    public IReadOnlyList<string> Entries(string id, string extension = "nupkg")
    {
        using ZipArchive zip = ZipFile.OpenRead(PackagePath(id, extension));
        return [.. zip.Entries.Select(e => e.FullName)];
    }

    /// <summary>A package's <c>.nuspec</c> metadata element.</summary>
    public XElement Metadata(string id, string extension = "nupkg") => MetadataOf(id, PackagePath(id, extension));

    /// <summary>The <c>.nuspec</c> metadata element of a package in <see cref="BehindFeed"/>.</summary>
    public XElement BehindMetadata(string id) => MetadataOf(id, Path.Combine(BehindFeed, $"{id}.{BehindVersion}.nupkg"));

    public void Dispose()
    {
        Directory.Delete(Work, recursive: true);
        foreach (string id in Ids)
        {
            foreach (string version in new[] { Version, BehindVersion })
            {
                string cached = Path.Combine(GlobalPackages, id.ToLowerInvariant(), version);
                if (Directory.Exists(cached))
                {
                    Directory.Delete(cached, recursive: true);
                }
            }
        }
    }

    /// <summary>The first C# block under "## Example" and the first text block after it.</summary>
    public static (string Source, string Output) ReadmeExample(string readme)
    {
        string text = File.ReadAllText(readme);
        return (ReadmeBlocks.Block(text, "\n## Example\n", "csharp"), ReadmeBlocks.Block(text, "\n## Example\n", "text"));
    }

    private XElement MetadataOf(string id, string path)
    {
        XDocument nuspec = XDocument.Load(new MemoryStream(Entry(id, $"{id}.nuspec", path: path)));
        return nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    /// <summary>What an application on Linux adds: ONNX Runtime's CPU runtime and SkiaSharp's native library.</summary>
    private (string, string)[] AppNatives(string skiaSharp) =>
        [("Microsoft.ML.OnnxRuntime", OnnxRuntimeVersion), ("SkiaSharp.NativeAssets.Linux.NoDependencies", skiaSharp)];

    /// <summary>
    /// Packs a copy of the libraries' sources, for net10.0, against <see cref="BehindSkiaSharpVersion"/> into
    /// <see cref="BehindFeed"/>, with the repository and project URLs given on the command line.
    /// </summary>
    private string PackBehind(string suffix)
    {
        string copy = Path.Combine(Work, "behind-src");
        foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", "CHANGELOG.md" })
        {
            Directory.CreateDirectory(copy);
            File.Copy(Path.Combine(RepositoryRoot, file), Path.Combine(copy, file));
        }

        string src = Path.Combine(RepositoryRoot, "src");
        foreach (string file in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(src, file);
            string[] parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts.Contains("bin") || parts.Contains("obj"))
            {
                continue;
            }

            string target = Path.Combine(copy, "src", relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        File.WriteAllText(Path.Combine(copy, "libraries.slnx"), """
            <Solution>
              <Project Path="src/AttAnchor/AttAnchor.csproj" />
              <Project Path="src/AttAnchor.OnnxRuntime/AttAnchor.OnnxRuntime.csproj" />
              <Project Path="src/AttAnchor.Visualization/AttAnchor.Visualization.csproj" />
            </Solution>
            """);
        return Dotnet.Run(copy, Limit, "pack", "libraries.slnx", "-c", "Release", "-o", BehindFeed, $"-p:VersionSuffix={suffix}",
            $"-p:SkiaSharpVersion={BehindSkiaSharpVersion}", "-p:TargetFrameworks=net10.0",
            $"-p:RepositoryUrl={GivenRepositoryUrl}", $"-p:PackageProjectUrl={GivenProjectUrl}");
    }

    /// <summary>
    /// Creates a console app in <paramref name="folder"/> (under <see cref="Work"/>, whose nuget.config lists the
    /// feeds) that references <paramref name="packages"/>, with <paramref name="source"/> as its Program.cs; builds it
    /// (net8.0: publishes it self-contained for linux-x64) and runs it from the repository's root, as the READMEs'
    /// examples say, so that their relative paths resolve.
    /// </summary>
    /// <returns>What it printed.</returns>
    private string BuildAndRun(string folder, string targetFramework, IEnumerable<(string Id, string Version)> packages, string source, string? secondSource = null)
    {
        Directory.CreateDirectory(folder);
        bool selfContained = targetFramework != "net10.0";
        string references = string.Join("\n    ", packages.Select(p => $"<PackageReference Include=\"{p.Id}\" Version=\"{p.Version}\" />"));
        File.WriteAllText(Path.Combine(folder, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>{targetFramework}</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                {references}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), source);
        if (secondSource is not null)
        {
            File.WriteAllText(Path.Combine(folder, "RuntimeReport.cs"), secondSource);
        }

        if (!selfContained)
        {
            Dotnet.Run(folder, Limit, "build", "-c", "Release");
            return Dotnet.Run(RepositoryRoot, Limit, Path.Combine(folder, "bin", "Release", targetFramework, "Consumer.dll"));
        }

        string published = Path.Combine(folder, "published");
        Dotnet.Run(folder, Limit, "publish", "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", published);
        return Dotnet.Exec(Path.Combine(published, "Consumer"), RepositoryRoot, Limit);
    }

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "AttAnchor.sln")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No AttAnchor.sln above {AppContext.BaseDirectory}.");
    }

    private static string ReadProperty(string props, string name) =>
        XDocument.Load(props).Descendants(name).Select(e => e.Value.Trim()).FirstOrDefault(v => v.Length > 0)
        ?? throw new InvalidDataException($"{props} sets no {name}.");

    private string ReadPackageVersion(string id) =>
        XDocument.Load(Path.Combine(RepositoryRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .Where(e => (string?)e.Attribute("Include") == id && e.Parent?.Attribute("Condition") is null).Select(e => (string?)e.Attribute("Version")).SingleOrDefault()
        ?? throw new InvalidDataException($"Directory.Packages.props has no version of {id}.");
}
