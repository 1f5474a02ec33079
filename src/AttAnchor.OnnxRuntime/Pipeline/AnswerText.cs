using System.Text;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// An answer's text as it streams, with its stop strings: text that could still grow into a stop string is held
/// back, and a stop string found ends the answer just before it.
/// </summary>
internal sealed class AnswerText(IReadOnlyList<string> stopStrings)
{
    private readonly StringBuilder _text = new();
    private readonly int _maxStop = stopStrings.Count == 0 ? 0 : stopStrings.Max(s => s.Length);
    private int _emitted; // chars of _text already returned

    /// <summary>The text returned so far: the whole answer once it has stopped.</summary>
    public string Text => _text.ToString(0, _emitted);

    /// <summary>
    /// Adds a piece and returns the text that may now be shown. <paramref name="stop"/> says whether the answer ends
    /// with this piece (then nothing is held back); a stop string found sets it to <see cref="StopReason.StopString"/>.
    /// </summary>
    public string Append(string piece, ref StopReason? stop)
    {
        _text.Append(piece);
        if (stop is null && _maxStop == 0)
        {
            _emitted = _text.Length; // the common case: the piece is the new text, no second string
            return piece;
        }

        int end = _text.Length;
        if (_maxStop > 0)
        {
            int from = Math.Max(0, _emitted - _maxStop + 1);
            string window = _text.ToString(from, _text.Length - from);
            int hit = -1;
            foreach (string s in stopStrings)
            {
                int at = window.IndexOf(s, StringComparison.Ordinal);
                if (at >= 0 && (hit < 0 || at < hit))
                {
                    hit = at;
                }
            }

            if (hit >= 0)
            {
                end = from + hit;
                _text.Length = end;
                stop = StopReason.StopString;
            }
            else if (stop is null)
            {
                end = _text.Length - HeldBack(window);
            }
        }

        if (end <= _emitted)
        {
            return string.Empty;
        }

        string text = _text.ToString(_emitted, end - _emitted);
        _emitted = end;
        return text;
    }

    /// <summary>The length of the longest tail of <paramref name="window"/> that is the start of a stop string.</summary>
    private int HeldBack(string window)
    {
        for (int keep = Math.Min(_maxStop - 1, window.Length); keep > 0; keep--)
        {
            ReadOnlySpan<char> tail = window.AsSpan(window.Length - keep);
            foreach (string s in stopStrings)
            {
                if (s.AsSpan().StartsWith(tail, StringComparison.Ordinal))
                {
                    return keep;
                }
            }
        }

        return 0;
    }
}
