using System.IO.Compression;
using System.Xml.Linq;
using AttAnchor.TestSupport;

namespace AttAnchor.Package.Tests;

/// <summary>
/// Packs the repository's packages once per test run into a fresh local folder, with a version no other feed
/// has, then creates, builds and runs two console apps outside the repository that reference them from that folder.
/// </summary>
/// <remarks>
/// The packages are packed from the build the tests run on (<c>dotnet pack --no-build</c>, in this test assembly's
/// configuration). The consumer's <c>Program.cs</c> is the AttAnchor.OnnxRuntime package README's example, word for
/// word, and the map consumer's the AttAnchor.Visualization package README's. The package versions they add to the
/// NuGet cache are removed afterwards.
/// </remarks>
public sealed class PackedPackages : IDisposable
{
    /// <summary>The packages the repository ships.</summary>
    public static readonly string[] Ids = ["AttAnchor", "AttAnchor.OnnxRuntime", "AttAnchor.Visualization"];

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    public PackedPackages()
    {
        RepositoryRoot = FindRepositoryRoot();
        Configuration = Dotnet.ConfigurationOf(typeof(PackedPackages).Assembly);
        Work = Directory.CreateTempSubdirectory("attanchor-consumer-").FullName;
        Feed = Path.Combine(Work, "feed");
        string suffix = $"consumer.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Version = $"{ReadProperty(Path.Combine(RepositoryRoot, "Directory.Build.props"), "VersionPrefix")}-{suffix}";

        PackOutput = Dotnet.Run(RepositoryRoot, Limit, "pack", "AttAnchor.sln", "-c", Configuration, "--no-build", "-o", Feed, $"-p:VersionSuffix={suffix}");

        Consumer = Path.Combine(Work, "consumer");
        (ExampleSource, ExampleOutput) = ReadmeExample(Path.Combine(RepositoryRoot, "src", "AttAnchor.OnnxRuntime", "README.md"));
        ConsumerOutput = BuildAndRun(Consumer, "AttAnchor.OnnxRuntime", ExampleSource);

        MapConsumer = Path.Combine(Work, "map-consumer");
        (MapExampleSource, MapExampleOutput) = ReadmeExample(Path.Combine(RepositoryRoot, "src", "AttAnchor.Visualization", "README.md"));
        MapConsumerOutput = BuildAndRun(MapConsumer, "AttAnchor.Visualization", MapExampleSource);
    }

    public string RepositoryRoot { get; }

    public string Configuration { get; }

    /// <summary>The temporary folder holding the feed and the consumer.</summary>
    public string Work { get; }

    /// <summary>The local folder the packages were packed to.</summary>
    public string Feed { get; }

    /// <summary>The version packed: the repository's prefix with a suffix no other feed has.</summary>
    public string Version { get; }

    public string PackOutput { get; }

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

    /// <summary>The NuGet global packages folder the consumer restored into.</summary>
    public static string GlobalPackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <summary>The bytes of one entry of a package.</summary>
    public byte[] Entry(string id, string entry, string extension = "nupkg")
    {
        using ZipArchive zip = ZipFile.OpenRead(PackagePath(id, extension));
        ZipArchiveEntry found = zip.GetEntry(entry) ?? throw new Xunit.Sdk.XunitException($"{Path.GetFileName(PackagePath(id, extension))} has no {entry}; it has {string.Join(", ", zip.Entries.Select(e => e.FullName))}");
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
    public XElement Metadata(string id, string extension = "nupkg")
    {
        XDocument nuspec = XDocument.Load(new MemoryStream(Entry(id, $"{id}.nuspec", extension)));
        return nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    public void Dispose()
    {
        Directory.Delete(Work, recursive: true);
        foreach (string id in Ids)
        {
            string cached = Path.Combine(GlobalPackages, id.ToLowerInvariant(), Version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
    }

    /// <summary>The first C# block under "## Example" and the first text block after it.</summary>
    public static (string Source, string Output) ReadmeExample(string readme)
    {
        string text = File.ReadAllText(readme);
        return (ReadmeBlocks.Block(text, "\n## Example\n", "csharp"), ReadmeBlocks.Block(text, "\n## Example\n", "text"));
    }

    /// <summary>
    /// Creates a console app in <paramref name="folder"/> that references <paramref name="package"/> from the feed and
    /// ONNX Runtime's CPU package from NuGet, with <paramref name="source"/> as its Program.cs; builds it and runs it
    /// from the repository's root, as the READMEs' examples say, so that their relative paths resolve.
    /// </summary>
    /// <returns>What it printed.</returns>
    private string BuildAndRun(string folder, string package, string source)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="attanchor-local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
        string onnxRuntime = ReadPackageVersion("Microsoft.ML.OnnxRuntime");
        File.WriteAllText(Path.Combine(folder, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{package}" Version="{Version}" />
                <PackageReference Include="Microsoft.ML.OnnxRuntime" Version="{onnxRuntime}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), source);

        Dotnet.Run(folder, Limit, "build", "-c", "Release");
        return Dotnet.Run(RepositoryRoot, Limit, Path.Combine(folder, "bin", "Release", "net10.0", "Consumer.dll"));
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
            .Where(e => (string?)e.Attribute("Include") == id).Select(e => (string?)e.Attribute("Version")).SingleOrDefault()
        ?? throw new InvalidDataException($"Directory.Packages.props has no version of {id}.");
}
