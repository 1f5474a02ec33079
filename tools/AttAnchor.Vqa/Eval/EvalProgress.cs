using System.Globalization;
using System.Text;
using Spectre.Console;

namespace AttAnchor.Vqa.Eval;

/// <summary>
/// What <c>eval</c> tells stderr while it runs: Spectre.Console bars on a terminal (<see cref="Bars"/>), else plain
/// lines (<see cref="Lines"/>): one every <c>--progress-interval</c> seconds while a split runs, and one per finished
/// run and split. <see cref="Terminal.IsTerminal"/> picks which.
/// </summary>
internal abstract class EvalProgress
{
    /// <summary>Seconds between two progress lines when <c>--progress-interval</c> is not given.</summary>
    public const int DefaultIntervalSeconds = 10;

    /// <summary>A run (model × config) begins.</summary>
    public abstract void RunStarted(int run);

    /// <summary>A split of a run begins.</summary>
    public abstract void SplitStarted(int run, string split, int items);

    /// <summary>One more question of the current split is answered.</summary>
    public abstract void ItemDone(int run);

    /// <summary>The current split of a run is scored.</summary>
    public abstract void SplitDone(int run, SplitReport split);

    /// <summary>
    /// Plain lines for a file or a CI log, timed by <paramref name="clock"/>: while a split runs, a line such as
    /// <c>[1/2] attanchor / off · pope_random: 120/300 questions (40 %), 31 s elapsed, ~46 s left</c> after a question
    /// is answered when <paramref name="interval"/> has passed since the last line; at a split's end its metrics.
    /// </summary>
    public sealed class Lines(TextWriter stderr, IReadOnlyList<string> labels, TimeProvider clock, TimeSpan interval) : EvalProgress
    {
        private string _split = string.Empty;
        private int _items;
        private int _done;
        private long _splitStart;
        private long _lastLine;

        /// <inheritdoc/>
        public override void RunStarted(int run)
        {
        }

        /// <inheritdoc/>
        public override void SplitStarted(int run, string split, int items)
        {
            (_split, _items, _done) = (split, items, 0);
            _splitStart = _lastLine = clock.GetTimestamp();
        }

        /// <inheritdoc/>
        public override void ItemDone(int run)
        {
            _done++;
            long now = clock.GetTimestamp();
            if (_done >= _items || clock.GetElapsedTime(_lastLine, now) < interval)
            {
                return;   // the split's own line follows its last question
            }

            _lastLine = now;
            TimeSpan elapsed = clock.GetElapsedTime(_splitStart, now);
            TimeSpan left = elapsed * ((double)(_items - _done) / _done);
            Write(string.Create(CultureInfo.InvariantCulture,
                $"{Prefix(run)}: {_done}/{_items} questions ({100L * _done / _items} %), {Duration(elapsed)} elapsed, ~{Duration(left)} left"));
        }

        /// <inheritdoc/>
        public override void SplitDone(int run, SplitReport split)
        {
            long now = clock.GetTimestamp();
            _lastLine = now;
            var line = new StringBuilder();
            line.Append(CultureInfo.InvariantCulture, $"{Prefix(run)}: {split.Items.Count} items");
            if (split.Metrics.YesNo is { } b)
            {
                line.Append(CultureInfo.InvariantCulture, $", acc {b.Accuracy * 100:F1}% F1 {b.F1 * 100:F1}% yes {b.YesRatio * 100:F1}%");
            }

            if (split.Metrics.Open is { } o)
            {
                line.Append(CultureInfo.InvariantCulture, $", EM {o.ExactMatch * 100:F1}% of {o.Count}");
            }

            line.Append(CultureInfo.InvariantCulture, $" ({clock.GetElapsedTime(_splitStart, now).TotalSeconds:F1} s)");
            Write(line.ToString());
        }

        /// <summary>A duration as a progress line shows it: <c>31 s</c>, <c>12 min 5 s</c>, <c>2 h 3 min</c>.</summary>
        public static string Duration(TimeSpan time)
        {
            long seconds = (long)Math.Round(Math.Max(0, time.TotalSeconds));
            return seconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{seconds} s")
                : seconds < 3600 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 60} min {seconds % 60} s")
                : string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600} h {seconds % 3600 / 60} min");
        }

        private string Prefix(int run) => string.Create(CultureInfo.InvariantCulture, $"[{run + 1}/{labels.Count}] {labels[run]} · {_split}");

        private void Write(string line)
        {
            stderr.WriteLine(line);
            stderr.Flush();
        }
    }

    /// <summary>Spectre.Console bars, one per run, for a terminal.</summary>
    public sealed class Bars(ProgressTask[] bars) : EvalProgress
    {
        /// <inheritdoc/>
        public override void RunStarted(int run) => bars[run].StartTask();

        /// <inheritdoc/>
        public override void SplitStarted(int run, string split, int items)
        {
        }

        /// <inheritdoc/>
        public override void ItemDone(int run) => bars[run].Increment(1);

        /// <inheritdoc/>
        public override void SplitDone(int run, SplitReport split)
        {
        }
    }
}
