using System.Diagnostics;
using AttAnchor.OnnxRuntime.Logging;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// One image opened for several questions (<see cref="VisionLanguageModel.OpenImage"/>): the image is preprocessed
/// and encoded (vision encoder, projector) once, when the session opens, and the decoder's KV cache of the prompt's
/// shared prefix is computed once and reused by every answer.
/// </summary>
/// <remarks>
/// Each answer reuses the shared prefix's cache up to its first AttAnchor copy (<see cref="VqaResult.ReusedPrefixLength"/>)
/// and gives the model's own answer up to float32 summation order; the same question gives the same logits, bit for
/// bit, whatever the session answered before. A session answers one question at a time (a second answer while one
/// runs throws <see cref="InvalidOperationException"/>); disposing it, or its model, ends a running answer with an
/// <see cref="ObjectDisposedException"/>. See docs/image-sessions.md.
/// </remarks>
/// <example>
/// <code>
/// using var model = VisionLanguageModel.Open("models/shapes/attanchor");
/// using ImageSession session = model.OpenImage(model.LoadImage("models/shapes/example.png"));
/// foreach (string question in new[] { "What color is the circle?", "Is there a red circle in the image?", "What shape is blue?" })
/// {
///     VqaResult result = await session.AnswerAsync(question);   // the model's AttAnchor: text-into-image, τ = 0.164
///     Console.WriteLine($"{question} {result.Text} (reused {result.ReusedPrefixLength} of {result.SequenceLength} positions)");
/// }
/// // What color is the circle? Red. (reused 9 of 66 positions)
/// // Is there a red circle in the image? Yes. (reused 9 of 68 positions)
/// // What shape is blue? A triangle. (reused 52 of 62 positions)
/// // (4 prefix tokens; the first copy follows patch 4 in the first two answers, patch 47 in the third)
/// </code>
/// </example>
public sealed class ImageSession : IDisposable
{
    private readonly VisionLanguageModel _model;
    private readonly int[] _prefixIds;      // [P]: the template's tokens before <image>, BOS first
    private readonly UseCount _uses;
    private int _busy;                      // 1 while an answer runs
    private OrtValue[]? _prefixCache;       // 2 × layers × [1, Hkv, P + M, hd] host tensors: the shared prefix's KV cache, built on first need

    internal ImageSession(VisionLanguageModel model, ModelImage image, ImageRows rows, int[] prefixIds)
    {
        _model = model;
        Image = image;
        _prefixIds = prefixIds;
        _uses = new UseCount(Release, nameof(ImageSession), "image session", "open the image again with VisionLanguageModel.OpenImage");
        Rows = rows with { Preprocess = TimeSpan.Zero, Vision = TimeSpan.Zero, Projector = TimeSpan.Zero }; // what an answer reports: encoded before it
        Preprocess = rows.Preprocess;
        Vision = rows.Vision;
        Projector = rows.Projector;
        SharedPrefixLength = prefixIds.Length + model.Config.NumImageTokens;
    }

    /// <summary>The model the session answers with.</summary>
    public VisionLanguageModel Model => _model;

    /// <summary>The image.</summary>
    public ModelImage Image { get; }

    /// <summary>The shared prefix's length P + M: the template's tokens before <c>&lt;image&gt;</c> and the image block.</summary>
    public int SharedPrefixLength { get; }

    /// <summary>Whether the shared prefix's KV cache has been computed (by the session's first answer).</summary>
    public bool IsPrefixCached => Volatile.Read(ref _prefixCache) is not null;

    /// <summary>The image's resize, crop and normalisation, once, when the session opened.</summary>
    public TimeSpan Preprocess { get; }

    /// <summary>The vision encoder, once, when the session opened.</summary>
    public TimeSpan Vision { get; }

    /// <summary>The projector, once, when the session opened (zero without one).</summary>
    public TimeSpan Projector { get; }

    /// <summary>The image rows [M × D] every answer uses, with zero stage times (they were spent when the session opened).</summary>
    internal ImageRows Rows { get; }

    /// <summary>
    /// Starts answering a question about the session's image, as <see cref="VisionLanguageModel.Answer"/> does (the
    /// same checks, streaming, cancellation, stop strings, sampling and AttAnchor options), reusing the image encoding
    /// and the shared prefix's KV cache. The work runs as the returned stream is enumerated.
    /// </summary>
    /// <param name="question">The question: not empty, without <c>&lt;image&gt;</c>.</param>
    /// <param name="options">Length, sampling, stop strings and AttAnchor settings; <see cref="GenerationOptions.Default"/> when null.</param>
    /// <returns>The answer's text pieces, as they are generated; enumerating it while another answer of this session runs throws an <see cref="InvalidOperationException"/>.</returns>
    /// <exception cref="ArgumentException">The question is empty or holds <c>&lt;image&gt;</c>, or the prompt does not fit the context.</exception>
    /// <exception cref="ObjectDisposedException">The session or its model is disposed.</exception>
    public AnswerStream Answer(string question, GenerationOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(_uses.IsDisposed, this);
        ObjectDisposedException.ThrowIf(_model.IsDisposed, _model);
        options ??= GenerationOptions.Default;
        return new AnswerStream(_model, Image, this, _model.PromptEncoder.Encode(question, options.MaxNewTokens), options);
    }

