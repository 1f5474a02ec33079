using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime;

/// <summary>The prompt's rows for the decoder.</summary>
/// <param name="Rows">[(P + N) × D]: the <c>embed_tokens</c> rows of the prefix tokens, then of the text tokens.</param>
/// <param name="Time">The time <c>embed_tokens</c> took.</param>
internal sealed record PromptRows(float[] Rows, TimeSpan Time);

/// <summary>
/// The text stage: a question → the prompt's token ids, split at <c>&lt;image&gt;</c> with the question's range
/// (encoded once, and checked against the context) → the <c>embed_tokens</c> rows of those ids.
/// </summary>
internal sealed class PromptEncoder(PromptTokenizer tokenizer, ModelGraphs graphs, ModelConfig config)
{
    /// <summary>The tokenizer.</summary>
    public PromptTokenizer Tokenizer => tokenizer;

    /// <summary>Encodes a question; throws when it is empty, holds <c>&lt;image&gt;</c>, or its plain sequence and the answer would pass the context.</summary>
    public Prompt Encode(string question, int maxNewTokens)
    {
        Prompt prompt = tokenizer.Build(PromptTokenizer.CheckQuestion(question));
        RequireFits(config, prompt, prompt.TokenCount + config.NumImageTokens, 0, maxNewTokens);
        return prompt;
    }

    /// <summary>The rows of the prompt's prefix and text tokens, in one run of <c>embed_tokens</c>.</summary>
    public PromptRows Embed(Prompt prompt, RunOptions run)
    {
        long start = Stopwatch.GetTimestamp();
        float[] rows = Embed([.. prompt.PrefixIds, .. prompt.TextIds], run);
        return new PromptRows(rows, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>The <c>embed_tokens</c> rows [n × D] of token ids.</summary>
    public float[] Embed(ReadOnlySpan<int> ids, RunOptions run)
    {
        if (ids.IsEmpty)
        {
            return [];
        }

        using OrtValue input = OrtTensors.Ids(ids, graphs.InputIdsType);
        using IDisposableReadOnlyCollection<OrtValue> outputs = graphs.Embed.Run(run, ModelGraphs.InputIds, input, ModelGraphs.InputsEmbeds);
        float[] rows = OrtTensors.ToFloats(outputs[0], out long[] shape);
        graphs.Embed.RequireOutputShape(ModelGraphs.InputsEmbeds, shape, [1, ids.Length, config.HiddenSize]);
        return rows;
    }

    /// <summary>
    /// The context rule, in one place: a sequence of <paramref name="sequenceLength"/> positions (with
    /// <paramref name="copies"/> AttAnchor copies) plus <paramref name="maxNewTokens"/> must fit <c>max_position_embeddings</c>.
    /// </summary>
    /// <exception cref="ArgumentException">It does not fit: the message says by how much and what to lower.</exception>
    public static void RequireFits(ModelConfig config, Prompt prompt, int sequenceLength, int copies, int maxNewTokens)
    {
        int context = config.MaxPositionEmbeddings;
        if ((long)sequenceLength + maxNewTokens <= context)
        {
            return;
        }

        string parts = string.Create(CultureInfo.InvariantCulture,
            $"{prompt.PrefixIds.Length} prefix + {config.NumImageTokens} image + {prompt.TextIds.Length} text{(copies > 0 ? $" + {copies} AttAnchor copies" : string.Empty)}");
        throw sequenceLength >= context
            ? new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The question does not fit the model's context: the prompt sequence takes {sequenceLength} positions ({parts}) of {context}. Ask a shorter question."), "question")
            : new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The prompt sequence takes {sequenceLength} positions ({parts}) of the model's {context}, so at most {context - sequenceLength} new tokens fit, not {maxNewTokens}. Lower the maximum new tokens (--max-new-tokens) to {context - sequenceLength} or ask a shorter question."), "options");
    }
}
