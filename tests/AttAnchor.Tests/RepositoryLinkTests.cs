using System.Text.RegularExpressions;

namespace AttAnchor.Tests;

/// <summary>The repository is self-contained: every relative Markdown link resolves inside it, and no file points at folders outside it.</summary>
public partial class RepositoryLinkTests
{
    private static readonly string[] SkippedFolders = ["bin", "obj", ".git", "artifacts", "TestResults", "BenchmarkDotNet.Artifacts", "generated", "node_modules"];

    /// <summary>The folder beside the repository that the specs once lived in, spelled in parts so that this file does not refer to it itself.</summary>
    private static readonly string OutsideFolder = string.Join('/', "..", "shared", string.Empty);

    /// <summary>Text files whose content is read for references.</summary>
    private static readonly string[] TextExtensions = [".md", ".cs", ".py", ".csproj", ".props", ".sh", ".txt", ".editorconfig"];

    [Fact]
    public void Every_relative_markdown_link_resolves_to_a_file_in_the_repository()
    {
        var broken = new List<string>();
        foreach (string file in Files(".md"))
        {
            string text = File.ReadAllText(file);
            foreach (Match link in MarkdownLink().Matches(text))
            {
                string target = link.Groups["target"].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal) || target.StartsWith('#'))
                {
                    continue;
                }

                string path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, Uri.UnescapeDataString(target.Split('#')[0])));
                if (!path.StartsWith(Repository.Root, StringComparison.Ordinal) || (!File.Exists(path) && !Directory.Exists(path)))
                {
                    broken.Add($"{Path.GetRelativePath(Repository.Root, file)}: {target}");
                }
            }
        }

        Assert.True(broken.Count == 0, "Links that do not resolve inside the repository:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void No_file_refers_to_folders_outside_the_repository()
    {
        string[] offenders = [.. Files(TextExtensions)
            .Where(f => File.ReadAllText(f).Contains(OutsideFolder, StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Repository.Root, f))];

        Assert.True(offenders.Length == 0, $"Files that refer to {OutsideFolder} (outside the repository): " + string.Join(", ", offenders));
    }

    [Fact]
    public void The_specs_are_in_docs_spec()
    {
        foreach (string spec in new[] { "attanchor.md", "model-folder.md", "vqa-cli.md" })
        {
            Assert.True(File.Exists(Path.Combine(Repository.Root, "docs", "spec", spec)), $"docs/spec/{spec} is missing");
        }
    }

    private static IEnumerable<string> Files(params string[] extensions)
    {
        var pending = new Stack<string>([Repository.Root]);
        while (pending.Count > 0)
        {
            string folder = pending.Pop();
            foreach (string sub in Directory.EnumerateDirectories(folder))
            {
                if (!SkippedFolders.Contains(Path.GetFileName(sub)))
                {
                    pending.Push(sub);
                }
            }

            foreach (string file in Directory.EnumerateFiles(folder))
            {
                if (extensions.Contains(Path.GetExtension(file)))
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>An inline Markdown link or image: <c>[text](target)</c>; the target ends at whitespace or the closing parenthesis.</summary>
    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();
}
