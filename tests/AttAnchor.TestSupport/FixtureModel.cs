using System.Collections.Concurrent;
using AttAnchor.GraphCheck;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.TestSupport;

/// <summary>
/// One fixture model folder opened for the tests through GraphCheck (independently of the library): its
/// settings, references, tokenizer and ONNX Runtime sessions. Thread-safe; shared through <see cref="Fixtures.Get"/>.
/// </summary>
public sealed class FixtureModel
{
    private readonly Lazy<ReferenceDocument> _references;
    private readonly Lazy<GraphCheckSuite> _checks;
    private readonly Lazy<SentencePieceBpe> _tokenizer;

    /// <summary>Opens the folder's settings; graphs and references are opened on first use.</summary>
    public FixtureModel(string name, string folder)
    {
        Name = name;
        Folder = folder;
        ReferencesFolder = Path.Combine(folder, GraphCheckSuite.ReferencesFolderName);
        Settings = ModelConfig.Load(folder);
        _references = new Lazy<ReferenceDocument>(() => ReferenceDocument.Load(Path.Combine(ReferencesFolder, "references.json")));
        _checks = new Lazy<GraphCheckSuite>(() => GraphCheckSuite.Load(Folder, Sessions));
        _tokenizer = new Lazy<SentencePieceBpe>(() => SentencePieceBpe.Open(Path.Combine(Folder, "tokenizer.model")));
    }

    /// <summary>The fixture's folder name, e.g. <c>tiny-336-gqa</c>.</summary>
    public string Name { get; }

    /// <summary>The model folder.</summary>
    public string Folder { get; }

    /// <summary>The <c>references/</c> folder.</summary>
    public string ReferencesFolder { get; }

    /// <summary><c>attanchor.json</c>.</summary>
    public ModelConfig Settings { get; }

    /// <summary>The sessions of this folder's graphs, shared by the graph checks and the pipeline. Never disposed: they live for the test run.</summary>
    public GraphSessionCache Sessions { get; } = new();

    /// <summary><c>references/references.json</c>.</summary>
    public ReferenceDocument References => _references.Value;

    /// <summary><c>references/checks.json</c>, run on <see cref="Sessions"/>.</summary>
    public GraphCheckSuite Checks => _checks.Value;

    /// <summary>The folder's <c>tokenizer.model</c> (the library's SentencePiece encoder; the tests hold it to Python sentencepiece's ids).</summary>
    internal SentencePieceBpe Tokenizer => _tokenizer.Value;

    /// <summary>The session for a graph file of the folder.</summary>
    public GraphSession Graph(string fileName) => Sessions.Get(Path.Combine(Folder, fileName));
}
