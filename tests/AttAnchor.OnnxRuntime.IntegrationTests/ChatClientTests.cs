using System.Text.Json;
using AttAnchor.OnnxRuntime;
using Microsoft.Extensions.AI;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// The Microsoft.Extensions.AI client over the shapes model: answers equal the library's own, options map to
/// <see cref="GenerationOptions"/>, usage counts and finish reasons are filled in, and what the model cannot do
/// is refused with a message that says so.
/// </summary>
public sealed class ChatClientTests
{
    private const string Question = "What color is the circle?";

    private static VisionLanguageModel Model => ShapesModel.Get(ShapesModel.AttAnchorTrained);

    private static byte[] ExamplePng => File.ReadAllBytes(ShapesModel.ExampleImage);

    private static ChatMessage Ask(string question = Question) =>
        new(ChatRole.User, [new TextContent(question), new DataContent(ExamplePng, "image/png")]);

    private static Task<VqaResult> Direct(GenerationOptions? options = null, string question = Question) =>
        Model.AnswerAsync(Model.LoadImage(ShapesModel.ExampleImage), question, options);

    [Fact]
    public async Task GetResponseAsync_AnswersAsTheLibraryDoes_WithUsageAndFinishReason()
    {
        using IChatClient client = Model.AsIChatClient();
        ChatResponse response = await client.GetResponseAsync(Ask());
        VqaResult direct = await Direct();

        Assert.Equal("Red.", response.Text);
        Assert.Equal(direct.Text, response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("attanchor", response.ModelId);
        Assert.StartsWith("attanchor-", response.ResponseId, StringComparison.Ordinal);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);

        UsageDetails usage = Assert.IsType<UsageDetails>(response.Usage);
        Assert.Equal(direct.SequenceLength, usage.InputTokenCount);
        Assert.Equal(direct.TokenIds.Count, usage.OutputTokenCount);
        Assert.Equal(direct.SequenceLength + direct.TokenIds.Count, usage.TotalTokenCount);
        Assert.Equal(direct.PromptTokenCount, usage.AdditionalCounts!["TextTokenCount"]);
        Assert.Equal(Model.Config.NumImageTokens, usage.AdditionalCounts["ImageTokenCount"]);
        Assert.Equal(direct.Anchors.Count, usage.AdditionalCounts["AttAnchorCopyCount"]);
        Assert.True(direct.Anchors.Count > 0, "the README example anchors words at the model's τ");
        Assert.Equal(usage.InputTokenCount, usage.AdditionalCounts["TextTokenCount"] + usage.AdditionalCounts["ImageTokenCount"] + usage.AdditionalCounts["AttAnchorCopyCount"]);

        VqaResult raw = Assert.IsType<VqaResult>(response.RawRepresentation);
        Assert.Equal(direct.TokenIds, raw.TokenIds);
        Assert.Equal(direct.Anchors, raw.Anchors);
    }

