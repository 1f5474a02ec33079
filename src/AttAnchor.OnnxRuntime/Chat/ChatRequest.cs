using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// A chat request turned into what the model takes (one image, one question, <see cref="GenerationOptions"/>),
/// or refused with a message that says what the model cannot do and what to send instead.
/// </summary>
internal sealed record ChatRequest(ModelImage Image, string Question, GenerationOptions Options)
{
    /// <summary>The image media types the client decodes.</summary>
    public static readonly IReadOnlyList<string> ImageMediaTypes = ["image/png", "image/jpeg", "image/jpg", "image/bmp", "image/gif", "image/webp"];

    private const string OneTurn =
        "The model's prompt template (attanchor.json) has one user turn and a fixed system text, so the client answers exactly one user message holding the question and its image";

    /// <summary>Checks the messages and options and builds the request.</summary>
    /// <exception cref="ArgumentException">A message or option value is invalid.</exception>
    /// <exception cref="NotSupportedException">The request asks for something the model cannot do.</exception>
    public static ChatRequest Create(IEnumerable<ChatMessage> messages, ChatOptions? options, AttAnchorChatClient client)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ChatMessage message = SingleUserMessage(messages);
        var (image, question) = ReadMessage(message, client.Model.Options);
        return new ChatRequest(image, question, MapOptions(options, client));
    }

    private static ChatMessage SingleUserMessage(IEnumerable<ChatMessage> messages)
    {
        ChatMessage? user = null;
        int count = 0;
        foreach (ChatMessage message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            count++;
            if (message.Role == ChatRole.System)
            {
                throw new NotSupportedException($"A system message is not supported. {OneTurn}; put any instruction into the question.");
            }

            if (message.Role != ChatRole.User)
            {
                throw new NotSupportedException($"A message with the role '{message.Role}' is not supported: multi-turn chat is not. {OneTurn}; send only the new question, with the image again.");
            }

            user = message;
        }

        return count switch
        {
            0 => throw new ArgumentException("No messages: send one user message holding the question (TextContent) and the image (DataContent, image/png or image/jpeg).", nameof(messages)),
            1 => user!,
            _ => throw new NotSupportedException($"{count} user messages were sent. {OneTurn}; send only the last question, with its image."),
        };
    }

    private static (ModelImage Image, string Question) ReadMessage(ChatMessage message, ModelOptions options)
    {
        var text = new StringBuilder();
        DataContent? image = null;
        int images = 0;
        foreach (AIContent content in message.Contents)
        {
            switch (content)
            {
                case TextContent t:
                    text.Append(t.Text);
                    break;
                case DataContent d when d.HasTopLevelMediaType("image"):
                    if (!ImageMediaTypes.Contains(d.MediaType, StringComparer.OrdinalIgnoreCase))
                    {
                        throw new NotSupportedException($"An image of type {d.MediaType} is not supported; send PNG or JPEG (the client also decodes BMP, GIF and WebP).");
                    }

                    image = d;
                    images++;
                    break;
                case DataContent d:
                    throw new NotSupportedException($"Content of type {d.MediaType} is not supported: the model reads text and one image (image/png or image/jpeg).");
                case UriContent u:
                    throw new NotSupportedException($"An image by URI ({u.Uri}) is not supported: the client downloads nothing. Send its bytes instead, e.g. new DataContent(File.ReadAllBytes(path), \"image/png\").");
                default:
                    throw new NotSupportedException($"{content.GetType().Name} is not supported in a message: the model reads text and one image, and calls no tools.");
            }
        }

        if (images > 1)
        {
            throw new NotSupportedException($"The message holds {images} images; the model answers about one image per request. Send one DataContent image, and ask about each image in its own request.");
        }

        if (image is null)
        {
            throw new ArgumentException("The message has no image: the model answers questions about an image. Add one as DataContent, e.g. new DataContent(File.ReadAllBytes(\"photo.jpg\"), \"image/jpeg\").", "messages");
        }

        if (image.Data.Length > options.MaxImageBytes)
        {
            throw new ArgumentException($"The {image.MediaType} image is {image.Data.Length} bytes, more than ModelOptions.MaxImageBytes ({options.MaxImageBytes}): send a smaller image, or raise the limit if the image is trusted.", "messages");
        }

        ModelImage decoded;
        try
        {
            decoded = ModelImage.FromBytes(image.Data.Span, options.MaxImagePixels, options.ExifOrientation);
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"The {image.MediaType} image could not be used: {e.Message}", "messages", e);
        }

        return (decoded, text.ToString());
    }

    private static GenerationOptions MapOptions(ChatOptions? chat, AttAnchorChatClient client)
    {
        GenerationOptions options = client.DefaultOptions;
        if (chat is null)
        {
            return options;
        }

        object? raw = chat.RawRepresentationFactory?.Invoke(client);
        options = raw switch
        {
            null => options,
            GenerationOptions given => given,
            _ => throw new ArgumentException($"ChatOptions.RawRepresentationFactory returned a {raw.GetType().Name}; this client takes a GenerationOptions (or null).", nameof(chat)),
        };

        Refuse(chat.Tools is { Count: > 0 }, "Tools are not supported: the model cannot call functions. Leave ChatOptions.Tools empty.");
        Refuse(chat.ToolMode is RequiredChatToolMode, "ChatOptions.ToolMode requires a tool call, but the model cannot call functions.");
        Refuse(chat.ResponseFormat is ChatResponseFormatJson, "A JSON response format is not supported: the model writes free text. Leave ChatOptions.ResponseFormat null or Text.");
        Refuse(!string.IsNullOrEmpty(chat.Instructions), $"ChatOptions.Instructions is not supported. {OneTurn}; put any instruction into the question.");
        Refuse(chat.ConversationId is not null, "ChatOptions.ConversationId is not supported: the client keeps no conversation state; each request is one question about one image.");
        Refuse(chat.FrequencyPenalty is not null, $"ChatOptions.FrequencyPenalty is not supported; the sampler has a repetition penalty instead: AdditionalProperties[\"{AttAnchorChatClient.RepetitionPenaltyKey}\"].");
        Refuse(chat.PresencePenalty is not null, $"ChatOptions.PresencePenalty is not supported; the sampler has a repetition penalty instead: AdditionalProperties[\"{AttAnchorChatClient.RepetitionPenaltyKey}\"].");
        Refuse(chat.Reasoning is not null, "ChatOptions.Reasoning is not supported: the model does not reason in separate tokens.");
        Refuse(chat.AllowBackgroundResponses == true || chat.ContinuationToken is not null, "Background responses are not supported: the answer is generated while you wait (stream it with GetStreamingResponseAsync).");
        if (chat.ModelId is { } id && !string.Equals(id, client.Metadata.DefaultModelId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"ChatOptions.ModelId is '{id}', but this client runs the model '{client.Metadata.DefaultModelId}' ({client.Model.Folder}). Leave ModelId null, or open that model.", nameof(chat));
        }

        if (chat.Temperature is { } temperature)
        {
            Require(SamplingRanges.IsTemperature(temperature), "ChatOptions.Temperature", temperature, SamplingRanges.TemperatureRule);
            options = options with { Temperature = temperature };
        }

        if (chat.TopP is { } topP)
        {
            Require(SamplingRanges.IsTopP(topP), "ChatOptions.TopP", topP, SamplingRanges.TopPRule);
            options = options with { TopP = topP };
        }

        if (chat.TopK is { } topK)
        {
            Require(SamplingRanges.IsTopK(topK), "ChatOptions.TopK", topK, SamplingRanges.TopKRule);
            options = options with { TopK = topK };
        }

        if (chat.MaxOutputTokens is { } max)
        {
            Require(SamplingRanges.IsMaxNewTokens(max), "ChatOptions.MaxOutputTokens", max, SamplingRanges.MaxNewTokensRule);
            options = options with { MaxNewTokens = max };
        }

        if (chat.Seed is { } seed)
        {
            Require(seed is >= int.MinValue and <= int.MaxValue, "ChatOptions.Seed", seed, "must fit in 32 bits (the sampler's Random takes an int seed)");
            options = options with { Seed = (int)seed };
        }

        if (chat.StopSequences is { Count: > 0 } stops)
        {
            if (stops.Any(string.IsNullOrEmpty))
            {
                throw new ArgumentException("ChatOptions.StopSequences holds a null or empty string; remove it.", nameof(chat));
            }

            options = options with { StopStrings = [.. options.StopStrings, .. stops] };
        }

        return chat.AdditionalProperties is { Count: > 0 } properties ? MapProperties(properties, options, client) : options;
    }

    private static GenerationOptions MapProperties(AdditionalPropertiesDictionary properties, GenerationOptions options, AttAnchorChatClient client)
    {
        string[] known = [AttAnchorChatClient.AnchoringKey, AttAnchorChatClient.ThresholdKey, AttAnchorChatClient.DirectionKey, AttAnchorChatClient.CandidatesKey, AttAnchorChatClient.RepetitionPenaltyKey];
        foreach (string key in properties.Keys)
        {
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] is not a setting of this client; it knows {string.Join(", ", known.Select(k => $"\"{k}\""))}.", "chat");
            }
        }

        AttAnchorOptions? anchoring = options.Anchoring;
        if (properties.TryGetValue(AttAnchorChatClient.AnchoringKey, out object? whole))
        {
            anchoring = whole switch
            {
                AttAnchorOptions given => given,
                _ when Text(whole) is { } s && s.Equals("off", StringComparison.OrdinalIgnoreCase) => AttAnchorOptions.Off,
                _ when Text(whole) is { } s && s.Equals("default", StringComparison.OrdinalIgnoreCase) => null,
                _ => throw Invalid(AttAnchorChatClient.AnchoringKey, whole, "an AttAnchorOptions, \"off\" or \"default\""),
            };
        }

        if (properties.TryGetValue(AttAnchorChatClient.ThresholdKey, out object? threshold))
        {
            float tau = Number(threshold) is { } value && !double.IsNaN(value)
                ? (float)value
                : throw Invalid(AttAnchorChatClient.ThresholdKey, threshold, "a number (τ; 1 or more inserts nothing)");
            anchoring = (anchoring ?? client.Model.Config.Anchoring) with { Threshold = tau, Enabled = true };
        }

        if (properties.TryGetValue(AttAnchorChatClient.DirectionKey, out object? direction))
        {
            AnchorDirection value = direction is AnchorDirection given && Enum.IsDefined(given) ? given
                : AttAnchorOptions.TryParseDirection(Text(direction), out AnchorDirection named) ? named
                : throw Invalid(AttAnchorChatClient.DirectionKey, direction, "AnchorDirection.TextIntoImage or AnchorDirection.ImageIntoText, or \"text-into-image\" or \"image-into-text\"");
            anchoring = (anchoring ?? client.Model.Config.Anchoring) with { Direction = value };
        }

        if (properties.TryGetValue(AttAnchorChatClient.CandidatesKey, out object? candidates))
        {
            AnchorCandidates value = Choice(AttAnchorChatClient.CandidatesKey, candidates, ("all-text", AnchorCandidates.AllText), ("question-only", AnchorCandidates.QuestionOnly));
            anchoring = (anchoring ?? client.Model.Config.Anchoring) with { Candidates = value };
        }

        if (properties.TryGetValue(AttAnchorChatClient.RepetitionPenaltyKey, out object? penalty))
        {
            float value = Number(penalty) is { } p && SamplingRanges.IsRepetitionPenalty(p)
                ? (float)p
                : throw Invalid(AttAnchorChatClient.RepetitionPenaltyKey, penalty, "a positive finite number (1 is off)");
            options = options with { RepetitionPenalty = value };
        }

        return options with { Anchoring = anchoring };
    }

    /// <summary>An enum value given as itself or by name: <c>image-into-text</c>, <c>image_into_text</c> or <c>ImageIntoText</c>.</summary>
    private static T Choice<T>(string key, object? value, params (string Name, T Value)[] choices)
        where T : struct, Enum
    {
        if (value is T given && Enum.IsDefined(given))
        {
            return given;
        }

        string? text = Text(value)?.Replace("_", "-", StringComparison.Ordinal);
        foreach (var (name, choice) in choices)
        {
            if (string.Equals(text, name, StringComparison.OrdinalIgnoreCase) || string.Equals(text, choice.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                return choice;
            }
        }

        throw Invalid(key, value, $"{string.Join(" or ", choices.Select(c => $"{typeof(T).Name}.{c.Value}"))}, or {string.Join(" or ", choices.Select(c => $"\"{c.Name}\""))}");
    }

    private static void Refuse(bool condition, string message)
    {
        if (condition)
        {
            throw new NotSupportedException(message);
        }
    }

    private static void Require(bool condition, string name, object value, string rule)
    {
        if (!condition)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is {Convert.ToString(value, CultureInfo.InvariantCulture)}; it {rule}.");
        }
    }

    private static ArgumentException Invalid(string key, object? value, string expected) =>
        new($"ChatOptions.AdditionalProperties[\"{key}\"] is {Describe(value)}; it takes {expected}.", "chat");

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        JsonElement e => $"the JSON {e.GetRawText()}",
        _ => $"{Convert.ToString(value, CultureInfo.InvariantCulture)} ({value.GetType().Name})",
    };

    /// <summary>A number given as a .NET number, a string or a JSON element (options read from JSON hold those).</summary>
    private static double? Number(object? value) => value switch
    {
        float f => f,
        double d => d,
        decimal m => (double)m,
        int i => i,
        long l => l,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        JsonElement { ValueKind: JsonValueKind.String } e => Number(e.GetString()),
        _ => null,
    };

    private static string? Text(object? value) => value switch
    {
        string s => s.Trim(),
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()?.Trim(),
        _ => null,
    };
}
