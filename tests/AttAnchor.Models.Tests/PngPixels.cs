using SkiaSharp;

namespace AttAnchor.Models.Tests;

/// <summary>PNG files read back for pixel comparisons (the console's anchor map here, the library's in AttAnchor.Visualization.Tests).</summary>
public static class PngPixels
{
    /// <summary>PNG bytes decoded to the platform's 32-bit colours (what <see cref="SKBitmap.Pixels"/> reads directly).</summary>
    public static SKBitmap Decode(byte[] png)
    {
        SKImageInfo bounds = SKBitmap.DecodeBounds(png);
        Assert.True(bounds.Width > 0, "not a PNG");
        return SKBitmap.Decode(png, new SKImageInfo(bounds.Width, bounds.Height, SKImageInfo.PlatformColorType, SKAlphaType.Unpremul));
    }
}
