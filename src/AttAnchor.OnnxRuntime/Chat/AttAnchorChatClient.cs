using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// A <see cref="IChatClient"/> (Microsoft.Extensions.AI) over a <see cref="VisionLanguageModel"/>: one user
/// message with a question and one image in, the answer out, whole or streamed.
/// </summary>
/// <remarks>
/// A request is exactly one user message with a question (<see cref="TextContent"/>) and one image
/// (<see cref="DataContent"/>); what the model's one-turn prompt cannot carry (system messages, earlier turns, a
/// second image, images by URI, tools) is refused with a <see cref="NotSupportedException"/>, and an invalid message
/// or option, an unknown additional property among them, with an <see cref="ArgumentException"/>. AttAnchor's
/// settings go in <see cref="ChatOptions.AdditionalProperties"/> under <see cref="AnchoringKey"/> and its siblings.
/// The client is safe to use from several threads at once. See docs/chat-client.md.
/// </remarks>
/// <example>
/// <code>
/// using IChatClient client = AttAnchorChatClient.Open("models/shapes/attanchor");
/// var question = new ChatMessage(ChatRole.User,
///     [new TextContent("What color is the circle?"), new DataContent(File.ReadAllBytes("models/shapes/example.png"), "image/png")]);
/// ChatResponse response = await client.GetResponseAsync(question);
/// Console.WriteLine($"{response.Text} ({response.FinishReason}, {response.Usage?.InputTokenCount} in, {response.Usage?.OutputTokenCount} out)");
/// // Red. (stop, 66 in, 3 out)
/// </code>
/// </example>
public sealed class AttAnchorChatClient : IChatClient
{
    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for the whole AttAnchor settings: an <see cref="AttAnchorOptions"/>, or <c>"off"</c> (the plain LLaVA sequence) or <c>"default"</c> (the model's <c>attanchor.json</c>).</summary>
    public const string AnchoringKey = "attanchor";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for AttAnchor's threshold τ (a number; 1 or more inserts nothing).</summary>
    public const string ThresholdKey = "attanchor_threshold";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for AttAnchor's direction: an <see cref="AnchorDirection"/>, or <c>"text-into-image"</c> or <c>"image-into-text"</c>.</summary>
    public const string DirectionKey = "attanchor_direction";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for which text tokens may anchor: an <see cref="AnchorCandidates"/>, or <c>"all-text"</c> or <c>"question-only"</c>.</summary>
    public const string CandidatesKey = "attanchor_candidates";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for the sampler's repetition penalty (a positive number; 1 is off).</summary>
    public const string RepetitionPenaltyKey = "repetition_penalty";

    private readonly bool _ownsModel;
    private int _disposed;

    /// <summary>Creates a client over an open model; disposing the client leaves the model open.</summary>
    /// <param name="model">The model.</param>
    /// <param name="defaultOptions">What a request without <see cref="ChatOptions"/> gets; <see cref="GenerationOptions.Default"/> when null.</param>
    public AttAnchorChatClient(VisionLanguageModel model, GenerationOptions? defaultOptions = null)
        : this(model, defaultOptions, ownsModel: false)
    {
    }

    private AttAnchorChatClient(VisionLanguageModel model, GenerationOptions? defaultOptions, bool ownsModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        DefaultOptions = defaultOptions ?? GenerationOptions.Default;
        _ownsModel = ownsModel;
        string full = Path.GetFullPath(model.Folder);
        Metadata = new ChatClientMetadata("AttAnchor.OnnxRuntime", new Uri(full), Path.GetFileName(Path.TrimEndingDirectorySeparator(full)));
    }

    /// <summary>The model the client answers with.</summary>
    public VisionLanguageModel Model { get; }

    /// <summary>What a request without <see cref="ChatOptions"/> gets; the request's options are applied on top.</summary>
    public GenerationOptions DefaultOptions { get; }

    /// <summary>The provider (<c>AttAnchor.OnnxRuntime</c>), the model folder as a file URI, and the model id: the folder's name.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>Opens a model folder and returns a client that owns it: disposing the client disposes the model.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="modelOptions">Device, threads, logging; <see cref="ModelOptions.Default"/> when null.</param>
    /// <param name="defaultOptions">What a request without <see cref="ChatOptions"/> gets; <see cref="GenerationOptions.Default"/> when null.</param>
    /// <returns>The client.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A required file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is invalid or disagrees with <c>attanchor.json</c>.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for and cannot load, or no native ONNX Runtime is present.</exception>
    public static AttAnchorChatClient Open(string folder, ModelOptions? modelOptions = null, GenerationOptions? defaultOptions = null)
    {
        VisionLanguageModel model = VisionLanguageModel.Open(folder, modelOptions);
        return new AttAnchorChatClient(model, defaultOptions, ownsModel: true);
    }

    /// <summary>Answers one question about one image.</summary>
    /// <param name="messages">One user message with the question and the image.</param>
    /// <param name="options">Sampling, length, stop sequences, and AttAnchor settings in <see cref="ChatOptions.AdditionalProperties"/>.</param>
    /// <param name="cancellationToken">Cancels the answer within one decode step.</param>
    /// <returns>The answer, its usage counts and finish reason; <see cref="ChatResponse.RawRepresentation"/> is the <see cref="VqaResult"/>.</returns>
    /// <exception cref="ArgumentException">A message or option is invalid (no image, an undecodable image, an out-of-range value, an unknown additional property).</exception>
    /// <exception cref="NotSupportedException">The request asks for what the model cannot do: see the remarks of <see cref="AttAnchorChatClient"/>.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        AnswerStream answer = Start(messages, options);
        DateTimeOffset created = DateTimeOffset.UtcNow;
        await foreach (string _ in answer.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
        }

        VqaResult result = answer.Result;
        string id = NewId();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text) { MessageId = id, RawRepresentation = result })
        {
            ResponseId = id,
            ModelId = Metadata.DefaultModelId,
            CreatedAt = created,
            FinishReason = FinishReason(result),
            Usage = Usage(result),
            RawRepresentation = result,
        };
    }

    /// <summary>Answers one question about one image, streaming the text as it is generated.</summary>
    /// <param name="messages">One user message with the question and the image.</param>
    /// <param name="options">Sampling, length, stop sequences, and AttAnchor settings in <see cref="ChatOptions.AdditionalProperties"/>.</param>
    /// <param name="cancellationToken">Cancels the answer within one decode step.</param>
    /// <returns>One update per text piece, then one with the usage counts (<see cref="UsageContent"/>), the finish reason and the <see cref="VqaResult"/> as its raw representation.</returns>
    /// <exception cref="ArgumentException">A message or option is invalid; thrown by this call, before anything is enumerated.</exception>
    /// <exception cref="NotSupportedException">The request asks for what the model cannot do; thrown by this call.</exception>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Stream(Start(messages, options), cancellationToken);

    /// <summary>
    /// This client for <see cref="AttAnchorChatClient"/> or <see cref="IChatClient"/>, its <see cref="Metadata"/> for
    /// <see cref="ChatClientMetadata"/>, its <see cref="Model"/> for <see cref="VisionLanguageModel"/>; null otherwise or with a key.
    /// </summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">Must be null: the client has no keyed services.</param>
    /// <returns>The service, or null.</returns>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? Metadata
            : serviceType == typeof(VisionLanguageModel) ? Model
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Disposes the model when the client opened it (<see cref="Open"/>); otherwise does nothing to it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsModel)
        {
            Model.Dispose();
        }
    }

    private AnswerStream Start(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ChatRequest request = ChatRequest.Create(messages, options, this);
        return Model.Answer(request.Image, request.Question, request.Options);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> Stream(AnswerStream answer, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string id = NewId();
        DateTimeOffset created = DateTimeOffset.UtcNow;
        await foreach (string piece in answer.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return Update(new ChatResponseUpdate(ChatRole.Assistant, piece));
        }

        VqaResult result = answer.Result;
        ChatResponseUpdate last = Update(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(result))]));
        last.FinishReason = FinishReason(result);
        last.RawRepresentation = result;
        yield return last;

        ChatResponseUpdate Update(ChatResponseUpdate update)
        {
            update.ResponseId = id;
            update.MessageId = id;
            update.CreatedAt = created;
            update.ModelId = Metadata.DefaultModelId;
            return update;
        }
    }

    private static ChatFinishReason FinishReason(VqaResult result) =>
        result.StopReason == StopReason.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop;

    private UsageDetails Usage(VqaResult result) => new()
    {
        InputTokenCount = result.SequenceLength,
        OutputTokenCount = result.TokenIds.Count,
        TotalTokenCount = result.SequenceLength + result.TokenIds.Count,
        AdditionalCounts = new AdditionalPropertiesDictionary<long>
        {
            ["TextTokenCount"] = result.PromptTokenCount,
            ["ImageTokenCount"] = Model.Config.NumImageTokens,
            ["AttAnchorCopyCount"] = result.Anchors.Count,
        },
    };

    private static string NewId() => $"attanchor-{Guid.NewGuid():N}";
}
