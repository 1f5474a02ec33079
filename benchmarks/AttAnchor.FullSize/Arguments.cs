using System.Globalization;

namespace AttAnchor.FullSize;

/// <summary>The <c>--name value</c> options and <c>--flag</c> switches after a command.</summary>
internal sealed class Arguments
{
    private static readonly HashSet<string> Flags = ["--skip-pytorch", "--skip-six"];
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public static Arguments Parse(IReadOnlyList<string> args)
    {
        var parsed = new Arguments();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{name}'");
            }

            if (Flags.Contains(name))
            {
                parsed._flags.Add(name);
            }
            else if (i + 1 < args.Count)
            {
                parsed._values[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"{name} needs a value");
            }
        }

        return parsed;
    }

    public bool Has(string flag) => _flags.Contains(flag);

    public string? Value(string name) => _values.GetValueOrDefault(name);

    public string Required(string name) => Value(name) ?? throw new ArgumentException($"{name} is required");

    public int Int(string name, int fallback, int minimum)
    {
        string? text = Value(name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= minimum
            ? value
            : throw new ArgumentException($"{name} must be an integer ≥ {minimum}, not '{text}'");
    }
}
