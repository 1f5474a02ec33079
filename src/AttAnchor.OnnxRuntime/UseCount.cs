namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Keeps an object's native resources alive while answers use them: the owner holds one reference, each answer in
/// flight one more. <see cref="Dispose"/> drops the owner's reference and refuses new entries; whoever drops the last
/// reference (the owner, or the last answer to finish) frees the resources, so nothing is freed under a run in flight.
/// </summary>
internal sealed class UseCount
{
    private int _references = 1; // the owner's
    private int _disposed;

    /// <summary>Whether <see cref="Dispose"/> was called (the resources may still be in use by an answer ending).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Takes a reference; false once disposed.</summary>
    public bool TryEnter()
    {
        while (!IsDisposed)
        {
            int references = Volatile.Read(ref _references);
            if (references == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _references, references + 1, references) == references)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Drops a reference taken by <see cref="TryEnter"/>; true when it was the last and the caller must free the resources.</summary>
    public bool Exit() => Interlocked.Decrement(ref _references) == 0;

    /// <summary>Drops the owner's reference, once; true when it was the last and the caller must free the resources.</summary>
    public bool Dispose() => Interlocked.Exchange(ref _disposed, 1) == 0 && Exit();
}
