namespace AttAnchor.OnnxRuntime.Tests.Generation;

/// <summary>Measures the managed bytes an operation allocates on the calling thread.</summary>
public static class Allocations
{
    /// <summary>
    /// Runs <paramref name="call"/> <paramref name="warmUp"/> times, then <paramref name="windows"/>
    /// windows of <paramref name="calls"/> calls each, and returns the fewest bytes a window allocated
    /// (<see cref="GC.GetAllocatedBytesForCurrentThread"/> before and after). The minimum over windows
    /// is the steady state: an allocation per call shows in every window, while the runtime's one-off
    /// work on the thread (tiered compilation starting its background worker, say) lands in one.
    /// </summary>
    public static long SteadyStateBytes(Action<int> call, int calls = 1000, int warmUp = 200, int windows = 5)
    {
        for (int i = 0; i < warmUp; i++)
        {
            call(i);
        }

        long fewest = long.MaxValue;
        for (int w = 0; w < windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++)
            {
                call(i);
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return fewest;
    }
}
