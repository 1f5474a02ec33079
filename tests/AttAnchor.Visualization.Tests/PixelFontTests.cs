using SkiaSharp;

namespace AttAnchor.Visualization.Tests;

/// <summary><see cref="PixelFont"/>: its glyphs, its measures and the ink it draws.</summary>
public sealed class PixelFontTests
{
    [Fact]
    public void The_pixel_font_has_every_printable_ascii_glyph_and_draws_ink()
    {
        for (char c = ' '; c <= '~'; c++)
        {
            Assert.True(PixelFont.Has(c), $"no glyph for '{c}'");
        }

        Assert.True(PixelFont.Has('τ'));
        Assert.False(PixelFont.Has('€'));
        Assert.Equal(((3 * PixelFont.Advance) - 1) * 2, PixelFont.MeasureWidth("abc", 2));
        Assert.Equal("abcd...", PixelFont.Fit("abcdefghijklmnop", PixelFont.MeasureWidth("abcdefg", 1), 1));
        Assert.Equal("short", PixelFont.Fit("short", 1000, 2));

        using var bitmap = new SKBitmap(40, 20);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            PixelFont.Draw(canvas, "Hi", 1, 1, 2, SKColors.Black);
        }

        // 'H': 2 columns of 7 and a 3-pixel bar; 'i': a dot, a 2-pixel serif, a 3-pixel stem and a 3-pixel foot; each font pixel is 2 × 2.
        int ink = bitmap.Pixels.Count(p => p == SKColors.Black);
        int expected = 0;
        foreach (char c in "Hi")
        {
            for (int row = 0; row < PixelFont.LineHeight; row++)
            {
                for (int column = 0; column < PixelFont.GlyphWidth; column++)
                {
                    expected += PixelFont.IsInk(c, row, column) ? 4 : 0;
                }
            }
        }

        Assert.Equal((17 + 9) * 4, expected);
        Assert.Equal(expected, ink);
    }
}
