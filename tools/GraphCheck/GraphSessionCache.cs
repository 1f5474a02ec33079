using System.Collections.Concurrent;

namespace AttAnchor.GraphCheck;

/// <summary>
/// Opens each graph file once and hands out the same <see cref="GraphSession"/> afterwards, so the
/// cases of a suite (and a test run's pipelines) share sessions. Thread-safe; disposing it disposes
/// every session it opened.
/// </summary>
public sealed class GraphSessionCache : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<GraphSession>> _sessions = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>The session for a graph file, opened on first use.</summary>
    /// <param name="graphPath">The <c>.onnx</c> file; relative paths are resolved against the current directory.</param>
    /// <returns>The shared session.</returns>
    /// <exception cref="GraphCheckException">The file is missing or cannot be loaded.</exception>
    public GraphSession Get(string graphPath)
    {
        ArgumentNullException.ThrowIfNull(graphPath);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string key = Path.GetFullPath(graphPath);
        Lazy<GraphSession> lazy = _sessions.GetOrAdd(key, static path => new Lazy<GraphSession>(() => new GraphSession(path)));
        try
        {
            return lazy.Value;
        }
        catch (GraphCheckException)
        {
            // Do not cache the failure: a later call reports it again (or succeeds once the file is there).
            _sessions.TryRemove(new KeyValuePair<string, Lazy<GraphSession>>(key, lazy));
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (Lazy<GraphSession> lazy in _sessions.Values)
        {
            if (lazy.IsValueCreated)
            {
                lazy.Value.Dispose();
            }
        }

        _sessions.Clear();
    }
}
