using AttAnchor.OnnxRuntime;
using SkiaSharp;

namespace AttAnchor.GraphCheck;

/// <summary>
/// Builds the vision encoder's <c>pixel_values</c> from already-resized 8-bit RGB PNG crops, bit for
/// bit as the NumPy reference does: <c>x = float32(u8 * (1.0 / 255))</c> (the product in double),
/// then <c>(x − mean[c]) / std[c]</c> in float32, channels first.
/// </summary>
public static class PixelValues
{
    /// <summary>An 8-bit RGB image: <see cref="Width"/> × <see cref="Height"/> pixels, R G B interleaved, rows top to bottom.</summary>
    /// <param name="Width">The width in pixels.</param>
    /// <param name="Height">The height in pixels.</param>
    /// <param name="Rgb">Width × Height × 3 bytes.</param>
    public sealed record RgbImage(int Width, int Height, byte[] Rgb);

    /// <summary>
    /// Decodes an 8-bit RGB (or RGBA) PNG to its exact stored RGB values: Skia decodes to unpremultiplied
    /// RGBA 8888 with no colour space, so no colour management, gamma or premultiplication touches them.
    /// </summary>
    /// <param name="path">The PNG file.</param>
    /// <returns>The RGB bytes.</returns>
    /// <exception cref="GraphCheckException">The file is missing, not a PNG, not 8-bit RGB, or does not decode.</exception>
    public static RgbImage ReadPng(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new GraphCheckException($"{path}: file not found.");
        }

        byte[] encoded = File.ReadAllBytes(path);
        RequireEightBitRgbPng(encoded, path);
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data) ?? throw new GraphCheckException($"{path}: SkiaSharp cannot decode this PNG.");
        int width = codec.Info.Width, height = codec.Info.Height;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul, colorspace: null);
        using var bitmap = new SKBitmap(info);
        SKCodecResult result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            throw new GraphCheckException($"{path}: SkiaSharp could not decode the PNG ({result}).");
        }

        ReadOnlySpan<byte> rgba = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        var rgb = new byte[checked(width * height * 3)];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = rgba.Slice(y * rowBytes, width * 4);
            Span<byte> destination = rgb.AsSpan(y * width * 3, width * 3);
            for (int x = 0; x < width; x++)
            {
                destination[3 * x] = row[4 * x];
                destination[(3 * x) + 1] = row[(4 * x) + 1];
                destination[(3 * x) + 2] = row[(4 * x) + 2];
            }
        }

        return new RgbImage(width, height, rgb);
    }

    /// <summary>Normalises images of one size into float32 <c>pixel_values</c> [B, 3, H, W].</summary>
    /// <param name="images">The B images, all H × W.</param>
    /// <param name="mean">The R, G, B mean (float32 casts of <c>image_mean</c>).</param>
    /// <param name="std">The R, G, B standard deviation (float32 casts of <c>image_std</c>).</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="GraphCheckException">No image is given, or the images differ in size.</exception>
    public static HostTensor Normalize(IReadOnlyList<RgbImage> images, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (mean.Length != 3 || std.Length != 3)
        {
            throw new ArgumentException("mean and std must hold three values (R, G, B).");
        }

        if (images.Count == 0)
        {
            throw new GraphCheckException("pixel_values: no crop was given.");
        }

        int width = images[0].Width, height = images[0].Height, plane = width * height;
        var values = new float[checked(images.Count * 3 * plane)];
        for (int b = 0; b < images.Count; b++)
        {
            RgbImage image = images[b];
            if (image.Width != width || image.Height != height)
            {
                throw new GraphCheckException(
                    $"pixel_values: crop {b} is {image.Width}×{image.Height} but crop 0 is {width}×{height}; a batch needs crops of one size.");
            }

            for (int c = 0; c < 3; c++)
            {
                float m = mean[c], s = std[c];
                Span<float> destination = values.AsSpan(((b * 3) + c) * plane, plane);
                for (int p = 0; p < plane; p++)
                {
                    float x = (float)(image.Rgb[(3 * p) + c] * (1.0 / 255));
                    destination[p] = (x - m) / s;
                }
            }
        }

        return HostTensor.FromSingles(values, images.Count, 3, height, width);
    }

    /// <summary>Reads the PNG crops and normalises them (see <see cref="Normalize"/>).</summary>
    /// <param name="pngPaths">The B crop files.</param>
    /// <param name="settings">The model's attanchor.json (mean and std, used as float32 as NumPy does).</param>
    /// <returns><c>pixel_values</c> [B, 3, H, W], float32.</returns>
    public static HostTensor FromPngFiles(IEnumerable<string> pngPaths, ModelConfig settings)
    {
        ArgumentNullException.ThrowIfNull(pngPaths);
        ArgumentNullException.ThrowIfNull(settings);
        return Normalize([.. pngPaths.Select(ReadPng)], [.. settings.ImageMean.Select(m => (float)m)], [.. settings.ImageStd.Select(s => (float)s)]);
    }

    /// <summary>Checks the PNG signature and the IHDR chunk: bit depth 8, colour type 2 (RGB) or 6 (RGBA).</summary>
    private static void RequireEightBitRgbPng(ReadOnlySpan<byte> png, string path)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 29 || !png[..8].SequenceEqual(signature) || !png.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            throw new GraphCheckException($"{path}: not a PNG file.");
        }

        byte bitDepth = png[24], colorType = png[25];
        if (bitDepth != 8 || colorType is not (2 or 6))
        {
            throw new GraphCheckException(
                $"{path}: the crop must be an 8-bit RGB PNG, but it has bit depth {bitDepth} and colour type {colorType} (2 = RGB, 6 = RGBA).");
        }
    }
}
