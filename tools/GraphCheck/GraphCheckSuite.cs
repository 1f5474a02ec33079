using AttAnchor.OnnxRuntime;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AttAnchor.GraphCheck;

/// <summary>Where one input of a case comes from: a <c>.npy[.gz]</c> file, or PNG crops that become <c>pixel_values</c>.</summary>
/// <param name="Name">The graph input's name.</param>
/// <param name="File">The array file (full path), or null for crops.</param>
/// <param name="Crops">The crop PNGs (full paths), one per batch row, or null for a file.</param>
public sealed record GraphCheckInput(string Name, string? File, IReadOnlyList<string>? Crops);

/// <summary>One reference output of a case.</summary>
/// <param name="Name">The graph output's name.</param>
/// <param name="File">The reference array file (full path).</param>
public sealed record GraphCheckOutput(string Name, string File);

/// <summary>One case of <c>checks.json</c>: run a graph on given inputs and compare outputs with PyTorch's.</summary>
/// <param name="Index">The case's position in <c>checks.json</c>, from 0.</param>
/// <param name="Name">The case's name.</param>
/// <param name="Graph">The graph file (full path).</param>
/// <param name="Inputs">The inputs, in file order.</param>
/// <param name="Outputs">The compared outputs, in file order.</param>
/// <param name="Atol">The absolute tolerance.</param>
/// <param name="Rtol">The relative tolerance.</param>
public sealed record GraphCheckCase(
    int Index,
    string Name,
    string Graph,
    IReadOnlyList<GraphCheckInput> Inputs,
    IReadOnlyList<GraphCheckOutput> Outputs,
    double Atol,
    double Rtol);

/// <summary>The outcome of one case: one comparison per reference output.</summary>
/// <param name="Case">The case.</param>
/// <param name="Outputs">The comparisons, in the case's output order.</param>
public sealed record GraphCheckResult(GraphCheckCase Case, IReadOnlyList<TensorComparison> Outputs)
{
    /// <summary>Whether every output passed.</summary>
    public bool Passed => Outputs.All(o => o.Passed);

    /// <summary>The largest max-abs difference over the outputs (NaN when a shape differs).</summary>
    public double MaxAbsDiff => Outputs.Count == 0 ? 0 : Outputs.Max(o => o.MaxAbsDiff);

    /// <summary>One line: PASS or FAIL, the case name, then each output's comparison.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        var line = new StringBuilder();
        line.Append(Passed ? "PASS " : "FAIL ").Append(Case.Name).Append(" | ");
        line.AppendJoin("; ", Outputs.Select(o => o.ToString()));
        return line.ToString();
    }
}

/// <summary>
/// The graph checks of one model folder: <c>&lt;model-folder&gt;/references/checks.json</c>, format 1.
/// </summary>
/// <remarks>
/// <para>Each case names a graph (relative to the model folder), its inputs and the reference outputs
/// (relative to the <c>references/</c> folder), and <c>atol</c>/<c>rtol</c>:</para>
/// <code>
/// { "format": 1, "cases": [ { "name": "...", "graph": "decoder_model_merged.onnx",
///     "inputs": { "inputs_embeds": {"file": "checks/x.npy.gz"}, "pixel_values": {"crops": ["pixels/a.png"]} },
///     "outputs": { "logits": {"file": "checks/y.npy.gz"} }, "atol": 1e-4, "rtol": 1e-4 } ] }
/// </code>
/// <para>Loading checks the JSON and that every named file exists; <see cref="Run"/> feeds each input
/// converted to the element type the graph declares and compares each output with
/// <see cref="TensorComparison.Compare"/>. One <see cref="GraphSession"/> per graph file serves all cases.</para>
/// </remarks>
public sealed class GraphCheckSuite : IDisposable
{
    /// <summary>The folder, inside a model folder, that holds <c>checks.json</c> and the reference files.</summary>
    public const string ReferencesFolderName = "references";

    /// <summary>The file name of the checks.</summary>
    public const string ChecksFileName = "checks.json";

    private readonly GraphSessionCache _sessions;
    private readonly bool _ownsSessions;
    private readonly ModelConfig? _settings;

