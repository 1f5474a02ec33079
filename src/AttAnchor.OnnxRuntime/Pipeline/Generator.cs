using System.Diagnostics;

namespace AttAnchor.OnnxRuntime;

/// <summary>What the stages before the decoder did for one answer, for its <see cref="VqaResult"/>.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Sequence">The regrouped sequence.</param>
/// <param name="Image">The image rows and the time each image stage took (zero from an image session).</param>
/// <param name="Embed">The time <c>embed_tokens</c> took on the prompt.</param>
/// <param name="Setup">The time spent on the decoder before its prefill: the state, and resuming a session's shared prefix.</param>
/// <param name="SharedPrefill">The part of <paramref name="Setup"/> that computed an image session's shared prefix cache.</param>
/// <param name="ReusedLength">Positions resumed from an image session's shared prefix cache.</param>
/// <param name="FromImageSession">Whether an image session answered.</param>
internal sealed record AnswerSetup(Prompt Prompt, RegroupedSequence Sequence, ImageRows Image, TimeSpan Embed, TimeSpan Setup, TimeSpan SharedPrefill, int ReusedLength, bool FromImageSession);

/// <summary>
/// One answer's decode loop: <see cref="Prefill"/> runs the decoder on the regrouped sequence, then each
/// <see cref="Step"/> gives one token: decode → sample → detokenise → stop.
/// </summary>
internal sealed class Generator : IDisposable
{
    private readonly DecoderState _decoder;
    private readonly AnswerSetup _setup;
    private readonly GenerationOptions _options;
    private readonly DeviceInfo _device;
    private readonly int _eos;
    private readonly TokenSampler _sampler;
    private readonly StreamingDetokenizer _detokenizer;
    private readonly AnswerText _text;
    private readonly List<int> _generated;
    private readonly int[] _history;   // prompt ids, then generated ids: the repetition penalty's memory
    private int _historyLength;
    private StopReason? _stop;
    private TimeSpan _prefill, _decode;
    private int _decodeSteps;
    private float[]? _firstLogits;

    /// <summary>A generator over a decoder state (whose cache may already hold a reused prefix); it owns and disposes the state.</summary>
    public Generator(DecoderState decoder, AnswerSetup setup, GenerationOptions options, ModelConfig config, DetokenizerTable detokenizer, DeviceInfo device)
    {
        _decoder = decoder;
        _setup = setup;
        _options = options;
        _device = device;
        _eos = config.EosTokenId;
        _sampler = new TokenSampler(options.Temperature, options.TopK, options.TopP, options.RepetitionPenalty, options.Seed, config.VocabSize);
        _detokenizer = new StreamingDetokenizer(detokenizer);
        _text = new AnswerText(options.StopStrings);
        _generated = new List<int>(options.MaxNewTokens);
        Prompt prompt = setup.Prompt;
        _history = new int[prompt.TokenCount + options.MaxNewTokens];
        prompt.PrefixIds.CopyTo(_history, 0);
        prompt.TextIds.CopyTo(_history, prompt.PrefixIds.Length);
        _historyLength = prompt.TokenCount;
    }

    /// <summary>Whether the answer has stopped.</summary>
    public bool Finished => _stop is not null;

    /// <summary>The decoder on the sequence's rows from the reused prefix on; the first token's logits come out.</summary>
    public void Prefill()
    {
        long start = Stopwatch.GetTimestamp();
        int d = _decoder.Width;
        RegroupedSequence sequence = _setup.Sequence;
        int reused = _setup.ReusedLength;
        _decoder.Prefill(sequence.Rows.AsSpan(reused * d), sequence.Length - reused);
        _firstLogits = _options.CaptureFirstLogits ? (float[])_decoder.Logits.Clone() : null;
        _prefill = Stopwatch.GetElapsedTime(start);
    }

    /// <summary>One token: returns the text it completes (empty while a character or a possible stop string is incomplete).</summary>
    public string Step()
    {
        long start = Stopwatch.GetTimestamp();
        bool first = _generated.Count == 0;
        if (!first)
        {
            _decoder.Step(_generated[^1]);                                                   // decode: the last token, at the next position
        }

        int token = _sampler.Next(_decoder.Logits, _history.AsSpan(0, _historyLength));     // sample
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        if (first)
        {
            _prefill += elapsed; // the prefill's logits give the first token
        }
        else
        {
            _decode += elapsed;
            _decodeSteps++;
        }

        _generated.Add(token);
        _history[_historyLength++] = token;
        bool eos = token == _eos;
        string piece = eos ? string.Empty : _detokenizer.Append(token);                      // detokenise
        if (eos)                                                                             // stop
        {
            _stop = StopReason.EndOfSequence;
        }
        else if (_generated.Count >= _options.MaxNewTokens)
        {
            _stop = StopReason.MaxNewTokens;
        }

        return _text.Append(_stop is null ? piece : piece + _detokenizer.Flush(), ref _stop);
    }

    /// <summary>The finished answer.</summary>
    public VqaResult Finish(TimeSpan total)
    {
        AnswerSetup s = _setup;
        return new VqaResult
        {
            Text = _text.Text,
            TokenIds = _generated.ToArray(),
            StopReason = _stop ?? throw new InvalidOperationException("The answer has not stopped."),
            PromptTokenCount = s.Prompt.TokenCount,
            SequenceLength = s.Sequence.Length,
            BaselineSequenceLength = s.Sequence.BaselineLength,
            Anchoring = s.Sequence.Anchoring,
            Anchors = s.Sequence.Anchors,
            Timings = new StageTimings(s.Image.Preprocess, s.Image.Vision, s.Image.Projector, s.Embed, s.Sequence.Time, s.Setup + _prefill, _decode, _decodeSteps, total)
            {
                SharedPrefill = s.SharedPrefill,
            },
            Device = _device,
            FromImageSession = s.FromImageSession,
            ReusedPrefixLength = s.ReusedLength,
            FirstLogits = _firstLogits,
        };
    }

    /// <inheritdoc/>
    public void Dispose() => _decoder.Dispose();
}