    [Theory]
    [MemberData(nameof(ShapesModelTests.ExampleQuestions), MemberType = typeof(ShapesModelTests))]
    public async Task EveryExampleQuestion_StreamsTheLibrarysAnswer(string category, string question, string answer)
    {
        using IChatClient client = Model.AsIChatClient();
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Ask(question)))
        {
            updates.Add(update);
        }

        VqaResult direct = await Direct(question: question);
        Assert.Equal(direct.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.True(string.Concat(updates.Select(u => u.Text)).StartsWith(answer, StringComparison.OrdinalIgnoreCase), $"{category}: '{question}' should be answered '{answer}'");
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));

        ChatResponseUpdate last = updates[^1];
        Assert.Equal(ChatFinishReason.Stop, last.FinishReason);
        Assert.IsType<VqaResult>(last.RawRepresentation);
        UsageContent usage = Assert.IsType<UsageContent>(Assert.Single(last.Contents));
        Assert.Equal(direct.SequenceLength, usage.Details.InputTokenCount);
        Assert.Equal(direct.TokenIds.Count, usage.Details.OutputTokenCount);
        Assert.All(updates.SkipLast(1), u => Assert.Null(u.FinishReason));

        ChatResponse combined = updates.ToChatResponse();
        Assert.Equal(direct.Text, combined.Text);
        Assert.Equal(direct.TokenIds.Count, combined.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task StreamingPieces_ArriveOneUpdateEach()
    {
        using IChatClient client = Model.AsIChatClient();
        List<ChatResponseUpdate> updates = [];
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Ask(), new ChatOptions { MaxOutputTokens = 12, AdditionalProperties = new() { ["attanchor_threshold"] = 1.0 } }))
        {
            updates.Add(update);
        }

        var pieces = new List<string>();
        await foreach (string piece in Model.Answer(Model.LoadImage(ShapesModel.ExampleImage), Question, new GenerationOptions { MaxNewTokens = 12, Anchoring = AttAnchorOptions.Off }))
        {
            pieces.Add(piece);
        }

        Assert.Equal(pieces, updates.SkipLast(1).Select(u => u.Text));
        Assert.True(pieces.Count >= 2, "the answer streams in more than one piece");
    }

    public static TheoryData<string, ChatOptions, GenerationOptions> MappedOptions => new()
    {
        { "max output tokens", new ChatOptions { MaxOutputTokens = 2 }, new GenerationOptions { MaxNewTokens = 2 } },
        { "stop sequence", new ChatOptions { StopSequences = ["."] }, new GenerationOptions { StopStrings = ["."] } },
        { "sampling", new ChatOptions { Temperature = 5f, TopK = 50, TopP = 0.95f, Seed = 7, MaxOutputTokens = 8 }, new GenerationOptions { Temperature = 5f, TopK = 50, TopP = 0.95f, Seed = 7, MaxNewTokens = 8 } },
        { "sampling, another seed", new ChatOptions { Temperature = 5f, Seed = 12345, MaxOutputTokens = 8 }, new GenerationOptions { Temperature = 5f, Seed = 12345, MaxNewTokens = 8 } },
        { "τ = 1", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.ThresholdKey] = 1.0 } }, new GenerationOptions { Anchoring = Model.Config.Anchoring with { Threshold = 1f } } },
        { "τ as a string", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.ThresholdKey] = "0.05" } }, new GenerationOptions { Anchoring = Model.Config.Anchoring with { Threshold = 0.05f } } },
        { "τ as JSON", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.ThresholdKey] = JsonDocument.Parse("0.1").RootElement } }, new GenerationOptions { Anchoring = Model.Config.Anchoring with { Threshold = 0.1f } } },
        { "off", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.AnchoringKey] = "off" } }, new GenerationOptions { Anchoring = AttAnchorOptions.Off } },
        { "whole options", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.AnchoringKey] = new AttAnchorOptions { Threshold = 0.08f, Direction = AnchorDirection.ImageIntoText } } }, new GenerationOptions { Anchoring = new AttAnchorOptions { Threshold = 0.08f, Direction = AnchorDirection.ImageIntoText } } },
        { "direction as text", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.DirectionKey] = "image-into-text" } }, new GenerationOptions { Anchoring = Model.Config.Anchoring with { Direction = AnchorDirection.ImageIntoText } } },
        { "direction as a JSON enum name", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.DirectionKey] = JsonDocument.Parse("\"ImageIntoText\"").RootElement, [AttAnchorChatClient.ThresholdKey] = 0.1 } }, new GenerationOptions { Anchoring = Model.Config.Anchoring with { Direction = AnchorDirection.ImageIntoText, Threshold = 0.1f } } },
        { "candidates with an underscore", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.CandidatesKey] = "question_only" } }, new GenerationOptions { Anchoring = Model.Config.Anchoring with { Candidates = AnchorCandidates.QuestionOnly } } },
        { "question-only candidates", new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.CandidatesKey] = AnchorCandidates.QuestionOnly, [AttAnchorChatClient.ThresholdKey] = 0.1f } }, new GenerationOptions { Anchoring = Model.Config.Anchoring with { Candidates = AnchorCandidates.QuestionOnly, Threshold = 0.1f } } },
        { "repetition penalty", new ChatOptions { MaxOutputTokens = 10, AdditionalProperties = new() { [AttAnchorChatClient.RepetitionPenaltyKey] = 3.0 } }, new GenerationOptions { MaxNewTokens = 10, RepetitionPenalty = 3f } },
        { "raw representation", new ChatOptions { RawRepresentationFactory = _ => new GenerationOptions { MaxNewTokens = 1 } }, new GenerationOptions { MaxNewTokens = 1 } },
        { "raw representation, then chat options", new ChatOptions { RawRepresentationFactory = _ => new GenerationOptions { MaxNewTokens = 1, Anchoring = AttAnchorOptions.Off }, MaxOutputTokens = 3 }, new GenerationOptions { MaxNewTokens = 3, Anchoring = AttAnchorOptions.Off } },
    };

    [Theory]
    [MemberData(nameof(MappedOptions))]
    public async Task ChatOptions_GiveTheSameAnswerAsTheGenerationOptionsTheyMapTo(string name, ChatOptions options, GenerationOptions expected)
    {
        using IChatClient client = Model.AsIChatClient();
        ChatResponse response = await client.GetResponseAsync(Ask(), options);
        VqaResult direct = await Direct(expected);

        VqaResult raw = Assert.IsType<VqaResult>(response.RawRepresentation);
        Assert.True(direct.TokenIds.SequenceEqual(raw.TokenIds), name);
        Assert.Equal(direct.Text, response.Text);
        Assert.Equal(direct.Anchors, raw.Anchors);
        Assert.Equal(direct.Anchoring, raw.Anchoring);
        Assert.Equal(direct.StopReason == StopReason.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task Sampling_ReachesTheSampler_AndTheSeedRepeatsIt()
    {
        using IChatClient client = Model.AsIChatClient();
        string greedy = (await client.GetResponseAsync(Ask())).Text;
        var sampled = new List<string>();
        for (int seed = 1; seed <= 4; seed++)
        {
            var options = new ChatOptions { Temperature = 5f, Seed = seed, MaxOutputTokens = 8 };
            string first = (await client.GetResponseAsync(Ask(), options)).Text;
            Assert.Equal(first, (await client.GetResponseAsync(Ask(), options)).Text);
            sampled.Add(first);
        }

        Assert.Contains(sampled, s => s != greedy);
    }

    [Fact]
    public async Task MaxOutputTokens_EndsWithLength_AndAStopSequenceWithStop()
    {
        using IChatClient client = Model.AsIChatClient();
        ChatResponse cut = await client.GetResponseAsync(Ask(), new ChatOptions { MaxOutputTokens = 1 });
        Assert.Equal(ChatFinishReason.Length, cut.FinishReason);
        Assert.Equal(1, cut.Usage?.OutputTokenCount);

        ChatResponse stopped = await client.GetResponseAsync(Ask(), new ChatOptions { StopSequences = ["."] });
        Assert.Equal("Red", stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(StopReason.StopString, Assert.IsType<VqaResult>(stopped.RawRepresentation).StopReason);
    }

    [Fact]
    public async Task ClientDefaults_ApplyUnderTheRequestsOptions()
    {
        using IChatClient client = Model.AsIChatClient(new GenerationOptions { MaxNewTokens = 1 });
        Assert.Equal(1, (await client.GetResponseAsync(Ask())).Usage?.OutputTokenCount);
        Assert.Equal(3, (await client.GetResponseAsync(Ask(), new ChatOptions { MaxOutputTokens = 10 })).Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task AJpegImage_IsAnsweredToo()
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(ExamplePng);
        using SkiaSharp.SKData jpeg = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 95);
        using IChatClient client = Model.AsIChatClient();
        ChatResponse response = await client.GetResponseAsync(new ChatMessage(ChatRole.User, [new DataContent(jpeg.ToArray(), "image/jpeg"), new TextContent(Question)]));
        Assert.Equal("Red.", response.Text);
    }

    public static TheoryData<string, Func<IList<ChatMessage>>, ChatOptions?, Type, string> Refused
    {
        get
        {
            byte[] png = ExamplePng;
            ChatMessage Good() => new(ChatRole.User, [new TextContent(Question), new DataContent(png, "image/png")]);
            var refused = new TheoryData<string, Func<IList<ChatMessage>>, ChatOptions?, Type, string>
            {
                { "no messages", () => [], null, typeof(ArgumentException), "No messages" },
                { "system message", () => [new(ChatRole.System, "Be brief."), Good()], null, typeof(NotSupportedException), "system message" },
                { "earlier turn", () => [Good(), new(ChatRole.Assistant, "Red."), Good()], null, typeof(NotSupportedException), "multi-turn" },
                { "two user messages", () => [Good(), Good()], null, typeof(NotSupportedException), "2 user messages" },
                { "tool result", () => [new(ChatRole.Tool, "42")], null, typeof(NotSupportedException), "role 'tool'" },
                { "no image", () => [new(ChatRole.User, Question)], null, typeof(ArgumentException), "no image" },
                { "two images", () => [new(ChatRole.User, [new TextContent(Question), new DataContent(png, "image/png"), new DataContent(png, "image/png")])], null, typeof(NotSupportedException), "2 images" },
                { "image by URI", () => [new(ChatRole.User, [new TextContent(Question), new UriContent("https://example.com/a.png", "image/png")])], null, typeof(NotSupportedException), "by URI" },
                { "audio", () => [new(ChatRole.User, [new TextContent(Question), new DataContent(png, "image/png"), new DataContent(new byte[] { 1, 2 }, "audio/wav")])], null, typeof(NotSupportedException), "audio/wav" },
                { "TIFF", () => [new(ChatRole.User, [new TextContent(Question), new DataContent(png, "image/tiff")])], null, typeof(NotSupportedException), "image/tiff" },
                { "function call", () => [new(ChatRole.User, [new TextContent(Question), new DataContent(png, "image/png"), new FunctionCallContent("1", "f")])], null, typeof(NotSupportedException), "FunctionCallContent" },
                { "not an image", () => [new(ChatRole.User, [new TextContent(Question), new DataContent(new byte[] { 1, 2, 3, 4 }, "image/png")])], null, typeof(ArgumentException), "could not be used" },
                { "empty question", () => [new(ChatRole.User, [new DataContent(png, "image/png")])], null, typeof(ArgumentException), "question is empty" },
                { "tools", () => [Good()], new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] }, typeof(NotSupportedException), "Tools are not supported" },
                { "required tool", () => [Good()], new ChatOptions { ToolMode = ChatToolMode.RequireAny }, typeof(NotSupportedException), "ToolMode" },
                { "JSON output", () => [Good()], new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, typeof(NotSupportedException), "JSON" },
                { "instructions", () => [Good()], new ChatOptions { Instructions = "Be brief." }, typeof(NotSupportedException), "Instructions" },
                { "conversation id", () => [Good()], new ChatOptions { ConversationId = "c1" }, typeof(NotSupportedException), "ConversationId" },
                { "frequency penalty", () => [Good()], new ChatOptions { FrequencyPenalty = 0.5f }, typeof(NotSupportedException), "repetition_penalty" },
                { "presence penalty", () => [Good()], new ChatOptions { PresencePenalty = 0.5f }, typeof(NotSupportedException), "PresencePenalty" },
                { "another model", () => [Good()], new ChatOptions { ModelId = "gpt-4o" }, typeof(ArgumentException), "'gpt-4o'" },
                { "top-p 0", () => [Good()], new ChatOptions { TopP = 0 }, typeof(ArgumentOutOfRangeException), "ChatOptions.TopP is 0" },
                { "negative temperature", () => [Good()], new ChatOptions { Temperature = -1 }, typeof(ArgumentOutOfRangeException), "ChatOptions.Temperature is -1" },
                { "negative top-k", () => [Good()], new ChatOptions { TopK = -3 }, typeof(ArgumentOutOfRangeException), "ChatOptions.TopK" },
                { "no output tokens", () => [Good()], new ChatOptions { MaxOutputTokens = 0 }, typeof(ArgumentOutOfRangeException), "ChatOptions.MaxOutputTokens is 0" },
                { "64-bit seed", () => [Good()], new ChatOptions { Seed = 1L << 40 }, typeof(ArgumentOutOfRangeException), "32 bits" },
                { "empty stop sequence", () => [Good()], new ChatOptions { StopSequences = [""] }, typeof(ArgumentException), "StopSequences" },
                { "too many tokens", () => [Good()], new ChatOptions { MaxOutputTokens = 10_000 }, typeof(ArgumentException), "new tokens fit" },
                { "unknown property", () => [Good()], new ChatOptions { AdditionalProperties = new() { ["attanchor_tau"] = 0.1 } }, typeof(ArgumentException), "\"attanchor_tau\"" },
                { "bad threshold", () => [Good()], new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.ThresholdKey] = "high" } }, typeof(ArgumentException), "\"high\"" },
                { "bad direction", () => [Good()], new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.DirectionKey] = "sideways" } }, typeof(ArgumentException), "image-into-text" },
                { "bad candidates", () => [Good()], new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.CandidatesKey] = 3 } }, typeof(ArgumentException), "question-only" },
                { "bad anchoring", () => [Good()], new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.AnchoringKey] = 0.3 } }, typeof(ArgumentException), "\"off\"" },
                { "zero repetition penalty", () => [Good()], new ChatOptions { AdditionalProperties = new() { [AttAnchorChatClient.RepetitionPenaltyKey] = 0 } }, typeof(ArgumentException), "positive" },
                { "wrong raw representation", () => [Good()], new ChatOptions { RawRepresentationFactory = _ => "greedy" }, typeof(ArgumentException), "GenerationOptions" },
                { "background", () => [Good()], new ChatOptions { AllowBackgroundResponses = true }, typeof(NotSupportedException), "Background" },
            };
            return refused;
        }
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task WhatTheModelCannotDo_IsRefusedWithAClearMessage(string name, Func<IList<ChatMessage>> messages, ChatOptions? options, Type exception, string says)
    {
        using IChatClient client = Model.AsIChatClient();
        Exception whole = await Assert.ThrowsAnyAsync<Exception>(() => client.GetResponseAsync(messages(), options));
        Assert.IsType(exception, whole);
        Assert.Contains(says, whole.Message, StringComparison.OrdinalIgnoreCase);

        // Streaming refuses at the call, before anything is enumerated.
        Exception streamed = Assert.ThrowsAny<Exception>(() => client.GetStreamingResponseAsync(messages(), options));
        Assert.True(exception == streamed.GetType(), name);
        Assert.Equal(whole.Message, streamed.Message);
    }

    [Fact]
    public async Task GetService_ReturnsMetadataModelAndClient()
    {
        using var client = new AttAnchorChatClient(Model);
        ChatClientMetadata metadata = Assert.IsType<ChatClientMetadata>(client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("AttAnchor.OnnxRuntime", metadata.ProviderName);
        Assert.Equal("attanchor", metadata.DefaultModelId);
        Assert.Equal(Path.GetFullPath(Model.Folder), metadata.ProviderUri!.LocalPath);
        Assert.Same(Model, client.GetService(typeof(VisionLanguageModel)));
        Assert.Same(client, client.GetService(typeof(IChatClient)));
        Assert.Same(client, client.GetService<AttAnchorChatClient>());
        Assert.Null(client.GetService(typeof(ChatClientMetadata), "key"));
        Assert.Null(client.GetService(typeof(string)));
        Assert.Equal(metadata.DefaultModelId, (await client.GetResponseAsync(Ask(), new ChatOptions { ModelId = "attanchor", MaxOutputTokens = 1 })).ModelId);
    }

    [Fact]
    public async Task Open_OwnsTheModel_AsIChatClientDoesNot()
    {
        AttAnchorChatClient owning = AttAnchorChatClient.Open(ShapesModel.ModelFolder(ShapesModel.AttAnchorTrained), Pipelines.Cpu);
        Assert.Equal("Red.", (await owning.GetResponseAsync(Ask())).Text);
        owning.Dispose();
        Assert.Throws<ObjectDisposedException>(() => owning.Model.Answer(owning.Model.LoadImage(ShapesModel.ExampleImage), Question));
        Assert.Throws<ObjectDisposedException>(() => owning.GetStreamingResponseAsync(Ask()));

        using (IChatClient borrowed = Model.AsIChatClient())
        {
            await borrowed.GetResponseAsync(Ask(), new ChatOptions { MaxOutputTokens = 1 });
        }

        Assert.Equal("Red.", (await Direct()).Text);
    }

    [Fact]
    public async Task Cancellation_StopsTheAnswer()
    {
        using IChatClient client = Model.AsIChatClient();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Ask(), cancellationToken: cancelled.Token));
    }
}
