using AttAnchor.TestSupport;

namespace AttAnchor.Package.Tests;

/// <summary>
/// The MSBuild target that fills PackageReleaseNotes (src/Directory.Build.targets), run on changelogs of its own:
/// the version's section wins over "Unreleased", and a changelog with neither fails with a line saying what to add.
/// The nuspec of the repository's own packages is checked in <see cref="PackageTests"/>.
/// </summary>
public sealed class ReleaseNotesTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-release-notes-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void TheVersionsSection_WinsOverUnreleased()
    {
        string notes = ReleaseNotes("0.2.0", "# Changelog\n\n## Unreleased\n\n- next\n\n## [0.2.0] - 2026-01-01\n\n- two\n- two more\n\n## 0.1.0\n\n- one\n");
        Assert.Equal("[0.2.0] - 2026-01-01\n\n- two\n- two more", notes);
    }

    [Fact]
    public void WithoutTheVersionsSection_TheFirstUnreleasedSection()
    {
        string notes = ReleaseNotes("0.2.0", "# Changelog\n\n## Unreleased: two\n\ntext\n\n## Unreleased: one\n\nolder\n\n## 0.1.0\n\n- one\n");
        Assert.Equal("Unreleased: two\n\ntext", notes);
    }

    [Fact]
    public void APrefixOfAnotherVersion_IsNotItsSection()
    {
        string notes = ReleaseNotes("0.1.1", "## Unreleased\n\nnext\n\n## 0.1.10\n\nten\n");
        Assert.Equal("Unreleased\n\nnext", notes);
    }

    [Fact]
    public void NeitherSection_FailsThePack_SayingWhatToAdd()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ReleaseNotes("0.2.0", "# Changelog\n\n## 0.1.0\n\n- one\n"));
        Assert.Contains("CHANGELOG.md has no section \"## 0.2.0\" and no \"## Unreleased\" section", error.Message, StringComparison.Ordinal);
    }

    private string ReleaseNotes(string version, string changelog)
    {
        string changelogPath = Path.Combine(_folder, "CHANGELOG.md");
        File.WriteAllText(changelogPath, changelog);
        string targets = Path.Combine(RepositoryRoot(), "src", "Directory.Build.targets");
        string project = Path.Combine(_folder, "notes.proj");
        File.WriteAllText(project, $"""
            <Project>
              <Import Project="{targets}" />
              <Target Name="Print" DependsOnTargets="AttAnchorReleaseNotes">
                <WriteLinesToFile File="notes.txt" Lines="$(PackageReleaseNotes)" Overwrite="true" />
              </Target>
            </Project>
            """);
        Dotnet.Run(_folder, Limit, "msbuild", project, "-t:Print", "-nologo", $"-p:VersionPrefix={version}", $"-p:AttAnchorChangelog={changelogPath}");
        return File.ReadAllText(Path.Combine(_folder, "notes.txt")).Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n');
    }

    private static string RepositoryRoot()
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
}
