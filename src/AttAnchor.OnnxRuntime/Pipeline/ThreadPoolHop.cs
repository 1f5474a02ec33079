using System.Runtime.CompilerServices;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// An awaitable that moves the awaiting code to the thread pool (like <c>Task.Run</c> for the rest of a
/// method), reusing one work item: the decode loop's steps run off the consumer's thread without a Task each.
/// </summary>
internal sealed class ThreadPoolHop : IThreadPoolWorkItem, ICriticalNotifyCompletion
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
