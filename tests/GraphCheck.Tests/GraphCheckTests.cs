using AttAnchor.GraphCheck;
using Xunit.Abstractions;

namespace AttAnchor.GraphCheck.Tests;

/// <summary>Every case of every fixture's <c>references/checks.json</c>: ONNX Runtime agrees with PyTorch.</summary>
public class GraphCheckTests(ITestOutputHelper output)
{
    /// <summary>One row per (fixture, case): the fixture's folder name, the case's index and its name.</summary>
    public static TheoryData<string, int, string> Cases
    {
        get
        {
            var rows = new TheoryData<string, int, string>();
            foreach (string fixture in Fixtures.Names)
            {
                if (File.Exists(Path.Combine(Fixtures.FixturesFolder, fixture, GraphCheckSuite.ReferencesFolderName, GraphCheckSuite.ChecksFileName)))
                {
                    foreach (GraphCheckCase c in Fixtures.Get(fixture).Checks.Cases)
                    {
                        rows.Add(fixture, c.Index, c.Name);
                    }
                }
            }

            return rows;
        }
    }

    [Fact]
    public void The_repository_has_fixture_folders_with_graph_checks()
    {
        string[] withChecks = [.. Fixtures.Names.Where(n =>
            File.Exists(Path.Combine(Fixtures.FixturesFolder, n, GraphCheckSuite.ReferencesFolderName, GraphCheckSuite.ChecksFileName)))];

        Assert.True(withChecks.Length > 0,
            $"No fixture folder under {Fixtures.FixturesFolder} has references/{GraphCheckSuite.ChecksFileName}; regenerate them with tools/python/make_fixtures.py.");
    }

    [Fact]
    public void Graph_session_rejects_missing_and_undeclared_inputs_wrong_ranks_and_float_ids_with_clear_messages()
    {
        string fixture = Assert.Single(Fixtures.Names.Take(1));
        GraphSession embed = Fixtures.Get(fixture).Graph("embed_tokens.onnx");
        HostTensor ids = HostTensor.FromInt64s([1L, 2], 1, 2);

        string missing = Assert.Throws<GraphCheckException>(() => embed.Run(new Dictionary<string, HostTensor>())).Message;
        string undeclared = Assert.Throws<GraphCheckException>(() => embed.Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = ids,
            ["position_ids"] = ids,
        })).Message;
        string rank = Assert.Throws<GraphCheckException>(() => embed.Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.FromInt64s([1L, 2], 2),
        })).Message;
        string type = Assert.Throws<GraphCheckException>(() => embed.Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.FromSingles([1f, 2f], 1, 2),
        })).Message;

        Assert.Contains("declares input 'input_ids' but none was given", missing, StringComparison.Ordinal);
        Assert.Contains("does not declare an input 'position_ids'", undeclared, StringComparison.Ordinal);
        Assert.Contains("input 'input_ids' has shape (2,) but the graph declares (", rank, StringComparison.Ordinal);
        Assert.Contains("is declared Int64 but the data is Float32", type, StringComparison.Ordinal);
        Assert.Equal([1L, 2, Fixtures.Get(fixture).Settings.HiddenSize], embed.Run(new Dictionary<string, HostTensor> { ["input_ids"] = ids })["inputs_embeds"].Shape);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Graph_check_case_passes(string fixture, int index, string name)
    {
        GraphCheckSuite suite = Fixtures.Get(fixture).Checks;
        GraphCheckCase graphCase = suite.Cases[index];
        Assert.Equal(name, graphCase.Name);

        GraphCheckResult result = suite.Run(graphCase);

        output.WriteLine(result.ToString());
        Assert.True(result.Passed, $"{fixture}: {result}");
    }
}
