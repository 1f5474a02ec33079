using System.Globalization;
using System.Text.Json.Nodes;
using AttAnchor.Vqa.Drawing;
using SkiaSharp;

namespace AttAnchor.FullSize;

/// <summary>
/// The PNG beside the six-questions table: for each AttAnchor setting, the median questions per second from scratch
/// and from an image session, one horizontal bar each, the session's bar labelled with its speed-up.
/// </summary>
internal static class SixChart
{
    private const int Scale = 2;
    private const int Width = 1400;
    private const int Left = 400;
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
        int top = 96;
        int height = top + (Math.Max(1, groups.Count) * GroupHeight) + 70;
        var info = new SKImageInfo(Width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info);
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        var ink = new SKColor(0x22, 0x22, 0x22);
        var grey = new SKColor(0x88, 0x88, 0x88);
        PixelFont.Draw(canvas, title, 16, 14, Scale, ink);

        using var fill = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        float x = 16;
        foreach (var (label, color) in new[] { ("from scratch (model.AnswerAsync each)", ScratchColor), ("image session (OpenImage once)", SessionColor) })
        {
            fill.Color = color;
            canvas.DrawRect(x, 48, 16, 16, fill);
            PixelFont.Draw(canvas, label, x + 22, 50, Scale, ink);
            x += 22 + PixelFont.MeasureWidth(label, Scale) + 24;
        }

        double longest = groups.SelectMany(g => new[] { g.Scratch, g.Session }).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        double step = StageChart.Nice(longest / 6);
        double axis = Math.Max(step, Math.Ceiling(longest / step) * step);
        float plot = Width - Left - Right;
        float Scaled(double value) => double.IsFinite(value) ? (float)(value / axis * plot) : 0;

        using var line = new SKPaint { IsAntialias = false, Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1 };
        float bottom = top + (groups.Count * GroupHeight);
        for (double tick = 0; tick <= axis + (step / 2); tick += step)
        {
            float at = Left + Scaled(tick);
            canvas.DrawLine(at, top - 6, at, bottom, line);
            PixelFont.DrawCentered(canvas, Number(tick), at, bottom + 8, Scale, grey);
        }

        PixelFont.DrawCentered(canvas, "questions per second (median)", Left + (plot / 2), bottom + 34, Scale, grey);
        for (int g = 0; g < groups.Count; g++)
        {
            float y = top + (g * GroupHeight) + 10;
            PixelFont.Draw(canvas, PixelFont.Fit(groups[g].Setting, Left - 24, Scale), 16, y + BarHeight - 6, Scale, ink);
            (double Value, SKColor Color, string Note)[] bars =
            [
                (groups[g].Scratch, ScratchColor, string.Empty),
                (groups[g].Session, SessionColor, double.IsFinite(groups[g].Session / groups[g].Scratch) ? string.Create(CultureInfo.InvariantCulture, $"  ({groups[g].Session / groups[g].Scratch:F2}×)") : string.Empty),
            ];
            for (int b = 0; b < bars.Length; b++)
            {
                float top2 = y + (b * BarHeight);
                fill.Color = bars[b].Color;
                float w = Scaled(bars[b].Value);
                canvas.DrawRect(Left, top2, w, BarHeight - 4, fill);
                PixelFont.Draw(canvas, (double.IsFinite(bars[b].Value) ? Number(bars[b].Value) : "—") + bars[b].Note, Left + w + 8, top2 + 4, Scale, ink);
            }
        }

        using SKImage image = surface.Snapshot();
        using SKData png = image.Encode(SKEncodedImageFormat.Png, 100);
        using FileStream file = File.Create(path);
        png.SaveTo(file);
    }

    private static double Median(JsonObject? line)
    {
        double[] values = [.. (line?["runs"] as JsonArray ?? []).Select(r => r?["questions_per_second"] is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN).Where(double.IsFinite).Order()];
        return Stats.Median(values);
    }

    private static string Number(double value) => value.ToString(value < 1 ? "0.###" : value < 10 ? "0.##" : "0.#", CultureInfo.InvariantCulture);
}
