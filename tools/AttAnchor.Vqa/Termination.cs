using System.Runtime.InteropServices;

namespace AttAnchor.Vqa;

/// <summary>
/// Ctrl+C and termination, as a console should take them (docs/spec/vqa-cli.md): the first SIGINT cancels the token, so
/// that the answer stops at its next step and the console exits with 130 after its one "error: Cancelled." line; a
/// second SIGINT (or SIGTERM), while something that cannot be cancelled still runs (a model opening, a read from a
/// pipe), ends the process at once with the conventional code and nothing more on stderr. SIGTERM cancels too and exits
/// with 143, at once if the run has not ended within <see cref="TermGrace"/>.
/// </summary>
/// <remarks>
/// System.CommandLine's own handler is off (<c>ProcessTerminationTimeout = null</c> in <see cref="VqaApp"/>): it threw an
/// unhandled <see cref="InvalidOperationException"/> with its stack trace when Ctrl+C came twice.
/// </remarks>
internal sealed class Termination : IDisposable
{
    /// <summary>Exit code after SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>How long a run has after SIGTERM to stop by itself before the process ends.</summary>
    public static readonly TimeSpan TermGrace = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _cancel = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _signals;
    private int _code;

    /// <summary>Registers the handlers for SIGINT and SIGTERM.</summary>
    public Termination()
    {
        foreach (PosixSignal signal in (PosixSignal[])[PosixSignal.SIGINT, PosixSignal.SIGTERM])
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
            }
            catch (PlatformNotSupportedException)
            {
                // A platform without this signal: the runtime's default applies to it.
            }
        }
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The exit code the first signal asks for (130 or 143), or 0 before any.</summary>
    public int SignalCode => Volatile.Read(ref _code);

    /// <summary>The process's exit code for a run that returned <paramref name="code"/>: a cancelled run exits with its signal's code.</summary>
    public int ExitCode(int code) => code == VqaApp.Cancelled && SignalCode != 0 ? SignalCode : code;

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }

        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;   // the process does not end by the runtime's default; it ends here or when the run returns
        int code = context.Signal == PosixSignal.SIGTERM ? Terminated : VqaApp.Cancelled;
        if (Interlocked.Increment(ref _signals) > 1)
        {
            // A second signal: whatever still runs cannot be cancelled, or is too slow to; end now, quietly.
            Exit(SignalCode != 0 ? Math.Max(SignalCode, code) : code);
            return;
        }

        Volatile.Write(ref _code, code);
        _cancel.Cancel();
        if (code == Terminated)
        {
            _ = Task.Delay(TermGrace).ContinueWith(_ => Exit(Terminated), TaskScheduler.Default);
        }
    }

    private static void Exit(int code)
    {
        try
        {
            Console.Out.Flush();
            Console.Error.Flush();
        }
        catch (IOException)
        {
            // A closed pipe: nothing more can be said.
        }

        Environment.Exit(code);
    }
}
