using SkiaSharp;

namespace AttAnchor.TestSupport;

/// <summary>PNG files as the tests compare them: decoded to pixels that can be read one by one.</summary>
public static class PngImages
{
    /// <summary>PNG bytes decoded to the platform's 32-bit colours (what <see cref="SKBitmap.Pixels"/> reads directly).</summary>
    public static SKBitmap Decode(byte[] png)
    {
        SKImageInfo bounds = SKBitmap.DecodeBounds(png);
        Assert.True(bounds.Width > 0, "not a PNG");
        return SKBitmap.Decode(png, new SKImageInfo(bounds.Width, bounds.Height, SKImageInfo.PlatformColorType, SKAlphaType.Unpremul));
    }
}
