using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using AttAnchor.OnnxRuntime.Logging;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// One answer being generated: enumerate it for the text pieces as they come (each whole UTF-8
/// characters), then read <see cref="Result"/>. It can be enumerated once.
/// </summary>
/// <remarks>
/// The work runs on the thread pool, one await per stage and per decode step. Cancelling the
/// enumeration's token stops the answer within one decode step (a run in flight is terminated) with an
/// <see cref="OperationCanceledException"/>. Streams from <see cref="VisionLanguageModel.Answer"/> start from
/// scratch; streams from <see cref="ImageSession.Answer"/> reuse the session's image encoding and shared KV cache.
/// </remarks>
public sealed class AnswerStream : IAsyncEnumerable<string>
{
    private readonly VisionLanguageModel _model;
    private readonly ModelImage _image;
    private readonly ImageSession? _session;
    private readonly Prompt _prompt;
    private readonly GenerationOptions _options;
    private int _started;
    private VqaResult? _result;

    internal AnswerStream(VisionLanguageModel model, ModelImage image, ImageSession? session, Prompt prompt, GenerationOptions options)
    {
        _model = model;
        _image = image;
        _session = session;
        _prompt = prompt;
        _options = options;
    }

    /// <summary>The finished answer.</summary>
    /// <exception cref="InvalidOperationException">The stream has not been enumerated to its end.</exception>
    public VqaResult Result => _result ?? throw new InvalidOperationException("The answer is not finished: enumerate the AnswerStream to its end first (or use VisionLanguageModel.AnswerAsync).");

