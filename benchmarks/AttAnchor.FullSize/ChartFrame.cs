using AttAnchor.Visualization;
using SkiaSharp;

namespace AttAnchor.FullSize;

/// <summary>
/// What the benchmark's horizontal bar charts share: a <see cref="ChartCanvas"/> with the title and a colour legend in
/// the pixel font, rows below them, and a linear value axis with 1-2-5 ticks and grid lines.
/// </summary>
internal sealed class ChartFrame : IDisposable
{
    public const int Scale = 2;
    public const int Width = 1400;
    public const int Left = 400;            // the bars start here; the row names are to the left
    public const int Top = 96;              // the first row; the title and legend are above

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
        Canvas = new ChartCanvas(Width, height);
        Canvas.Text(title, 16, 14, Scale, Ink);

        float x = 16;
        foreach (var (label, color) in legend)
        {
            Canvas.Swatch(x, 48, color);
            Canvas.Text(label, x + 22, 50, Scale, Ink);
            x += 22 + PixelFont.MeasureWidth(label, Scale) + 24;
        }

        Step = Nice(longest / 6);
        Axis = Math.Max(Step, Math.Ceiling(longest / Step) * Step);
    }

    public static SKColor Ink => ChartCanvas.Ink;

    public static SKColor Grey { get; } = new(0x88, 0x88, 0x88);

    /// <summary>The canvas the rows' bars and labels are drawn on.</summary>
    public ChartCanvas Canvas { get; }

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
        using var line = new SKPaint { IsAntialias = false, Color = ChartCanvas.GridLine, StrokeWidth = 1 };
        for (double tick = 0; tick <= Axis + (Step / 2); tick += Step)
        {
            float at = Left + Scaled(tick);
            Canvas.Canvas.DrawLine(at, Top - 6, at, _bottom, line);
            Canvas.CenteredText(tickLabel(tick), at, _bottom + 8, Scale, Grey);
        }

        Canvas.CenteredText(title, Left + (Plot / 2), _bottom + 34, Scale, Grey);
    }

    /// <summary>A row's name, fitted to the space left of the bars.</summary>
    public void DrawRowName(string name, float y) => Canvas.Text(PixelFont.Fit(name, Left - 24, Scale), 16, y, Scale, Ink);

    public void Save(string path) => Canvas.SavePng(path);

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

    public void Dispose() => Canvas.Dispose();
}