    private GraphCheckSuite(string modelFolder, string checksPath, IReadOnlyList<GraphCheckCase> cases, ModelConfig? settings, GraphSessionCache? sessions)
    {
        ModelFolder = modelFolder;
        ChecksPath = checksPath;
        Cases = cases;
        _settings = settings;
        _ownsSessions = sessions is null;
        _sessions = sessions ?? new GraphSessionCache();
    }

    /// <summary>The model folder (full path).</summary>
    public string ModelFolder { get; }

    /// <summary>The <c>checks.json</c> file (full path).</summary>
    public string ChecksPath { get; }

    /// <summary>The cases, in file order.</summary>
    public IReadOnlyList<GraphCheckCase> Cases { get; }

    /// <summary>Reads and validates <c>&lt;modelFolder&gt;/references/checks.json</c>.</summary>
    /// <param name="modelFolder">The model folder.</param>
    /// <param name="sessions">A session cache to share (not disposed by the suite); the suite makes and owns one when null.</param>
    /// <returns>The suite.</returns>
    /// <exception cref="GraphCheckException">The file is missing or malformed, or a file it names does not exist.</exception>
    public static GraphCheckSuite Load(string modelFolder, GraphSessionCache? sessions = null)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        string folder = Path.GetFullPath(modelFolder);
        if (!Directory.Exists(folder))
        {
            throw new GraphCheckException($"{modelFolder}: model folder not found.");
        }

        string references = Path.Combine(folder, ReferencesFolderName);
        string checksPath = Path.Combine(references, ChecksFileName);
        using JsonDocument document = Json.ReadFile(checksPath);
        JsonElement root = document.RootElement;
        double format = Json.Number(root, "format", checksPath);
        if (format != 1)
        {
            throw new GraphCheckException($"{checksPath}: format {format.ToString(CultureInfo.InvariantCulture)} is not supported (this reader knows format 1).");
        }

        JsonElement casesElement = Json.Required(root, "cases", checksPath);
        if (casesElement.ValueKind != JsonValueKind.Array)
        {
            throw new GraphCheckException($"{checksPath}: 'cases' should be an array.");
        }

