using System.Collections.Concurrent;

namespace AttAnchor.TestSupport;

/// <summary>
/// Finds the committed fixture folders (<c>models/fixtures/&lt;name&gt;/</c> with a <c>references/</c>
/// folder) and keeps one <see cref="FixtureModel"/> per folder for the whole test run, so each graph
/// is opened once.
/// </summary>
public static class Fixtures
{
    private static readonly ConcurrentDictionary<string, Lazy<FixtureModel>> Models = new(StringComparer.Ordinal);
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    /// <summary>The repository root: the first folder above the test binaries that holds AttAnchor.sln.</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary><c>models/fixtures</c> under the repository root.</summary>
    public static string FixturesFolder => Path.Combine(RepositoryRoot, "models", "fixtures");

    /// <summary>The names of the fixture folders that have a <c>references/</c> folder, sorted.</summary>
    public static IReadOnlyList<string> Names =>
        Directory.Exists(FixturesFolder)
            ? [.. Directory.EnumerateDirectories(FixturesFolder)
                .Where(d => Directory.Exists(Path.Combine(d, "references")))
                .Select(d => Path.GetFileName(d))
                .Order(StringComparer.Ordinal)]
            : [];

    /// <summary>The fixture of this name, opened on first use and shared afterwards.</summary>
    public static FixtureModel Get(string name) =>
        Models.GetOrAdd(name, static n => new Lazy<FixtureModel>(() => new FixtureModel(n, Path.Combine(FixturesFolder, n)))).Value;

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AttAnchor.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AttAnchor.sln above {AppContext.BaseDirectory}; the model tests run from a build inside the repository.");
    }
}
