namespace AttAnchor.TestSupport;

/// <summary>
/// <c>models/pope-excerpts</c>: the first 12 items of each of POPE's nine question files, byte for byte in their own
/// layouts (JSON lines under <c>coco/</c>, JSON arrays under <c>seem/</c>), with stand-in images (its README says how they were cut).
/// </summary>
public static class PopeExcerpts
{
    /// <summary>The items in every excerpt.</summary>
    public const int ItemsPerFile = 12;

    /// <summary><c>models/pope-excerpts</c>.</summary>
    public static string Folder => Path.Combine(Fixtures.RepositoryRoot, "models", "pope-excerpts");

    /// <summary>The stand-in images, named as the COCO and GQA images the excerpts ask about: the <c>--images</c> folder.</summary>
    public static string Images => Path.Combine(Folder, "images");

    /// <summary>The three folders of question files, as POPE's <c>output/</c> has them: JSON lines, then the two of JSON arrays.</summary>
    public static IReadOnlyList<string> DataFolders => [Path.Combine(Folder, "coco"), Path.Combine(Folder, "seem", "gqa"), Path.Combine(Folder, "seem", "aokvqa")];

    /// <summary>The nine split names, in the order <see cref="DataFolders"/> gives them (each folder sorted by name).</summary>
    public static IReadOnlyList<string> SplitNames =>
    [
        "coco_pope_adversarial", "coco_pope_popular", "coco_pope_random",
        "gqa_pope_seem_adversarial", "gqa_pope_seem_popular", "gqa_pope_seem_random",
        "aokvqa_pope_seem_adversarial", "aokvqa_pope_seem_popular", "aokvqa_pope_seem_random",
    ];

    /// <summary>An excerpt's full path from its path under the folder, written with '/'.</summary>
    public static string PathOf(string relative) => Path.Combine([Folder, .. relative.Split('/')]);
}
