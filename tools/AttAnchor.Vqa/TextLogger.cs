using System.Globalization;
using Microsoft.Extensions.Logging;

namespace AttAnchor.Vqa;

/// <summary>
/// The console's <c>--log-level</c>: a logger factory that writes each entry at or above a level as one line on a
/// writer (stderr), <c>info: AttAnchor.OnnxRuntime.VisionLanguageModel[4] Execution provider: cpu (asked for)</c>,
/// so that stdout keeps only the answer (or the one JSON object).
/// </summary>
internal sealed class TextLogger(TextWriter writer, LogLevel minimum) : ILoggerFactory, ILogger
{
    /// <summary>The accepted <c>--log-level</c> values, for messages and help.</summary>
    public const string Levels = "none, error, warning, information, debug or trace";

    private string _category = string.Empty;

    /// <summary>Parses a <c>--log-level</c> value (case-insensitive; <c>info</c> and <c>warn</c> too); null for <c>none</c>.</summary>
    /// <exception cref="ArgumentException">The value is none of <see cref="Levels"/>.</exception>
    public static LogLevel? ParseLevel(string value) => value.Trim().ToLowerInvariant() switch
    {
        "none" => null,
        "error" => LogLevel.Error,
        "warning" or "warn" => LogLevel.Warning,
        "information" or "info" => LogLevel.Information,
        "debug" => LogLevel.Debug,
        "trace" => LogLevel.Trace,
        _ => throw new ArgumentException($"--log-level: '{value}' is not a level; use {Levels}."),
    };

    public ILogger CreateLogger(string categoryName) => new TextLogger(writer, minimum) { _category = categoryName };

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("The console's logger writes to stderr only.");

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        string level = logLevel switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
        string line = string.Create(CultureInfo.InvariantCulture, $"{level}: {_category}[{eventId.Id}] {formatter(state, exception)}");
        lock (writer)
        {
            writer.WriteLine(line);
        }
    }

    public void Dispose()
    {
    }
}
