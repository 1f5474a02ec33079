namespace AttAnchor.Tests;

/// <summary>The repository these tests run from: the first folder above the test binaries that holds AttAnchor.sln.</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootFolder = new(Find);

    /// <summary>The repository root.</summary>
    public static string Root => RootFolder.Value;

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AttAnchor.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"AttAnchor.sln not found above {AppContext.BaseDirectory}; the tests run from a build inside the repository.");
    }
}
