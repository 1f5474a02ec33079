using AttAnchor.OnnxRuntime.Logging;
using Microsoft.Extensions.Logging;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Compiles the AttAnchor stage before the first answer needs it: once per process, a background thread started
/// while a model opens runs <see cref="Regrouper.WarmUp"/>. See docs/architecture.md, "Cold start".
/// </summary>
/// <remarks>
/// Bounded (one small synthetic plan, once per process), independent of the sessions (it reads only the config
/// and tokenizer, so disposing the model or a failed open does not touch it), never waited for, and it cannot
/// fail an open: an exception is logged at Debug and dropped. A first answer that starts before it ends only
/// waits for the methods being compiled.
/// </remarks>
internal static class PlanningWarmUp
{
    private static int s_started;

    /// <summary>Whether a warm-up was started in this process.</summary>
    public static bool Started => Volatile.Read(ref s_started) != 0;

    /// <summary>Starts the warm-up on a background thread unless one was started before; returns that thread, or null.</summary>
    /// <param name="regrouper">The opening model's stage.</param>
    /// <param name="logger">Where a failure is logged, at Debug.</param>
    public static Thread? Start(Regrouper regrouper, ILogger logger)
    {
        if (Interlocked.Exchange(ref s_started, 1) != 0)
        {
            return null; // compiled code is shared by the whole process: once is enough
        }

        var thread = new Thread(() => Run(regrouper, logger)) { IsBackground = true, Name = "AttAnchor warm-up" };
        thread.Start();
        return thread;
    }

    /// <summary>Runs the warm-up; it must never throw, as nothing waits for it.</summary>
    internal static void Run(Regrouper regrouper, ILogger logger)
    {
        try
        {
            regrouper.WarmUp();
        }
#pragma warning disable CA1031 // a warm-up failure only costs the first answer its compile time: it must not end the process
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.WarmUpFailed(logger, e);
        }
    }
}
