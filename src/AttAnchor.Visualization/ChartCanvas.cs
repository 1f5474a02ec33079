using AttAnchor.Skia;
using SkiaSharp;

namespace AttAnchor.Visualization;

/// <summary>
/// What the repository's report charts share (the evaluator's bar chart and the full-size benchmark's bar charts):
/// a white canvas, filled rectangles for bars and legend swatches, <see cref="PixelFont"/> text, and PNG output.
/// Nothing is anti-aliased, so a chart has the same pixels on every machine.
/// </summary>
internal sealed class ChartCanvas : IDisposable
{
    /// <summary>The side of a legend's colour swatch.</summary>
    public const int SwatchSide = 16;

    private readonly SKBitmap _bitmap;
    private readonly SKPaint _fill = new() { IsAntialias = false, Style = SKPaintStyle.Fill };

    /// <summary>A white canvas of <paramref name="width"/> × <paramref name="height"/> pixels (RGBA, premultiplied).</summary>
    public ChartCanvas(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        SkiaNative.EnsureLoaded();
        _bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        Canvas = new SKCanvas(_bitmap);
        Canvas.Clear(SKColors.White);
    }

    /// <summary>The charts' text and axis colour.</summary>
    public static SKColor Ink { get; } = new(0x22, 0x22, 0x22);

    /// <summary>The charts' grid lines.</summary>
    public static SKColor GridLine { get; } = new(0xDD, 0xDD, 0xDD);

    /// <summary>The width in pixels.</summary>
    public int Width => _bitmap.Width;

    /// <summary>The height in pixels.</summary>
    public int Height => _bitmap.Height;

    /// <summary>The SkiaSharp canvas, for what a chart draws its own way.</summary>
    public SKCanvas Canvas { get; }

    /// <summary>Fills a rectangle (a bar, an axis line) with <paramref name="color"/>.</summary>
    public void Fill(float left, float top, float width, float height, SKColor color)
    {
        _fill.Color = color;
        Canvas.DrawRect(left, top, width, height, _fill);
    }

    /// <summary>A legend's <see cref="SwatchSide"/>-pixel square of <paramref name="color"/> with its top-left corner at (<paramref name="left"/>, <paramref name="top"/>).</summary>
    public void Swatch(float left, float top, SKColor color) => Fill(left, top, SwatchSide, SwatchSide, color);

    /// <summary>One line of text with the top-left corner of its capitals at (<paramref name="left"/>, <paramref name="top"/>) (<see cref="PixelFont.Draw"/>).</summary>
    public void Text(string text, float left, float top, int scale, SKColor color) => PixelFont.Draw(Canvas, text, left, top, scale, color);

    /// <summary>One line of text centred on <paramref name="centerX"/>, its top at <paramref name="top"/> (<see cref="PixelFont.DrawCentered"/>).</summary>
    public void CenteredText(string text, float centerX, float top, int scale, SKColor color) => PixelFont.DrawCentered(Canvas, text, centerX, top, scale, color);

    /// <summary>Writes the chart as a PNG file, replacing one that is there.</summary>
    /// <exception cref="InvalidOperationException">SkiaSharp could not encode the PNG.</exception>
    public void SavePng(string path)
    {
        Canvas.Flush();
        using SKData png = _bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the chart as PNG.");
        using FileStream file = File.Create(path);
        png.SaveTo(file);
    }

    public void Dispose()
    {
        _fill.Dispose();
        Canvas.Dispose();
        _bitmap.Dispose();
    }
}
