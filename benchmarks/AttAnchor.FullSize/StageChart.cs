using System.Globalization;
using AttAnchor.Vqa.Drawing;
using SkiaSharp;

namespace AttAnchor.FullSize;

/// <summary>The PNG beside the table: one horizontal bar per system and setting, its median stages stacked left to right.</summary>
internal static class StageChart
{
    private const int Scale = 2;
    private const int Width = 1400;
    private const int Left = 400;           // the bars start here; the row names are to the left
    private const int Right = 150;          // room for the total after the longest bar
    private const int RowHeight = 44;
    private const int BarHeight = 28;

    private static readonly SKColor[] Colors =
    [
        new(0x8d, 0xa0, 0xcb), // preprocess
        new(0x66, 0xc2, 0xa5), // vision
        new(0xa6, 0xd8, 0x54), // projector
        new(0xe5, 0xc4, 0x94), // embed
        new(0xe7, 0x8a, 0xc3), // AttAnchor
        new(0xfc, 0x8d, 0x62), // prefill
        new(0x4f, 0x6d, 0xaa), // decode
    ];

    public static void Save(IReadOnlyList<Row> rows, string path, string title)
    {
        int top = 96;
        int height = top + (Math.Max(1, rows.Count) * RowHeight) + 70;
        var info = new SKImageInfo(Width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info);
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        var ink = new SKColor(0x22, 0x22, 0x22);
        var grey = new SKColor(0x88, 0x88, 0x88);
        PixelFont.Draw(canvas, title, 16, 14, Scale, ink);

        // Legend.
        string[] labels = [.. Row.Stages.Select(s => s.Label), "decode (all steps)"];
        float x = 16;
        using var fill = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        for (int i = 0; i < labels.Length; i++)
        {
            fill.Color = Colors[i];
            canvas.DrawRect(x, 48, 16, 16, fill);
            PixelFont.Draw(canvas, labels[i], x + 22, 50, Scale, ink);
            x += 22 + PixelFont.MeasureWidth(labels[i], Scale) + 24;
        }

        double[][] segments = [.. rows.Select(Segments)];
        double longest = segments.Select(s => s.Sum()).DefaultIfEmpty(1).Max();
        double step = Nice(longest / 6);
        double axis = Math.Max(step, Math.Ceiling(longest / step) * step);
        float plot = Width - Left - Right;
        float Scaled(double ms) => (float)(ms / axis * plot);

        // Grid and axis.
        using var line = new SKPaint { IsAntialias = false, Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1 };
        float bottom = top + (rows.Count * RowHeight);
        for (double tick = 0; tick <= axis + (step / 2); tick += step)
        {
            float at = Left + Scaled(tick);
            canvas.DrawLine(at, top - 6, at, bottom, line);
            string text = Label(tick, axis);
            PixelFont.DrawCentered(canvas, text, at, bottom + 8, Scale, grey);
        }

        PixelFont.DrawCentered(canvas, axis >= 10_000 ? "seconds" : "milliseconds", Left + (plot / 2), bottom + 34, Scale, grey);

        for (int r = 0; r < rows.Count; r++)
        {
            float y = top + (r * RowHeight) + ((RowHeight - BarHeight) / 2f);
            string name = rows[r].DisplayName;
            PixelFont.Draw(canvas, PixelFont.Fit(name, Left - 24, Scale), 16, y + 7, Scale, ink);
            float at = Left;
            for (int s = 0; s < segments[r].Length; s++)
            {
                float w = Scaled(segments[r][s]);
                fill.Color = Colors[s];
                canvas.DrawRect(at, y, w, BarHeight, fill);
                at += w;
            }

            PixelFont.Draw(canvas, Label(segments[r].Sum(), axis), at + 8, y + 7, Scale, ink);
        }

        using SKImage image = surface.Snapshot();
        using SKData png = image.Encode(SKEncodedImageFormat.Png, 100);
        using FileStream file = File.Create(path);
        png.SaveTo(file);
    }

    /// <summary>The median of each stage, then the decode steps in all (ms per token × steps); absent stages are 0.</summary>
    private static double[] Segments(Row row) =>
        [.. Row.Stages.Select(s => row.Median(s.Key)).Append(row.DecodeTotal).Select(v => double.IsFinite(v) && v > 0 ? v : 0)];

    private static string Label(double ms, double axis) => axis >= 10_000
        ? (ms / 1000).ToString(ms % 1000 == 0 ? "F0" : "F1", CultureInfo.InvariantCulture) + (ms == 0 ? string.Empty : " s")
        : ms.ToString(ms < 10 ? "0.##" : "F0", CultureInfo.InvariantCulture);

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="raw"/>.</summary>
    internal static double Nice(double raw)
    {
        if (!(raw > 0))
        {
            return 1;
        }

        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        return raw <= power ? power : raw <= 2 * power ? 2 * power : raw <= 5 * power ? 5 * power : 10 * power;
    }
}
