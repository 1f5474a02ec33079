namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Keeps an object's native resources alive while answers use them: the owner holds one reference, each answer in
/// flight one more. <see cref="Dispose"/> drops the owner's reference and refuses new entries; whoever drops the last
/// reference (the owner, or the last answer to finish) calls <c>release</c>, so nothing is freed under a run in flight.
/// </summary>
/// <param name="release">Frees the resources; called once, by whoever drops the last reference.</param>
/// <param name="objectName">The owner's type name, for <see cref="ObjectDisposedException"/>.</param>
/// <param name="noun">The owner in the exception's message, e.g. "model".</param>
/// <param name="reopen">What to do instead, e.g. "open it again to answer", for the exception's message.</param>
internal sealed class UseCount(Action release, string objectName, string noun, string reopen)
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

    /// <summary>Takes a reference for an answer or an image encoding in flight.</summary>
    /// <exception cref="ObjectDisposedException">The owner is disposed.</exception>
    public void Enter()
    {
        if (!TryEnter())
        {
            throw new ObjectDisposedException(objectName, $"The {noun} is disposed; {reopen}.");
        }
    }

    /// <summary>Drops a reference taken by <see cref="Enter"/> or <see cref="TryEnter"/>; the last one releases the resources.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            release();
        }
    }

    /// <summary>Throws when the owner was disposed while an answer was running (called between stages and decode steps).</summary>
    /// <exception cref="ObjectDisposedException">The owner is disposed.</exception>
    public void ThrowIfDisposedWhileAnswering()
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException(objectName, $"The {noun} was disposed while this answer was being generated.");
        }
    }

    /// <summary>Drops the owner's reference, once; the last reference releases the resources.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Exit();
        }
    }
}
