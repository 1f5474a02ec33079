using System.Diagnostics;
using System.Runtime.CompilerServices;
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

    /// <summary>Enumerates the stream to its end and returns <see cref="Result"/>.</summary>
    internal async Task<VqaResult> ToResultAsync(CancellationToken cancellationToken)
    {
        await foreach (string _ in this.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
        }

        return Result;
    }

    private async IAsyncEnumerable<string> Generate([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Enter(); // the model (and session) stay alive until this answer ends; a session answers one question at a time
        long start = Stopwatch.GetTimestamp();
        RunOptions run = VisionLanguageModel.NewRunOptions(); // one per answer: Terminate cancels whichever graph is running
        Generator? generator = null;
        try
        {
            using (cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, run))
            {
                generator = await Task.Run(() => _model.Prepare(_image, _session, _prompt, _options, run, cancellationToken), cancellationToken).ConfigureAwait(false);
                var hop = new ThreadPoolHop();
                while (true)
                {
                    ThrowIfDisposed();
                    string piece = generator.Step(); // decode → sample → detokenise → stop
                    if (piece.Length > 0)
                    {
                        yield return piece;
                    }

                    if (generator.Finished)
                    {
                        break;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    await hop; // off the consumer's thread, without a Task per step
                }
            }

            _result = generator.Finish(Stopwatch.GetElapsedTime(start));
            Log.Answered(_model.Logger, _result.TokenIds.Count, _result.StopReason, _result.Timings);
        }
        finally
        {
            generator?.Dispose();
            run.Dispose();
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
}
