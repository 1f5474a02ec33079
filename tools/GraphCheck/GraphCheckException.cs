namespace AttAnchor.GraphCheck;

/// <summary>
/// A problem with the inputs of a check rather than a numeric disagreement: a missing or malformed
/// file, a bad <c>checks.json</c>, an input the graph does not declare, a shape the graph cannot take.
/// The message is one line that names the file or tensor and says what is wrong.
/// </summary>
public sealed class GraphCheckException : Exception
{
    /// <summary>Creates the exception with an empty message.</summary>
    public GraphCheckException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line naming the file or tensor and what is wrong with it.</param>
    public GraphCheckException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">One line naming the file or tensor and what is wrong with it.</param>
    /// <param name="innerException">The underlying error.</param>
    public GraphCheckException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
