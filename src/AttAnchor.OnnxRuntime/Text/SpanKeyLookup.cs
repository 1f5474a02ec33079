#if !NET10_0_OR_GREATER
using System.Diagnostics.CodeAnalysis;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// net8.0's stand-in for <c>Dictionary&lt;string, TValue&gt;.AlternateLookup&lt;ReadOnlySpan&lt;char&gt;&gt;</c> (.NET 9 and
/// later): the same answers, through a string made from the span.
/// </summary>
internal readonly struct SpanKeyLookup<TValue>(Dictionary<string, TValue> dictionary)
{
    public bool TryGetValue(ReadOnlySpan<char> key, [MaybeNullWhen(false)] out TValue value) => dictionary.TryGetValue(key.ToString(), out value);
}
#endif
