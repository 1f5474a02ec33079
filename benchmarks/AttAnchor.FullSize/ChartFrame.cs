using AttAnchor.Visualization;
using SkiaSharp;

namespace AttAnchor.FullSize;

/// <summary>
/// What the benchmark's horizontal bar charts share: a white canvas with the title and a colour legend in the pixel
/// font, rows below them, a linear value axis with 1-2-5 ticks and grid lines, and PNG output. No anti-aliasing,
/// so the pixels are the same on every machine.
/// </summary>
internal sealed class ChartFrame : IDisposable
{
    public const int Scale = 2;
    public const int Width = 1400;
    public const int Left = 400;            // the bars start here; the row names are to the left
    public const int Top = 96;              // the first row; the title and legend are above

    private readonly SKSurface _surface;
    private readonly int _right;
    private readonly float _bottom;

    /// <param name="rows">How many rows of <paramref name="rowHeight"/> pixels.</param>
    /// <param name="right">Room after the longest bar, for its label.</param>
    /// <param name="longest">The largest value a bar reaches: the axis ends at the first tick at or above it.</param>
    public ChartFrame(string title, IReadOnlyList<(string Label, SKColor Color)> legend, int rows, int rowHeight, int right, double longest)
    {
        _right = right;
        _bottom = Top + (rows * rowHeight);
        int height = Top + (Math.Max(1, rows) * rowHeight) + 70;
        _surface = SKSurface.Create(new SKImageInfo(Width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        Canvas.Clear(SKColors.White);
        PixelFont.Draw(Canvas, title, 16, 14, Scale, Ink);

        float x = 16;
        foreach (var (label, color) in legend)
        {
            Fill.Color = color;
            Canvas.DrawRect(x, 48, 16, 16, Fill);
            PixelFont.Draw(Canvas, label, x + 22, 50, Scale, Ink);
            x += 22 + PixelFont.MeasureWidth(label, Scale) + 24;
        }

        Step = Nice(longest / 6);
        Axis = Math.Max(Step, Math.Ceiling(longest / Step) * Step);
    }

    public static SKColor Ink { get; } = new(0x22, 0x22, 0x22);

    public static SKColor Grey { get; } = new(0x88, 0x88, 0x88);

    public SKCanvas Canvas => _surface.Canvas;

    /// <summary>A fill paint for bars; set its colour before each use.</summary>
    public SKPaint Fill { get; } = new() { IsAntialias = false, Style = SKPaintStyle.Fill };

    /// <summary>The axis's tick step.</summary>
    public double Step { get; }

    /// <summary>The axis's end.</summary>
    public double Axis { get; }

    /// <summary>The plot's width in pixels.</summary>
    public float Plot => Width - Left - _right;

    /// <summary>A value's bar length in pixels; 0 for a value that is not finite.</summary>
    public float Scaled(double value) => double.IsFinite(value) ? (float)(value / Axis * Plot) : 0;

    /// <summary>The grid lines, the tick labels under the rows and the axis title under them.</summary>
    public void DrawAxis(Func<double, string> tickLabel, string title)
    {
        using var line = new SKPaint { IsAntialias = false, Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1 };
        for (double tick = 0; tick <= Axis + (Step / 2); tick += Step)
        {
            float at = Left + Scaled(tick);
            Canvas.DrawLine(at, Top - 6, at, _bottom, line);
            PixelFont.DrawCentered(Canvas, tickLabel(tick), at, _bottom + 8, Scale, Grey);
        }

        PixelFont.DrawCentered(Canvas, title, Left + (Plot / 2), _bottom + 34, Scale, Grey);
    }

    /// <summary>A row's name, fitted to the space left of the bars.</summary>
    public void DrawRowName(string name, float y) => PixelFont.Draw(Canvas, PixelFont.Fit(name, Left - 24, Scale), 16, y, Scale, Ink);

    public void Save(string path)
    {
        using SKImage image = _surface.Snapshot();
        using SKData png = image.Encode(SKEncodedImageFormat.Png, 100);
        using FileStream file = File.Create(path);
        png.SaveTo(file);
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="raw"/>.</summary>
    private static double Nice(double raw)
    {
        if (!(raw > 0))
        {
            return 1;
        }

        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        return raw <= power ? power : raw <= 2 * power ? 2 * power : raw <= 5 * power ? 5 * power : 10 * power;
    }

    public void Dispose()
    {
        Fill.Dispose();
        _surface.Dispose();
    }
}
