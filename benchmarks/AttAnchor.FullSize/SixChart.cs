using System.Globalization;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace AttAnchor.FullSize;

/// <summary>
/// The PNG beside the six-questions table: for each AttAnchor setting, the median questions per second from scratch
/// and from an image session, one horizontal bar each, the session's bar labelled with its speed-up.
/// </summary>
internal static class SixChart
{
    private const int Right = 260;
    private const int BarHeight = 26;
    private const int GroupHeight = (2 * BarHeight) + 30;

    private static readonly SKColor ScratchColor = new(0x8d, 0xa0, 0xcb);
    private static readonly SKColor SessionColor = new(0xfc, 0x8d, 0x62);

    public static void Save(IReadOnlyList<JsonObject> lines, string path, string title)
    {
        // (setting, from scratch, image session): median questions per second.
        var groups = lines
            .GroupBy(l => (string?)l["setting"] ?? "?")
            .Select(g => (Setting: g.Key, Scratch: Median(g.FirstOrDefault(l => (string?)l["mode"] == "from scratch")), Session: Median(g.FirstOrDefault(l => (string?)l["mode"] == "image session"))))
            .ToList();
        double longest = groups.SelectMany(g => new[] { g.Scratch, g.Session }).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        using var chart = new ChartFrame(title, [("from scratch (model.AnswerAsync each)", ScratchColor), ("image session (OpenImage once)", SessionColor)], groups.Count, GroupHeight, Right, longest);
        chart.DrawAxis(Number, "questions per second (median)");

        for (int g = 0; g < groups.Count; g++)
        {
            float y = ChartFrame.Top + (g * GroupHeight) + 10;
            chart.DrawRowName(groups[g].Setting, y + BarHeight - 6);
            (double Value, SKColor Color, string Note)[] bars =
            [
                (groups[g].Scratch, ScratchColor, string.Empty),
                (groups[g].Session, SessionColor, double.IsFinite(groups[g].Session / groups[g].Scratch) ? string.Create(CultureInfo.InvariantCulture, $"  ({groups[g].Session / groups[g].Scratch:F2}×)") : string.Empty),
            ];
            for (int b = 0; b < bars.Length; b++)
            {
                float top = y + (b * BarHeight);
                float w = chart.Scaled(bars[b].Value);
                chart.Canvas.Fill(ChartFrame.Left, top, w, BarHeight - 4, bars[b].Color);
                chart.Canvas.Text((double.IsFinite(bars[b].Value) ? Number(bars[b].Value) : "—") + bars[b].Note, ChartFrame.Left + w + 8, top + 4, ChartFrame.Scale, ChartFrame.Ink);
            }
        }

        chart.Save(path);
    }

    private static double Median(JsonObject? line)
    {
        double[] values = [.. (line?["runs"] as JsonArray ?? []).Select(r => r?["questions_per_second"] is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN).Where(double.IsFinite).Order()];
        return Stats.Median(values);
    }

    private static string Number(double value) => value.ToString(value < 1 ? "0.###" : value < 10 ? "0.##" : "0.#", CultureInfo.InvariantCulture);
}
