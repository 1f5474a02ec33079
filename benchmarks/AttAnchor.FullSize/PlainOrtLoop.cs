using System.Diagnostics;
using System.Text.Json.Nodes;
using AttAnchor.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace AttAnchor.FullSize;

/// <summary>
/// <c>measure plain-ort</c>: the peer. A plain LLaVA generation loop written the way a first C# attempt with ONNX
/// Runtime would be, kept as it is on purpose, so that the benchmark compares the library with it:
/// <list type="bullet">
/// <item>one <see cref="InferenceSession"/> per graph with default <see cref="SessionOptions"/> (no thread count, default optimisation);</item>
/// <item>inputs as <see cref="NamedOnnxValue.CreateFromTensor{T}"/> over <see cref="DenseTensor{T}"/>, <c>session.Run(inputs)</c>;</item>
/// <item>the full logits [1, S, V] every step (the decoder here requires <c>num_logits_to_keep</c>, so it gets S), argmax over the last position;</item>
/// <item>every <c>present.*</c> cloned into a managed <see cref="DenseTensor{T}"/> and fed back as <c>past_key_values.*</c>.</item>
/// </list>
/// No AttAnchor. The prompt is built as the library builds it (BOS + the template before <c>&lt;image&gt;</c>, the image
/// rows, the rest without BOS). Preprocessing is the library's own resize/crop/normalise, compiled into this console
/// from its source files: it is internal in the library and no public API returns the pixel values, so this is the
/// honest way to give the peer the same pixels (and the same preprocessing cost) as ours.
/// </summary>
internal static class PlainOrtLoop
{
    public static int Run(PlainOrtArgs args)
    {
        string folder = Repo.Resolve(args.Model);
        (int runs, int warmup) = (args.Runs, args.Warmup);

        ModelConfig config = ModelConfig.Load(folder);
        using var vision = new InferenceSession(Path.Combine(folder, "vision_encoder.onnx"));
        string projectorPath = Path.Combine(folder, "projector.onnx");
        using InferenceSession? projector = File.Exists(projectorPath) ? new InferenceSession(projectorPath) : null;
        using var embed = new InferenceSession(Path.Combine(folder, "embed_tokens.onnx"));
        using var decoder = new InferenceSession(Path.Combine(folder, "decoder_model_merged.onnx"));
        LlamaTokenizer tokenizer;
        using (FileStream stream = File.OpenRead(Path.Combine(folder, "tokenizer.model")))
        {
            tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }

        ModelImage image = ModelImage.FromFile(Repo.ImagePath);
        Console.Error.WriteLine($"plain-ort: {folder} ({config.Describe()}), default session options");

        var loop = new Loop(config, vision, projector, embed, decoder, tokenizer);
        var measured = new List<JsonObject>();
        int length = 0;
        int tokens = 0;
        for (int i = 0; i < warmup + runs; i++)
        {
            JsonObject run = loop.Answer(image, out length, out tokens);
            Console.Error.WriteLine($"plain-ort {(i < warmup ? "warm-up" : $"run {i - warmup + 1}/{runs}")}: {run.ToJsonString(Repo.Json)}");
            if (i >= warmup)
            {
                measured.Add(run);
            }
        }

        var line = new JsonObject
        {
            ["system"] = "plain-ort",
            ["setting"] = null,
            ["model"] = folder,
            ["threads"] = null,   // ONNX Runtime's default
            ["prefill_positions"] = length,
            ["copies"] = 0,
            ["new_tokens"] = tokens,
            ["peak_working_set_bytes"] = Repo.PeakWorkingSet(),
            ["versions"] = OursMeasure.Versions(),
            ["runs"] = new JsonArray([.. measured]),
        };
        Console.WriteLine(line.ToJsonString(Repo.Json));
        return 0;
    }

