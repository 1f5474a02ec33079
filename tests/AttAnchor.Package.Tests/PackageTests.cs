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

    public static TheoryData<string, string> IdsAndFrameworks
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string id in PackedPackages.Ids)
            {
                foreach (string framework in PackedPackages.TargetFrameworks)
                {
                    data.Add(id, framework);
                }
            }

            return data;
        }
    }

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
        Assert.Equal("icon.png", Value("icon"));
        Assert.Contains("attanchor", Value("tags").Split(' '));
        Assert.NotEmpty(Value("authors"));
        Assert.True(Value("description").Length > 80, $"{id}: the description should say what the package does");

        XElement repository = Element("repository");
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit") ?? string.Empty);
        if (Git("config", "--get", "remote.origin.url") is { } remote && remote.StartsWith("https://", StringComparison.Ordinal))
        {
            Assert.Equal(remote, (string?)repository.Attribute("url"));
            Assert.StartsWith("https://", Value("projectUrl"), StringComparison.Ordinal);
            Assert.DoesNotContain("has no https git remote", packages.PackOutput, StringComparison.Ordinal);
        }
        else
        {
            // No URL is better than a made-up one; pack says how to give one.
            Assert.Null(repository.Attribute("url"));
            Assert.Empty(Value("projectUrl"));
            Assert.Contains($"{id}: this clone has no https git remote", packages.PackOutput, StringComparison.Ordinal);
            Assert.Contains("-p:RepositoryUrl=https://", packages.PackOutput, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Nuspec_TakesTheRepositoryAndProjectUrlsGivenAtPack(string id)
    {
        XElement metadata = packages.BehindMetadata(id);
        Assert.Equal(PackedPackages.GivenProjectUrl, metadata.Elements().Single(e => e.Name.LocalName == "projectUrl").Value);
        Assert.Equal(PackedPackages.GivenRepositoryUrl, (string?)metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("url"));
        Assert.DoesNotContain("has no https git remote", packages.BehindPackOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Nuspec_ReleaseNotesAreTheChangelogsTopSection(string id)
    {
        // CHANGELOG.md has no section for the version prefix yet, so the notes are its first "## Unreleased" section.
        string[] lines = File.ReadAllText(Path.Combine(packages.RepositoryRoot, "CHANGELOG.md")).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        int start = Array.FindIndex(lines, l => l.StartsWith("## Unreleased", StringComparison.Ordinal));
        int end = Array.FindIndex(lines, start + 1, l => l.StartsWith("## ", StringComparison.Ordinal));
        string expected = string.Join('\n', lines[start..end])[3..].Trim();

        string notes = packages.Metadata(id).Elements().Single(e => e.Name.LocalName == "releaseNotes").Value;
        Assert.Equal(expected, notes.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.StartsWith("Unreleased", notes, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_CarriesItsIcon_A128PixelPng(string id)
    {
        byte[] icon = packages.Entry(id, "icon.png");
        Assert.Equal(File.ReadAllBytes(Path.Combine(packages.RepositoryRoot, "src", "icon.png")), icon);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, icon[..4]);
        Assert.Equal(128, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(icon.AsSpan(16)));  // IHDR width
        Assert.Equal(128, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(icon.AsSpan(20)));  // IHDR height
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_TargetsNet8AndNet10(string id)
    {
        string[] libraries = [.. packages.Entries(id).Where(e => e.StartsWith("lib/", StringComparison.Ordinal) && e.EndsWith(".dll", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        Assert.Equal([$"lib/net10.0/{id}.dll", $"lib/net8.0/{id}.dll"], libraries);
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
    [MemberData(nameof(IdsAndFrameworks))]
    public void Package_HasXmlDocsForEveryPublicType(string id, string framework)
    {
        using var pe = new PEReader(new MemoryStream(packages.Entry(id, $"lib/{framework}/{id}.dll")));
        MetadataReader reader = pe.GetMetadataReader();
        XDocument docs = XDocument.Load(new MemoryStream(packages.Entry(id, $"lib/{framework}/{id}.xml")));
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
    [MemberData(nameof(IdsAndFrameworks))]
    public void Assembly_IsDeterministic_AndTheSymbolPackageHoldsItsPdb(string id, string framework)
    {
        using var pe = new PEReader(new MemoryStream(packages.Entry(id, $"lib/{framework}/{id}.dll")));
        var debug = pe.ReadDebugDirectory();
        Assert.Contains(debug, e => e.Type == DebugDirectoryEntryType.Reproducible);
        DebugDirectoryEntry codeView = Assert.Single(debug, e => e.Type == DebugDirectoryEntryType.CodeView);
        CodeViewDebugDirectoryData data = pe.ReadCodeViewDebugDirectoryData(codeView);
        Assert.Equal($"{id}.pdb", Path.GetFileName(data.Path));

        Assert.Equal("SymbolsPackage", Assert.Single(packages.Metadata(id, "snupkg").Elements(), e => e.Name.LocalName == "packageTypes").Elements().Single().Attribute("name")?.Value);
        using var pdb = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(packages.Entry(id, $"lib/{framework}/{id}.pdb", "snupkg")));
        MetadataReader pdbReader = pdb.GetMetadataReader();
        var pdbId = new BlobContentId(pdbReader.DebugMetadataHeader!.Id);
        Assert.Equal(data.Guid, pdbId.Guid);
        Assert.Equal(codeView.Stamp, pdbId.Stamp);
        Assert.True(pdbReader.Documents.Count > 0, $"{id}.pdb lists no source documents");
    }

    [Fact]
    public void Dependencies_AreManagedOnly_PerFramework_AndThePipelineNeedsTheCoreOfItsVersion()
    {
        // Microsoft's 11.0 packages have no net8.0 assets, so net8.0 takes their 10.0 release.
        foreach (string framework in PackedPackages.TargetFrameworks)
        {
            string tensors = framework == "net8.0" ? "10.0.15" : "11.0.0";
            string logging = framework == "net8.0" ? "10.0.15" : "11.0.0";

            Assert.Equal(new Dictionary<string, string> { ["System.Numerics.Tensors"] = tensors }, Dependencies("AttAnchor", framework));

            Dictionary<string, string> pipeline = Dependencies("AttAnchor.OnnxRuntime", framework);
            Assert.Equal(packages.Version, pipeline["AttAnchor"]);
            Assert.Equal(packages.OnnxRuntimeVersion, pipeline["Microsoft.ML.OnnxRuntime.Managed"]);
            Assert.Equal(packages.SkiaSharpVersion, pipeline["SkiaSharp"]);
            Assert.Equal(tensors, pipeline["System.Numerics.Tensors"]);
            Assert.Equal(logging, pipeline["Microsoft.Extensions.Logging.Abstractions"]);
            Assert.Equal("11.0.0", pipeline["Microsoft.Extensions.AI.Abstractions"]);
            Assert.DoesNotContain("Microsoft.ML.OnnxRuntime", pipeline.Keys);       // the app picks the native runtime:
            Assert.DoesNotContain("Microsoft.ML.OnnxRuntime.Gpu", pipeline.Keys);   // CPU or CUDA,
            Assert.DoesNotContain(pipeline.Keys, k => k.StartsWith("SkiaSharp.NativeAssets", StringComparison.Ordinal)); // and SkiaSharp's native library
            Assert.DoesNotContain(pipeline.Keys, k => k.StartsWith("xunit", StringComparison.Ordinal) || k.StartsWith("Microsoft.NET.Test", StringComparison.Ordinal));

            Dictionary<string, string> visualization = Dependencies("AttAnchor.Visualization", framework);
            Assert.Equal(["AttAnchor.OnnxRuntime", "SkiaSharp"], visualization.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(packages.Version, visualization["AttAnchor.OnnxRuntime"]);
        }

        Assert.Equal(PackedPackages.TargetFrameworks.Order(StringComparer.Ordinal), Groups("AttAnchor.OnnxRuntime").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void BehindPackages_WereBuiltAgainstTheOlderSkiaSharp()
    {
        Dictionary<string, string> visualization = packages.BehindMetadata("AttAnchor.Visualization").Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!, StringComparer.Ordinal);
        Assert.Equal(PackedPackages.BehindSkiaSharpVersion, visualization["SkiaSharp"]);
        Assert.NotEqual(PackedPackages.BehindSkiaSharpVersion, packages.SkiaSharpVersion);
    }

    private IEnumerable<string> Groups(string id) =>
        packages.Metadata(id).Descendants().Where(e => e.Name.LocalName == "group").Select(g => (string)g.Attribute("targetFramework")!);

    private Dictionary<string, string> Dependencies(string id, string framework)
    {
        XElement group = Assert.Single(packages.Metadata(id).Descendants(), e => e.Name.LocalName == "group" && (string?)e.Attribute("targetFramework") == framework);
        return group.Elements().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!, StringComparer.Ordinal);
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
    public void FreshNet8App_PublishedSelfContained_RunsOnDotNet8_AndDrawsTheAnchorMap()
    {
        string[] lines = Normalise(packages.Net8ConsumerOutput).Split('\n');
        Assert.StartsWith(PackedPackages.RuntimeLinePrefix + ".NET 8.0.", lines[0], StringComparison.Ordinal);
        Assert.Equal(Normalise(packages.MapExampleOutput), string.Join('\n', lines[1..]));
        Assert.True(File.Exists(Path.Combine(packages.Net8Consumer, "published", "libcoreclr.so")), "the net8.0 app should carry its own runtime");

        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(packages.Net8Consumer, "obj", "project.assets.json")));
        JsonElement target = assets.RootElement.GetProperty("targets").GetProperty("net8.0/linux-x64");
        foreach (string id in PackedPackages.Ids)
        {
            JsonElement compile = target.GetProperty($"{id}/{packages.Version}").GetProperty("compile");
            Assert.True(compile.TryGetProperty($"lib/net8.0/{id}.dll", out _), $"the net8.0 app should compile against {id}'s net8.0 assembly");
        }
    }

    [Fact]
    public void FreshApp_OnANewerSkiaSharpThanThePackagesWereBuiltAgainst_DrawsTheAnchorMap()
    {
        Assert.Equal(Normalise(packages.MapExampleOutput), Normalise(packages.AheadConsumerOutput));

        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(packages.AheadConsumer, "obj", "project.assets.json")));
        JsonElement libraries = assets.RootElement.GetProperty("libraries");
        Assert.True(libraries.TryGetProperty($"AttAnchor.Visualization/{packages.BehindVersion}", out _));
        Assert.True(libraries.TryGetProperty($"SkiaSharp/{packages.SkiaSharpVersion}", out _), $"the app should run on SkiaSharp {packages.SkiaSharpVersion}");
        Assert.False(libraries.TryGetProperty($"SkiaSharp/{PackedPackages.BehindSkiaSharpVersion}", out _));
    }

    [Fact]
    public void FreshApp_WithoutSkiaSharpsLinuxNativePackage_GetsOneErrorNamingThePackageAndVersion()
    {
        string output = Normalise(packages.NoNativeConsumerOutput);
        Assert.DoesNotContain('\n', output);
        Assert.StartsWith($"System.InvalidOperationException: SkiaSharp {packages.SkiaSharpVersion} cannot load its native library libSkiaSharp", output, StringComparison.Ordinal);
        Assert.Contains($"Add package SkiaSharp.NativeAssets.Linux.NoDependencies version {packages.SkiaSharpVersion}", output, StringComparison.Ordinal);
    }

    [Fact]
    public void FreshApp_WithAnOlderNativePackageThanItsSkiaSharp_GetsOneErrorWithSkiaSharpsRange()
    {
        string output = Normalise(packages.MismatchedNativeConsumerOutput);
        Assert.DoesNotContain('\n', output);
        Assert.StartsWith($"System.InvalidOperationException: SkiaSharp {packages.SkiaSharpVersion} does not match its native library libSkiaSharp: ", output, StringComparison.Ordinal);
        Assert.Contains("Supported versions of the native libSkiaSharp library are in the range", output, StringComparison.Ordinal);
        Assert.Contains($"Add package SkiaSharp.NativeAssets.Linux.NoDependencies version {packages.SkiaSharpVersion}", output, StringComparison.Ordinal);
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

    /// <summary>What git prints for the arguments in the repository, or null when it fails.</summary>
    private string? Git(params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("git") { WorkingDirectory = packages.RepositoryRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var git = System.Diagnostics.Process.Start(start)!;
        string output = git.StandardOutput.ReadToEnd().Trim();
        git.StandardError.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0 ? output : null;
    }

    private static string Normalise(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
}