    /// <summary>Answers a question about the session's image and returns the whole result.</summary>
    /// <param name="question">The question.</param>
    /// <param name="options">Generation options; <see cref="GenerationOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Cancels the answer within one decode step.</param>
    /// <returns>The result; <see cref="VqaResult.ReusedPrefixLength"/> says how many positions came from the shared cache.</returns>
    /// <exception cref="InvalidOperationException">Another answer of this session is running.</exception>
    public Task<VqaResult> AnswerAsync(string question, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Answer(question, options).ToResultAsync(cancellationToken);

    /// <summary>Releases the shared prefix's KV cache (after the answer in flight, if any, has stopped).</summary>
    public void Dispose() => _uses.Dispose();

    /// <summary>An answer starts: one at a time, and not after disposal.</summary>
    internal void Enter()
    {
        ObjectDisposedException.ThrowIf(_uses.IsDisposed, this);
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            throw new InvalidOperationException(
                "This ImageSession is already answering a question: a session answers one question at a time, because its answers share one KV cache. " +
                "Wait for the answer in progress to finish, or open a second session with VisionLanguageModel.OpenImage for answers in parallel.");
        }

        try
        {
            _uses.Enter();
        }
        catch
        {
            Volatile.Write(ref _busy, 0);
            throw;
        }
    }

    /// <summary>The answer that <see cref="Enter"/> let in has ended.</summary>
    internal void Exit()
    {
        Volatile.Write(ref _busy, 0);
        _uses.Exit();
    }

    /// <summary>Throws when the session was disposed while an answer was running (called between stages and decode steps).</summary>
    internal void ThrowIfDisposedWhileAnswering() => _uses.ThrowIfDisposedWhileAnswering();

    /// <summary>
    /// Starts an answer's decoder from the shared prefix's cache (computed first if no answer has yet): the leading
    /// positions of the answer's sequence that equal the shared prefix, at most L − 1 so that the prefill has a
    /// position to give the first logits. Returns how many; <paramref name="built"/> is the time the cache took to compute (zero when it was there).
    /// </summary>
    internal int Resume(DecoderState decoder, Prompt prompt, AnchorPlan plan, RunOptions run, out TimeSpan built)
    {
        SequenceRow[] layout = plan.GetLayout(prompt.PrefixIds.Length);
        int limit = Math.Min(SharedPrefixLength, layout.Length - 1);
        int reused = 0;
        while (reused < limit && IsShared(layout[reused], reused, prompt))
        {
            reused++;
        }

        built = TimeSpan.Zero;
        OrtValue[]? cache = _prefixCache;
        if (cache is null)
        {
            long start = Stopwatch.GetTimestamp();
            cache = BuildPrefixCache(run);
            Volatile.Write(ref _prefixCache, cache);
            built = Stopwatch.GetElapsedTime(start);
            Log.SharedPrefixBuilt(_model.Logger, SharedPrefixLength, built.TotalMilliseconds);
        }

        decoder.ResumeFrom(cache, reused);
        return reused;
    }

    /// <summary>The shared prefix, [P + M] rows: the prefix tokens' embeddings and the image rows, prefilled at 0 … P + M − 1.</summary>
    private OrtValue[] BuildPrefixCache(RunOptions run)
    {
        int d = _model.Config.HiddenSize;
        var rows = new float[SharedPrefixLength * d];                               // [(P + M) × D]
        _model.PromptEncoder.Embed(_prefixIds, run).CopyTo(rows, 0);                // [P × D]
        Rows.Rows.CopyTo(rows, _prefixIds.Length * d);                               // [M × D]
        using DecoderState builder = _model.NewHostDecoderState(SharedPrefixLength, run);
        builder.Prefill(rows, SharedPrefixLength);
        return builder.TakeCache();
    }

    private bool IsShared(SequenceRow row, int position, Prompt prompt) => position < _prefixIds.Length
        ? row == new SequenceRow(SequenceSegment.Prefix, position, IsCopy: false) && position < prompt.PrefixIds.Length && prompt.PrefixIds[position] == _prefixIds[position]
        : row == new SequenceRow(SequenceSegment.Image, position - _prefixIds.Length, IsCopy: false);

    private void Release()
    {
        OrtValue[]? cache = Interlocked.Exchange(ref _prefixCache, null);
        foreach (OrtValue value in cache ?? [])
        {
            value.Dispose();
        }
    }
}
