using System.Text.RegularExpressions;

namespace AttAnchor.TestSupport;

/// <summary>
/// Reads the fenced code blocks of a README, for the tests that keep its examples true.
/// </summary>
public static partial class ReadmeBlocks
{
    /// <summary>The first fenced block of the given language at or after a heading, line endings as <c>\n</c>.</summary>
    public static string Block(string readme, string heading, string language)
    {
        readme = readme.ReplaceLineEndings("\n");
        int at = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(at >= 0, $"the README has no section \"{heading}\"");
        Match match = Regex.Match(readme[at..], $"```{language}\\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, $"the README has no {language} block under \"{heading}\"");
        return match.Groups[1].Value;
    }

    /// <summary>The text with every run of white space folded to one space, for comparing code as shown with code as compiled.</summary>
    public static string Fold(string text) => WhiteSpace().Replace(text, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
