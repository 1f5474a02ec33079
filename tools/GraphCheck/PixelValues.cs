using AttAnchor.OnnxRuntime;
using SkiaSharp;

namespace AttAnchor.GraphCheck;

/// <summary>
/// Builds the vision encoder's <c>pixel_values</c> from already-resized 8-bit RGB PNG crops with the library's
/// normalisation (bit for bit the NumPy reference's), channels first.
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

    /// <summary>
    /// Reads the PNG crops and normalises them with the library's <see cref="ImagePreprocessor.Normalize"/>, as the
    /// model would: <c>pixel_values</c> [B, 3, S, S], float32.
    /// </summary>
    /// <param name="pngPaths">The B crop files, each S × S for the model's <c>image_size</c> S.</param>
    /// <param name="settings">The model's attanchor.json.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="GraphCheckException">No crop is given, or a crop is not S × S.</exception>
    public static HostTensor FromPngFiles(IEnumerable<string> pngPaths, ModelConfig settings)
    {
        ArgumentNullException.ThrowIfNull(pngPaths);
        ArgumentNullException.ThrowIfNull(settings);
        RgbImage[] images = [.. pngPaths.Select(ReadPng)];
        if (images.Length == 0)
        {
            throw new GraphCheckException("pixel_values: no crop was given.");
        }

        int size = settings.ImageSize, plane = 3 * size * size;
        var values = new float[checked(images.Length * plane)];
        for (int b = 0; b < images.Length; b++)
        {
            RgbImage image = images[b];
            if (image.Width != size || image.Height != size)
            {
                throw new GraphCheckException($"pixel_values: crop {b} is {image.Width}×{image.Height}, but the model's image_size is {size}.");
            }

            ImagePreprocessor.Normalize(image.Rgb, settings, values.AsSpan(b * plane, plane));
        }

        return HostTensor.FromSingles(values, images.Length, 3, size, size);
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
