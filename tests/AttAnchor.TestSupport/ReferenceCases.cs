using System.Globalization;

namespace AttAnchor.TestSupport;

/// <summary>
/// The fixtures' reference cases (<c>references/references.json</c>) as theory rows, for the tests of the library
/// and of the console that check the same cases.
/// </summary>
public static class ReferenceCases
{
    /// <summary>One row per (fixture, prompt).</summary>
    public static TheoryData<string, int, string> Prompts
    {
        get
        {
            var rows = new TheoryData<string, int, string>();
            foreach (string fixture in FixturesWithReferences())
            {
                IReadOnlyList<PromptReference> prompts = Fixtures.Get(fixture).References.Prompts;
                for (int i = 0; i < prompts.Count; i++)
                {
                    rows.Add(fixture, i, prompts[i].Question);
                }
            }

            return rows;
        }
    }

    /// <summary>One row per (fixture, greedy generation): the fixture, the generation's index and what it is.</summary>
    public static TheoryData<string, int, string> Generations
    {
        get
        {
            var rows = new TheoryData<string, int, string>();
            foreach (string fixture in FixturesWithReferences())
            {
                IReadOnlyList<GenerationReference> generations = Fixtures.Get(fixture).References.Generations;
                for (int i = 0; i < generations.Count; i++)
                {
                    GenerationReference g = generations[i];
                    rows.Add(fixture, i, $"{g.Image}, prompt {g.Prompt}, {(g.Anchor is null ? "off" : $"{g.Anchor.Direction} τ={g.Anchor.Threshold.ToString(CultureInfo.InvariantCulture)}")}");
                }
            }

            return rows;
        }
    }

    /// <summary>The fixtures whose references/ holds references.json.</summary>
    public static IEnumerable<string> FixturesWithReferences() =>
        Fixtures.Names.Where(n => File.Exists(Path.Combine(Fixtures.FixturesFolder, n, "references", "references.json")));
}
