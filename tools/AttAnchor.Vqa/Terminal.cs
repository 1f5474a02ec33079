namespace AttAnchor.Vqa;

/// <summary>
/// Whether a writer the console was given is a terminal: the one place the console decides between what a person
/// watches (progress bars) and what a file or a CI log gets (plain lines).
/// </summary>
internal static class Terminal
{
    /// <summary>
    /// True only for the process's own stdout or stderr while it is not redirected; any other writer (a file, a
    /// <see cref="StringWriter"/>) is not a terminal.
    /// </summary>
    public static bool IsTerminal(TextWriter writer) =>
        (ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected)
        || (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected);
}
