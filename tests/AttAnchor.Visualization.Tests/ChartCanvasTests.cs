using AttAnchor.TestSupport;
using SkiaSharp;

namespace AttAnchor.Visualization.Tests;

/// <summary>
/// <see cref="ChartCanvas"/>, read back from the PNG it writes: a white page, rectangles and swatches exactly where
/// and in the colour asked for, pixel-font text with exactly the font's ink, and sizes it refuses.
/// </summary>
public sealed class ChartCanvasTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-chart-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private SKBitmap Saved(ChartCanvas chart)
    {
        string path = Path.Combine(_folder, "chart.png");
        File.WriteAllText(path, "an old file, longer than nothing");
        chart.SavePng(path);
        byte[] png = File.ReadAllBytes(path);
        Assert.Equal(0x89, png[0]);
        return PngImages.Decode(png);
    }

    private static int Count(SKBitmap bitmap, SKColor color, int left, int top, int right, int bottom)
    {
        int count = 0;
        for (int y = top; y < bottom; y++)
        {
            for (int x = left; x < right; x++)
            {
                count += bitmap.GetPixel(x, y) == color ? 1 : 0;
            }
        }

        return count;
    }

    [Fact]
    public void A_new_canvas_is_white_and_of_the_size_asked_for()
    {
        using var chart = new ChartCanvas(120, 40);

        using SKBitmap png = Saved(chart);

        Assert.Equal((120, 40), (chart.Width, chart.Height));
        Assert.Equal((120, 40), (png.Width, png.Height));
        Assert.All(png.Pixels, p => Assert.Equal(SKColors.White, p));
    }

    [Fact]
    public void Fill_and_Swatch_paint_exactly_their_rectangles()
    {
        var bar = new SKColor(0x3B, 0x6E, 0xC4);
        var swatch = new SKColor(0xE0, 0x7A, 0x1F);
        using var chart = new ChartCanvas(100, 60);

        chart.Fill(10, 5, 30, 20, bar);
        chart.Swatch(50, 30, swatch);
        chart.Fill(0, 59, 100, 1, ChartCanvas.GridLine);

        using SKBitmap png = Saved(chart);
        Assert.Equal(30 * 20, Count(png, bar, 0, 0, 100, 60));
        Assert.Equal(30 * 20, Count(png, bar, 10, 5, 40, 25));
        Assert.Equal(ChartCanvas.SwatchSide * ChartCanvas.SwatchSide, Count(png, swatch, 0, 0, 100, 60));
        Assert.Equal(ChartCanvas.SwatchSide * ChartCanvas.SwatchSide, Count(png, swatch, 50, 30, 50 + ChartCanvas.SwatchSide, 30 + ChartCanvas.SwatchSide));
        Assert.Equal(100, Count(png, ChartCanvas.GridLine, 0, 59, 100, 60));
        Assert.Equal((100 * 60) - (30 * 20) - (16 * 16) - 100, Count(png, SKColors.White, 0, 0, 100, 60));
    }

    [Fact]
    public void Text_has_exactly_the_fonts_ink_and_CenteredText_is_centred()
    {
        const string Text = "Hi 42%";
        int ink = Text.Sum(c => Enumerable.Range(0, PixelFont.LineHeight).Sum(row => Enumerable.Range(0, PixelFont.GlyphWidth).Count(column => PixelFont.IsInk(c, row, column)))) * 4;
        int width = PixelFont.MeasureWidth(Text, 2);
        using var chart = new ChartCanvas(200, 60);

        chart.Text(Text, 10, 4, 2, ChartCanvas.Ink);
        chart.CenteredText(Text, 100, 32, 2, ChartCanvas.Ink);

        using SKBitmap png = Saved(chart);
        Assert.Equal(ink, Count(png, ChartCanvas.Ink, 10, 4, 10 + width, 4 + (PixelFont.LineHeight * 2)));
        Assert.Equal(ink, Count(png, ChartCanvas.Ink, 100 - (width / 2), 32, 100 + (width / 2), 32 + (PixelFont.LineHeight * 2)));
        Assert.Equal(2 * ink, Count(png, ChartCanvas.Ink, 0, 0, 200, 60));
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(10, 0)]
    [InlineData(-1, 10)]
    public void Sizes_under_one_pixel_are_refused(int width, int height) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChartCanvas(width, height));
}