    /// <inheritdoc/>
    public IAsyncEnumerator<string> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("An AnswerStream can be enumerated once; call VisionLanguageModel.Answer again for another answer.");
        }

        return Generate(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private async IAsyncEnumerable<string> Generate([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Enter(); // the model (and session) stay alive until this answer ends; a session answers one question at a time
        Run? run = null;
        try
        {
            run = new Run(_model, _image, _session, _prompt, _options);
            using CancellationTokenRegistration registration = cancellationToken.Register(static state => ((Run)state!).Cancel(), run);
            await Task.Run(run.Prepare, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                ThrowIfDisposed();
                string piece = run.Emit();
                if (piece.Length > 0)
                {
                    yield return piece;
                }

                if (run.Finished)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                await run.ToThreadPool; // off the consumer's thread, without a Task per step
                ThrowIfDisposed();
                run.Step();
            }

            _result = run.Finish();
            Log.Answered(_model.Logger, _result.TokenIds.Count, _result.StopReason, _result.Timings);
        }
        finally
        {
            run?.Dispose();
            Exit();
        }
    }

    /// <summary>Takes the model's and the session's references for this answer.</summary>
    private void Enter()
    {
        _model.Enter();
        try
        {
            _session?.Enter();
        }
        catch
        {
            _model.Exit();
            throw;
        }
    }

    private void Exit()
    {
        _session?.Exit();
        _model.Exit();
    }

    /// <summary>Ends the answer when its model or session was disposed while it ran.</summary>
    private void ThrowIfDisposed()
    {
        _model.ThrowIfDisposedWhileAnswering();
        _session?.ThrowIfDisposedWhileAnswering();
    }

    /// <summary>The state of one answer: the stages before the first token, then one decode step at a time.</summary>
    private sealed class Run : IDisposable
    {
        private readonly VisionLanguageModel _model;
        private readonly ModelImage _image;
        private readonly ImageSession? _session;
        private readonly Prompt _prompt;
        private readonly GenerationOptions _options;
        private readonly AttAnchorOptions _anchoring;
        private readonly RunOptions _run = new() { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly List<int> _generated;
        private readonly int[] _history;       // prompt ids, then generated ids: the repetition penalty's memory
        private readonly StringBuilder _text = new();
        private readonly int _maxStop;
        private DecoderState? _decoder;
        private TokenSampler? _sampler;
        private StreamingDetokenizer? _detokenizer;
        private int _historyLength;
        private int _emitted;                  // chars of _text already returned
        private int _token = -1;               // the token chosen from the latest logits, not yet emitted
        private StopReason? _stop;
        private TimeSpan _preprocess, _vision, _projector, _embed, _anchor, _prefill, _decode;
        private TimeSpan _sharedPrefill;       // the part of _prefill that built the session's shared prefix cache
        private int _decodeSteps;
        private int _sequenceLength, _baselineLength;
        private int _reused;                   // positions resumed from the session's shared prefix cache
        private IReadOnlyList<AnchorInfo> _anchors = [];
        private float[]? _firstLogits;

        public Run(VisionLanguageModel model, ModelImage image, ImageSession? session, Prompt prompt, GenerationOptions options)
        {
            _model = model;
            _image = image;
            _session = session;
            _prompt = prompt;
            _options = options;
            _anchoring = options.Anchoring ?? model.Config.Anchoring;
            _generated = new List<int>(options.MaxNewTokens);
            _history = new int[prompt.TokenCount + options.MaxNewTokens];
            _maxStop = options.StopStrings.Count == 0 ? 0 : options.StopStrings.Max(s => s.Length);
        }

        public bool Finished => _stop is not null;

        /// <summary>Awaiting it continues on the thread pool; one work item per answer, nothing allocated per step.</summary>
        public ThreadPoolHop ToThreadPool { get; } = new();

        public void Cancel()
        {
            _run.Terminate = true;
            if (_decoder is not null)
            {
                _decoder.RunOptions.Terminate = true;
            }
        }

        /// <summary>Preprocess, vision, projector, embeddings, AttAnchor, prefill; chooses the first token.</summary>
        public void Prepare()
        {
            ModelConfig config = _model.Config;
            int d = config.HiddenSize;

            long t;
            ReadOnlySpan<float> image;                                                                    // [M × D]
            if (_session is null)
            {
                t = Stopwatch.GetTimestamp();
                float[] pixels = _model.PixelValues(_image);
                _preprocess = Stopwatch.GetElapsedTime(t);
                image = _model.ImageEmbeddings(pixels, _run, out _vision, out _projector);
            }
            else
            {
                image = _session.Embeddings; // encoded once when the session opened: preprocess, vision and projector stay zero here
            }

            t = Stopwatch.GetTimestamp();
            int[] ids = [.. _prompt.PrefixIds, .. _prompt.TextIds];
            float[] embedded = _model.EmbedTokens(ids, _run);                                             // [(P + N) × D]
            ReadOnlySpan<float> prefix = embedded.AsSpan(0, _prompt.PrefixIds.Length * d);               // [P × D]
            ReadOnlySpan<float> text = embedded.AsSpan(_prompt.PrefixIds.Length * d);                    // [N × D]
            _embed = Stopwatch.GetElapsedTime(t);

            t = Stopwatch.GetTimestamp();
            int[] candidates = TextCandidates.Select(_prompt.TextIds, _prompt.Question, _model.Prompts.SpecialIds, _anchoring.Candidates);
            AnchorPlan plan = AnchorPlan.Create(text, image, d, candidates, _anchoring);
            int prefixLength = _prompt.PrefixIds.Length;
            _sequenceLength = plan.GetSequenceLength(prefixLength);
            _baselineLength = prefixLength + config.NumImageTokens + _prompt.TextIds.Length;
            _model.CheckContext(_sequenceLength, plan.InsertedCount, _options.MaxNewTokens, _prompt);
            var rows = new float[_sequenceLength * d];                                                    // [L × D]
            plan.Materialize(prefix, image, text, rows);
            _anchors = Describe(plan);
            _anchor = Stopwatch.GetElapsedTime(t);
            LogPlan(candidates.Length);

            t = Stopwatch.GetTimestamp();
            _decoder = _model.CreateDecoderState(_sequenceLength + _options.MaxNewTokens);
            if (_run.Terminate)
            {
                _decoder.RunOptions.Terminate = true;
            }

            if (_session is not null)
            {
                // Resume from the shared prefix's cache (computed now if no answer has yet), then prefill the rest.
                _reused = _session.ReusableLength(_prompt, plan);
                _sharedPrefill = _session.ResumeShared(_decoder, _reused, _run);
                Log.PrefixReused(_model.Logger, _reused, _sequenceLength);
            }

            _decoder.Prefill(rows.AsSpan(_reused * d), _sequenceLength - _reused);
            _sampler = new TokenSampler(_options.Temperature, _options.TopK, _options.TopP, _options.RepetitionPenalty, _options.Seed, config.VocabSize);
            _detokenizer = new StreamingDetokenizer(_model.Prompts.Detokenizer);
            ids.CopyTo(_history, 0);
            _historyLength = ids.Length;
            _firstLogits = _options.CaptureFirstLogits ? (float[])_decoder.Logits.Clone() : null;
            _token = _sampler.Next(_decoder.Logits, _history.AsSpan(0, _historyLength));
            _prefill = Stopwatch.GetElapsedTime(t);
        }

        /// <summary>Takes the chosen token: records it, decides whether to stop, and returns the text it completes.</summary>
        public string Emit()
        {
            int token = _token;
            _generated.Add(token);
            _history[_historyLength++] = token;
            bool eos = token == _model.Config.EosTokenId;
            string piece = eos ? string.Empty : _detokenizer!.Append(token);
            _text.Append(piece);
            if (eos)
            {
                _stop = StopReason.EndOfSequence;
            }
            else if (_generated.Count >= _options.MaxNewTokens)
            {
                _stop = StopReason.MaxNewTokens;
            }

            if (_stop is not null)
            {
                _text.Append(_detokenizer!.Flush());
            }
            else if (_maxStop == 0)
            {
                _emitted = _text.Length; // the common case: the piece is the new text, no second string
                return piece;
            }

            return TakeText();
        }

        /// <summary>One decode step: the decoder on the last token; chooses the next one.</summary>
        public void Step()
        {
            long t = Stopwatch.GetTimestamp();
            _decoder!.Step(_token);
            _token = _sampler!.Next(_decoder.Logits, _history.AsSpan(0, _historyLength));
            _decode += Stopwatch.GetElapsedTime(t);
            _decodeSteps++;
        }

        public VqaResult Finish() => new()
        {
            Text = _text.ToString(0, _emitted),
            TokenIds = _generated.ToArray(),
            StopReason = _stop!.Value,
            PromptTokenCount = _prompt.TokenCount,
            SequenceLength = _sequenceLength,
            BaselineSequenceLength = _baselineLength,
            Anchoring = _anchoring,
            Anchors = _anchors,
            Timings = new StageTimings(_preprocess, _vision, _projector, _embed, _anchor, _prefill, _decode, _decodeSteps, Stopwatch.GetElapsedTime(_start)) { SharedPrefill = _sharedPrefill },
            Device = _model.Device,
            FromImageSession = _session is not null,
            ReusedPrefixLength = _reused,
            FirstLogits = _firstLogits,
        };

        public void Dispose()
        {
            _decoder?.Dispose();
            _run.Dispose();
        }

        /// <summary>
        /// The text not yet returned. With stop strings, text that could still grow into one is held back,
        /// and a stop string found ends the answer just before it.
        /// </summary>
        private string TakeText()
        {
            int end = _text.Length;
            if (_maxStop > 0)
            {
                int from = Math.Max(0, _emitted - _maxStop + 1);
                string window = _text.ToString(from, _text.Length - from);
                int hit = -1;
                foreach (string stop in _options.StopStrings)
                {
                    int at = window.IndexOf(stop, StringComparison.Ordinal);
                    if (at >= 0 && (hit < 0 || at < hit))
                    {
                        hit = at;
                    }
                }

                if (hit >= 0)
                {
                    end = from + hit;
                    _text.Length = end;
                    _stop = StopReason.StopString;
                }
                else if (_stop is null)
                {
                    // Hold back the longest tail that is the start of a stop string.
                    for (int keep = Math.Min(_maxStop - 1, window.Length); keep > 0; keep--)
                    {
                        if (StartsAnyStop(window.AsSpan(window.Length - keep)))
                        {
                            end = _text.Length - keep;
                            break;
                        }
                    }
                }
            }

            if (end <= _emitted)
            {
                return string.Empty;
            }

            string piece = _text.ToString(_emitted, end - _emitted);
            _emitted = end;
            return piece;
        }

        private bool StartsAnyStop(ReadOnlySpan<char> tail)
        {
            foreach (string stop in _options.StopStrings)
            {
                if (stop.AsSpan().StartsWith(tail, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        private void LogPlan(int candidates)
        {
            if (!_model.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            {
                return; // the default: no description string built for a log nobody reads
            }

            Log.Planned(_model.Logger, Log.Describe(_anchoring), _anchors.Count, candidates, _baselineLength, _sequenceLength);
            if (_model.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Trace))
            {
                foreach (AnchorInfo a in _anchors)
                {
                    Log.Copied(_model.Logger, a.Token, a.TextIndex, a.PatchIndex, a.PatchRow, a.PatchColumn, a.Similarity);
                }
            }
        }

        private AnchorInfo[] Describe(AnchorPlan plan)
        {
            int side = _model.Config.PatchGridSide;
            var result = new AnchorInfo[plan.Anchors.Count];
            for (int i = 0; i < result.Length; i++)
            {
                Anchor a = plan.Anchors[i];
                int id = _prompt.TextIds[a.TextPosition];
                result[i] = new AnchorInfo(a.Direction, a.TextIndex, a.TextPosition, id, _model.Prompts.GetPiece(id), a.ImageIndex, a.ImageIndex / side, a.ImageIndex % side, a.Similarity);
            }

            return result;
        }
    }

    /// <summary>
    /// An awaitable that moves the awaiting code to the thread pool (like <c>Task.Run</c> for the rest of a
    /// method), reusing one work item: the decode loop's steps run off the consumer's thread without a Task each.
    /// </summary>
    private sealed class ThreadPoolHop : IThreadPoolWorkItem, ICriticalNotifyCompletion
    {
        private Action? _continuation;

        public bool IsCompleted => false;

        public ThreadPoolHop GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

        public void UnsafeOnCompleted(Action continuation)
        {
            _continuation = continuation;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        void IThreadPoolWorkItem.Execute()
        {
            Action continuation = _continuation!;
            _continuation = null;
            continuation();
        }
    }
}
