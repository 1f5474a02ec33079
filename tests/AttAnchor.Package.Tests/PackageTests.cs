using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Xml.Linq;

namespace AttAnchor.Package.Tests;

/// <summary>
/// What a developer gets from the packages: the three packages and their symbols from <c>dotnet pack</c>, the metadata
/// NuGet shows, XML docs for every public type, a deterministic build whose PDB matches, the dependencies (the
/// managed ONNX Runtime, never a native one), a fresh console app that answers through <c>IChatClient</c>, and one
/// that draws the anchor map.
/// </summary>
public sealed class PackageTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    public static TheoryData<string> Ids => [.. PackedPackages.Ids];

    [Fact]
    public void Pack_ProducesTheThreePackagesAndTheirSymbolPackages()
    {
        string[] expected = [.. PackedPackages.Ids.SelectMany(id => new[] { $"{id}.{packages.Version}.nupkg", $"{id}.{packages.Version}.snupkg" }).Order(StringComparer.Ordinal)];
        string[] actual = [.. Directory.GetFiles(packages.Feed).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Nuspec_HasTheMetadataNuGetShows(string id)
    {
        XElement metadata = packages.Metadata(id);
        string Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? string.Empty;
        XElement Element(string name) => Assert.Single(metadata.Elements(), e => e.Name.LocalName == name);

        Assert.Equal(id, Value("id"));
        Assert.Equal(packages.Version, Value("version"));
        Assert.Equal("MIT", Value("license"));
        Assert.Equal("expression", (string?)Element("license").Attribute("type"));
        Assert.Equal("README.md", Value("readme"));
        Assert.StartsWith("https://", Value("projectUrl"), StringComparison.Ordinal);
        Assert.Contains("attanchor", Value("tags").Split(' '));
        Assert.NotEmpty(Value("authors"));
        Assert.True(Value("description").Length > 80, $"{id}: the description should say what the package does");

        XElement repository = Element("repository");
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.StartsWith("https://", (string?)repository.Attribute("url"), StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit") ?? string.Empty);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void PackageReadme_IsTheProjectsReadme(string id)
    {
        string packed = System.Text.Encoding.UTF8.GetString(packages.Entry(id, "README.md"));
        Assert.Equal(File.ReadAllText(Path.Combine(packages.RepositoryRoot, "src", id, "README.md")), packed);
        Assert.StartsWith($"# {id}\n", packed.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_HasXmlDocsForEveryPublicType(string id)
    {
        using var pe = new PEReader(new MemoryStream(packages.Entry(id, $"lib/net10.0/{id}.dll")));
        MetadataReader reader = pe.GetMetadataReader();
        XDocument docs = XDocument.Load(new MemoryStream(packages.Entry(id, $"lib/net10.0/{id}.xml")));
        var documented = docs.Descendants("member").Select(m => (string?)m.Attribute("name")).ToHashSet(StringComparer.Ordinal);

        string[] publicTypes = [.. reader.TypeDefinitions.Select(reader.GetTypeDefinition)
            .Where(t => (t.Attributes & System.Reflection.TypeAttributes.VisibilityMask) == System.Reflection.TypeAttributes.Public)
            .Select(t => $"T:{reader.GetString(t.Namespace)}.{reader.GetString(t.Name)}")];
        Assert.NotEmpty(publicTypes);
        string[] undocumented = [.. publicTypes.Where(t => !documented.Contains(t))];
        Assert.True(undocumented.Length == 0, $"{id}: public types without XML docs: {string.Join(", ", undocumented)}");
        Assert.Contains(id switch
        {
            "AttAnchor" => "T:AttAnchor.AnchorPlan",
            "AttAnchor.OnnxRuntime" => "T:AttAnchor.OnnxRuntime.AttAnchorChatClient",
            _ => "T:AttAnchor.Visualization.AnchorMap",
        }, publicTypes);
        Assert.DoesNotContain("T:AttAnchor.OnnxRuntime.AnchorMap", publicTypes); // drawing is AttAnchor.Visualization's
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Assembly_IsDeterministic_AndTheSymbolPackageHoldsItsPdb(string id)
    {
        using var pe = new PEReader(new MemoryStream(packages.Entry(id, $"lib/net10.0/{id}.dll")));
        var debug = pe.ReadDebugDirectory();
        Assert.Contains(debug, e => e.Type == DebugDirectoryEntryType.Reproducible);
        DebugDirectoryEntry codeView = Assert.Single(debug, e => e.Type == DebugDirectoryEntryType.CodeView);
        CodeViewDebugDirectoryData data = pe.ReadCodeViewDebugDirectoryData(codeView);
        Assert.Equal($"{id}.pdb", Path.GetFileName(data.Path));

        Assert.Equal("SymbolsPackage", Assert.Single(packages.Metadata(id, "snupkg").Elements(), e => e.Name.LocalName == "packageTypes").Elements().Single().Attribute("name")?.Value);
        using var pdb = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(packages.Entry(id, $"lib/net10.0/{id}.pdb", "snupkg")));
        MetadataReader pdbReader = pdb.GetMetadataReader();
        var pdbId = new BlobContentId(pdbReader.DebugMetadataHeader!.Id);
        Assert.Equal(data.Guid, pdbId.Guid);
        Assert.Equal(codeView.Stamp, pdbId.Stamp);
        Assert.True(pdbReader.Documents.Count > 0, $"{id}.pdb lists no source documents");
    }

    [Fact]
    public void Dependencies_AreManagedOnly_AndThePipelineNeedsTheCoreOfItsVersion()
    {
        Dictionary<string, string> Dependencies(string id) => packages.Metadata(id).Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!, StringComparer.Ordinal);

        Assert.Equal(["System.Numerics.Tensors"], Dependencies("AttAnchor").Keys);

        Dictionary<string, string> pipeline = Dependencies("AttAnchor.OnnxRuntime");
        Assert.Equal(packages.Version, pipeline["AttAnchor"]);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Managed", pipeline.Keys);
        Assert.Contains("Microsoft.Extensions.AI.Abstractions", pipeline.Keys);
        Assert.Contains("Microsoft.Extensions.Logging.Abstractions", pipeline.Keys);
        Assert.DoesNotContain("Microsoft.ML.OnnxRuntime", pipeline.Keys);       // the app picks the native runtime:
        Assert.DoesNotContain("Microsoft.ML.OnnxRuntime.Gpu", pipeline.Keys);   // CPU or CUDA
        Assert.DoesNotContain(pipeline.Keys, k => k.StartsWith("xunit", StringComparison.Ordinal) || k.StartsWith("Microsoft.NET.Test", StringComparison.Ordinal));

        Dictionary<string, string> visualization = Dependencies("AttAnchor.Visualization");
        Assert.Equal(["AttAnchor.OnnxRuntime", "SkiaSharp"], visualization.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(packages.Version, visualization["AttAnchor.OnnxRuntime"]);
    }

    [Fact]
    public void FreshConsoleApp_AnswersThroughIChatClient_AsThePackageReadmeShows()
    {
        Assert.Contains("IChatClient", packages.ExampleSource, StringComparison.Ordinal);
        Assert.Contains("GetStreamingResponseAsync", packages.ExampleSource, StringComparison.Ordinal);
        Assert.Equal(Normalise(packages.ExampleOutput), Normalise(packages.ConsumerOutput));
        Assert.StartsWith("Red.", packages.ConsumerOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void FreshConsoleApp_DrawsTheAnchorMap_AsTheVisualizationPackageReadmeShows()
    {
        Assert.Contains("AnchorMap.RenderPng", packages.MapExampleSource, StringComparison.Ordinal);
        Assert.Equal(Normalise(packages.MapExampleOutput), Normalise(packages.MapConsumerOutput));
        Assert.StartsWith("Red. 4 anchors", packages.MapConsumerOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void FreshConsoleApp_RestoredOurPackagesFromTheLocalFolder()
    {
        AssertRestoredFromTheFeed(packages.Consumer, ["AttAnchor", "AttAnchor.OnnxRuntime"]);
        AssertRestoredFromTheFeed(packages.MapConsumer, PackedPackages.Ids);

        Assert.False(File.Exists(Path.Combine(packages.Consumer, "Directory.Build.props")));
        Assert.DoesNotContain(packages.RepositoryRoot, File.ReadAllText(Path.Combine(packages.Consumer, "Consumer.csproj")), StringComparison.Ordinal);
        Assert.DoesNotContain(packages.RepositoryRoot, File.ReadAllText(Path.Combine(packages.MapConsumer, "Consumer.csproj")), StringComparison.Ordinal);
    }

    private void AssertRestoredFromTheFeed(string consumer, IEnumerable<string> ids)
    {
        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(consumer, "obj", "project.assets.json")));
        JsonElement libraries = assets.RootElement.GetProperty("libraries");
        foreach (string id in ids)
        {
            Assert.True(libraries.TryGetProperty($"{id}/{packages.Version}", out _), $"the consumer should restore {id} {packages.Version}");
            string metadata = Path.Combine(PackedPackages.GlobalPackages, id.ToLowerInvariant(), packages.Version, ".nupkg.metadata");
            using JsonDocument restored = JsonDocument.Parse(File.ReadAllText(metadata));
            Assert.Equal(Path.GetFullPath(packages.Feed), Path.GetFullPath(restored.RootElement.GetProperty("source").GetString()!));
        }
    }

    private static string Normalise(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
}