        var cases = new List<GraphCheckCase>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonElement item in casesElement.EnumerateArray())
        {
            GraphCheckCase c = ParseCase(item, cases.Count, folder, references, checksPath);
            if (!names.Add(c.Name))
            {
                throw new GraphCheckException($"{checksPath}: two cases are named \"{c.Name}\"; names must be unique.");
            }

            cases.Add(c);
        }

        if (cases.Count == 0)
        {
            throw new GraphCheckException($"{checksPath}: 'cases' is empty.");
        }

        ModelConfig? settings = cases.Any(c => c.Inputs.Any(i => i.Crops is not null)) ? LoadSettings(folder) : null;
        return new GraphCheckSuite(folder, checksPath, cases, settings, sessions);
    }

    /// <summary>The folder's attanchor.json through the library's reader, its errors as GraphCheck's.</summary>
    private static ModelConfig LoadSettings(string folder)
    {
        try
        {
            return ModelConfig.Load(folder);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new GraphCheckException(e.Message, e);
        }
    }

    /// <summary>Runs one case: reads its inputs, runs its graph, compares each reference output.</summary>
    /// <param name="graphCase">One of <see cref="Cases"/>.</param>
    /// <returns>The comparisons.</returns>
    /// <exception cref="GraphCheckException">An input or reference cannot be read, or the graph rejects the inputs.</exception>
    public GraphCheckResult Run(GraphCheckCase graphCase)
    {
        ArgumentNullException.ThrowIfNull(graphCase);
        try
        {
            GraphSession session = _sessions.Get(graphCase.Graph);
            var inputs = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
            foreach (GraphCheckInput input in graphCase.Inputs)
            {
                if (!session.DeclaresInput(input.Name))
                {
                    throw new GraphCheckException(
                        $"input '{input.Name}' is not declared by {Path.GetFileName(graphCase.Graph)}, which declares {string.Join(", ", session.InputNames)}.");
                }

                inputs[input.Name] = input.File is not null
                    ? Npy.ReadFile(input.File)
                    : PixelValues.FromPngFiles(input.Crops!, _settings!);
            }

            var outputs = session.Run(inputs, [.. graphCase.Outputs.Select(o => o.Name)]);
            var comparisons = new List<TensorComparison>(graphCase.Outputs.Count);
            foreach (GraphCheckOutput output in graphCase.Outputs)
            {
                comparisons.Add(TensorComparison.Compare(output.Name, outputs[output.Name], Npy.ReadFile(output.File), graphCase.Atol, graphCase.Rtol));
            }

            return new GraphCheckResult(graphCase, comparisons);
        }
        catch (GraphCheckException e)
        {
            throw new GraphCheckException($"{ChecksPath}: case {graphCase.Index} \"{graphCase.Name}\": {e.Message}", e);
        }
    }

    /// <summary>Runs every case in order.</summary>
    /// <returns>The results, lazily, one per case.</returns>
    public IEnumerable<GraphCheckResult> RunAll() => Cases.Select(Run);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsSessions)
        {
            _sessions.Dispose();
        }
    }

    private static GraphCheckCase ParseCase(JsonElement item, int index, string modelFolder, string references, string checksPath)
    {
        string where = $"{checksPath}: case {index}";
        string name = Json.String(item, "name", where);
        where = $"{checksPath}: case {index} \"{name}\"";
        string graph = ExistingFile(modelFolder, Json.String(item, "graph", where), where, "graph");

        var inputs = new List<GraphCheckInput>();
        foreach (JsonProperty property in Object(item, "inputs", where).EnumerateObject())
        {
            string inputWhere = $"{where}: input '{property.Name}'";
            if (inputs.Any(i => i.Name == property.Name))
            {
                throw new GraphCheckException($"{inputWhere}: given twice.");
            }

            JsonElement? file = Json.Optional(property.Value, "file");
            JsonElement? crops = Json.Optional(property.Value, "crops");
            if (property.Value.ValueKind != JsonValueKind.Object || file.HasValue == crops.HasValue)
            {
                throw new GraphCheckException($"{inputWhere}: give exactly one of {{\"file\": ...}} or {{\"crops\": [...]}}.");
            }

            if (file.HasValue)
            {
                inputs.Add(new GraphCheckInput(property.Name, ExistingFile(references, Json.String(property.Value, "file", inputWhere), inputWhere, "file"), null));
            }
            else
            {
                if (crops!.Value.ValueKind != JsonValueKind.Array || crops.Value.GetArrayLength() == 0
                    || crops.Value.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
                {
                    throw new GraphCheckException($"{inputWhere}: 'crops' should be a non-empty array of PNG paths.");
                }

                inputs.Add(new GraphCheckInput(property.Name, null,
                    [.. crops.Value.EnumerateArray().Select(c => ExistingFile(references, c.GetString()!, inputWhere, "crop"))]));
            }
        }

        var outputs = new List<GraphCheckOutput>();
        foreach (JsonProperty property in Object(item, "outputs", where).EnumerateObject())
        {
            string outputWhere = $"{where}: output '{property.Name}'";
            if (outputs.Any(o => o.Name == property.Name))
            {
                throw new GraphCheckException($"{outputWhere}: given twice.");
            }

            outputs.Add(new GraphCheckOutput(property.Name, ExistingFile(references, Json.String(property.Value, "file", outputWhere), outputWhere, "file")));
        }

        if (outputs.Count == 0)
        {
            throw new GraphCheckException($"{where}: 'outputs' is empty; a case must compare at least one output.");
        }

        double atol = Json.Number(item, "atol", where), rtol = Json.Number(item, "rtol", where);
        if (!(atol >= 0) || !(rtol >= 0) || double.IsInfinity(atol) || double.IsInfinity(rtol))
        {
            throw new GraphCheckException($"{where}: 'atol' and 'rtol' must be finite and non-negative.");
        }

        return new GraphCheckCase(index, name, graph, inputs, outputs, atol, rtol);
    }

    private static JsonElement Object(JsonElement item, string name, string where)
    {
        JsonElement value = Json.Required(item, name, where);
        return value.ValueKind == JsonValueKind.Object
            ? value
            : throw new GraphCheckException($"{where}: '{name}' should be an object of name → {{\"file\": ...}}.");
    }

    private static string ExistingFile(string baseFolder, string relative, string where, string what)
    {
        string path = Path.GetFullPath(Path.Combine(baseFolder, relative));
        return File.Exists(path) ? path : throw new GraphCheckException($"{where}: {what} '{relative}' not found (looked for {path}).");
    }
}