    private sealed class Loop(ModelConfig config, InferenceSession vision, InferenceSession? projector, InferenceSession embed, InferenceSession decoder, LlamaTokenizer tokenizer)
    {
        public JsonObject Answer(ModelImage image, out int length, out int newTokens)
        {
            long start = Stopwatch.GetTimestamp();

            // Preprocess: resize, crop, normalise into [1, 3, S, S].
            long stage = Stopwatch.GetTimestamp();
            int size = config.ImageSize;
            var pixels = new DenseTensor<float>([1, 3, size, size]);
            ImagePreprocessor.Normalize(ImagePreprocessor.GetCrop(image, config), config, pixels.Buffer.Span);
            double preprocessMs = Repo.Ms(stage);

            // Vision encoder, then the projector.
            stage = Stopwatch.GetTimestamp();
            DenseTensor<float> features;
            using (var outputs = vision.Run([NamedOnnxValue.CreateFromTensor("pixel_values", pixels)]))
            {
                features = outputs.First(o => o.Name == "image_features").AsTensor<float>().ToDenseTensor();
            }

            double visionMs = Repo.Ms(stage);
            stage = Stopwatch.GetTimestamp();
            DenseTensor<float> imageEmbeds = features;
            if (projector is not null)
            {
                using var outputs = projector.Run([NamedOnnxValue.CreateFromTensor("image_features", features)]);
                imageEmbeds = outputs.First(o => o.Name == "image_embeds").AsTensor<float>().ToDenseTensor();
            }

            double projectorMs = projector is null ? 0 : Repo.Ms(stage);

            // Prompt: BOS + the template before <image>, then the image rows, then the rest with the question (no BOS).
            stage = Stopwatch.GetTimestamp();
            string template = config.PromptTemplate;
            int at = template.IndexOf("<image>", StringComparison.Ordinal);
            string before = template[..at];
            string after = template[(at + "<image>".Length)..].Replace("{question}", Repo.Question, StringComparison.Ordinal);
            long[] prefixIds = [config.BosTokenId, .. before.Length == 0 ? [] : tokenizer.EncodeToIds(before).Select(i => (long)i)];
            long[] textIds = [.. after.Length == 0 ? [] : tokenizer.EncodeToIds(after).Select(i => (long)i)];
            float[] prefixRows = Embed(prefixIds);
            float[] textRows = Embed(textIds);
            int width = config.HiddenSize;
            int imageTokens = imageEmbeds.Dimensions[1];
            length = prefixIds.Length + imageTokens + textIds.Length;
            var sequence = new DenseTensor<float>([1, length, width]);
            prefixRows.CopyTo(sequence.Buffer.Span);
            imageEmbeds.Buffer.Span.CopyTo(sequence.Buffer.Span[prefixRows.Length..]);
            textRows.CopyTo(sequence.Buffer.Span[(prefixRows.Length + (imageTokens * width))..]);
            double embedMs = Repo.Ms(stage);

            // Prefill: the whole sequence on an empty cache, to the first token.
            stage = Stopwatch.GetTimestamp();
            var past = new Dictionary<string, DenseTensor<float>>();
            foreach (var (name, meta) in decoder.InputMetadata.Where(m => m.Key.StartsWith("past_key_values.", StringComparison.Ordinal)))
            {
                past[name] = new DenseTensor<float>([1, meta.Dimensions[1], 0, meta.Dimensions[3]]);
            }

            var tokens = new List<int>();
            int token = Step(sequence, 0, past);
            tokens.Add(token);
            double prefillMs = Repo.Ms(stage);

            // Decode: embed the token, run the decoder on the cache, argmax.
            stage = Stopwatch.GetTimestamp();
            int position = length;
            while (token != config.EosTokenId && tokens.Count < Repo.NewTokens)
            {
                float[] row = Embed([token]);
                token = Step(new DenseTensor<float>(row, [1, 1, width]), position, past);
                tokens.Add(token);
                position++;
            }

            double decodeMs = Repo.Ms(stage);
            double totalMs = Repo.Ms(start);
            newTokens = tokens.Count;
            return new JsonObject
            {
                ["preprocess_ms"] = preprocessMs,
                ["vision_ms"] = visionMs,
                ["projector_ms"] = projectorMs,
                ["embed_ms"] = embedMs,
                ["anchor_ms"] = null,
                ["prefill_ms"] = prefillMs,
                ["decode_ms_per_token"] = tokens.Count > 1 ? decodeMs / (tokens.Count - 1) : 0,
                ["total_ms"] = totalMs,
                ["prefill_positions"] = length,
                ["copies"] = 0,
                ["token_ids"] = Repo.Array(tokens),
            };
        }

        private float[] Embed(long[] ids)
        {
            var input = new DenseTensor<long>(ids, [1, ids.Length]);
            using var outputs = embed.Run([NamedOnnxValue.CreateFromTensor("input_ids", input)]);
            return outputs.First(o => o.Name == "inputs_embeds").AsTensor<float>().ToArray();
        }

        /// <summary>One decoder run over <paramref name="embeds"/> [1, S, D] at positions from <paramref name="pastLength"/>; returns the argmax of the last position and replaces the cache with the presents.</summary>
        private int Step(DenseTensor<float> embeds, int pastLength, Dictionary<string, DenseTensor<float>> past)
        {
            int count = embeds.Dimensions[1];
            var mask = new DenseTensor<long>([1, pastLength + count]);
            mask.Fill(1);
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("inputs_embeds", embeds),
                NamedOnnxValue.CreateFromTensor("attention_mask", mask),
            };
            if (decoder.InputMetadata.ContainsKey("position_ids"))
            {
                var positions = new DenseTensor<long>([1, count]);
                for (int i = 0; i < count; i++)
                {
                    positions[0, i] = pastLength + i;
                }

                inputs.Add(NamedOnnxValue.CreateFromTensor("position_ids", positions));
            }

            if (decoder.InputMetadata.TryGetValue("num_logits_to_keep", out NodeMetadata? keep))
            {
                // Required by this graph: ask for every position's logits, as a loop that does not know the input would.
                inputs.Add(NamedOnnxValue.CreateFromTensor("num_logits_to_keep", new DenseTensor<long>(new long[] { count }, keep.Dimensions)));
            }

            if (decoder.InputMetadata.ContainsKey("use_cache_branch"))
            {
                inputs.Add(NamedOnnxValue.CreateFromTensor("use_cache_branch", new DenseTensor<bool>(new[] { pastLength > 0 }, [1])));
            }

            foreach (var (name, value) in past)
            {
                inputs.Add(NamedOnnxValue.CreateFromTensor(name, value));
            }

            using var outputs = decoder.Run(inputs);
            Tensor<float> logits = outputs.First(o => o.Name == "logits").AsTensor<float>();   // [1, S, V]
            int last = logits.Dimensions[1] - 1;
            int vocabulary = logits.Dimensions[2];
            int best = 0;
            float bestValue = float.NegativeInfinity;
            for (int v = 0; v < vocabulary; v++)
            {
                float value = logits[0, last, v];
                if (value > bestValue)
                {
                    bestValue = value;
                    best = v;
                }
            }

            foreach (var output in outputs.Where(o => o.Name.StartsWith("present.", StringComparison.Ordinal)))
            {
                past["past_key_values." + output.Name["present.".Length..]] = output.AsTensor<float>().ToDenseTensor();
            }

            return best;
        }
    }
}
