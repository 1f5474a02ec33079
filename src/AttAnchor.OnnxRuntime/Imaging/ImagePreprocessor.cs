namespace AttAnchor.OnnxRuntime;

/// <summary>
/// The CLIP preprocessing a model applies before its vision encoder, bit for bit as <c>transformers</c>' LLaVA
/// processor (and the Python reference <c>tools/python/llavagen/imageproc.py</c>) does it: the 8-bit square crop its
/// <c>resize_mode</c> makes, then rescale and normalise into <c>pixel_values</c>.
/// </summary>
/// <remarks>See docs/images.md for each resize mode's geometry, Pillow's bicubic filter and the normalisation.</remarks>
public static class ImagePreprocessor
{
    /// <summary>The 8-bit crop a model sees: resized and cropped, padded or stretched to its <c>image_size</c> as <c>attanchor.json</c> says.</summary>
    /// <param name="image">The image.</param>
    /// <param name="config">The model's settings.</param>
    /// <returns>S × S × 3 bytes, R G B interleaved, rows top to bottom.</returns>
    /// <exception cref="InvalidDataException">The image's aspect ratio is too extreme to resample.</exception>
    public static byte[] GetCrop(ModelImage image, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return ResizeAndCrop(image, config.ImageSize, config.ResizeMode, [.. config.ImageMean]);
    }

    /// <summary>The <c>pixel_values</c> a model's vision encoder gets for an image, as float32.</summary>
    /// <param name="image">The image.</param>
    /// <param name="config">The model's settings.</param>
    /// <returns>3 × S × S values, channels first.</returns>
    /// <exception cref="InvalidDataException">The image's aspect ratio is too extreme to resample.</exception>
    public static float[] GetPixelValues(ModelImage image, ModelConfig config)
    {
        byte[] crop = GetCrop(image, config);
        var pixels = new float[crop.Length];
        Normalize(crop, config, pixels);
        return pixels;
    }

    /// <summary>Rescales and normalises a crop from <see cref="GetCrop"/> with a model's <c>image_mean</c> and <c>image_std</c>.</summary>
    /// <param name="crop">S × S × 3 bytes, R G B interleaved.</param>
    /// <param name="config">The model's settings.</param>
    /// <param name="destination">Receives 3 × S × S values, channels first.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public static void Normalize(ReadOnlySpan<byte> crop, ModelConfig config, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(config);
        Normalize(crop, config.ImageSize, [.. config.ImageMean.Select(m => (float)m)], [.. config.ImageStd.Select(s => (float)s)], destination);
    }

    /// <summary>
    /// The uint8 [size, size, 3] crop that <c>imageproc.py</c>'s <c>resize_and_crop</c> (after
    /// <c>expand_to_square</c> for <see cref="ResizeMode.PadToSquare"/>) makes, with Pillow's bicubic
    /// resize (<see cref="PilBicubic"/>); each mode's geometry is in docs/images.md. Only the crop is computed:
    /// neither the padded square nor the full shortest-edge resize is held in memory.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="size">The side of the square, <c>image_size</c>.</param>
    /// <param name="mode">The resize mode.</param>
    /// <param name="mean">
    /// R, G, B <c>image_mean</c> as the JSON's doubles (Python computes the padding colour from the float64
    /// values, and a float32 cast can land on the other side of an integer). Only <see cref="ResizeMode.PadToSquare"/> uses it.
    /// </param>
    /// <returns>size × size × 3 bytes, R G B interleaved, rows top to bottom.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1 or too large, or <paramref name="mode"/> is not defined.</exception>
    /// <exception cref="ArgumentException"><paramref name="mean"/> does not hold three finite numbers.</exception>
    /// <exception cref="InvalidDataException">The image's aspect ratio is so extreme that its shortest-edge resize has a side beyond 2^31 − 1 pixels.</exception>
    internal static byte[] ResizeAndCrop(ModelImage image, int size, ResizeMode mode, ReadOnlySpan<double> mean)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (3L * size * size > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "A size × size × 3 crop must fit in one array.");
        }

        if (mean.Length != 3 || !double.IsFinite(mean[0]) || !double.IsFinite(mean[1]) || !double.IsFinite(mean[2]))
        {
            throw new ArgumentException($"The mean must hold three finite numbers (R, G, B); it holds {mean.Length} values.", nameof(mean));
        }

        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Not a defined ResizeMode.");
        }

        ReadOnlySpan<byte> rgb = image.Rgb.Span;
        int width = image.Width, height = image.Height;
        if (mode == ResizeMode.PadToSquare && width != height)
        {
            // expand_to_square, then the shortest-edge resize of a square: straight to size × size.
            int side = Math.Max(width, height);
            var canvas = new Canvas(rgb, width, height, side, side, (side - width) / 2, (side - height) / 2, Fill(mean[0]), Fill(mean[1]), Fill(mean[2]));
            var padded = new byte[3 * size * size];
            PilBicubic.Resample(canvas, size, size, 0, 0, size, size, padded);
            return padded;
        }

        if (mode == ResizeMode.Stretch)
        {
            var stretched = new byte[3 * size * size];
            PilBicubic.Resample(new Canvas(rgb, width, height), size, size, 0, 0, size, size, stretched);
            return stretched;
        }

        (long newWidth, long newHeight) = ShortestEdgeSize(width, height, size);
        if (newWidth > int.MaxValue || newHeight > int.MaxValue)
        {
            throw new InvalidDataException(
                $"{Describe(image)} is {width}×{height}: resizing its shorter side to {size} would make the longer side {Math.Max(newWidth, newHeight):N0} pixels, " +
                "more than can be resampled. Crop it to a less extreme aspect ratio, or use a model whose resize_mode is pad_to_square or stretch.");
        }

        int left = (int)((newWidth - size) / 2), top = (int)((newHeight - size) / 2);
        var crop = new byte[3 * size * size];
        PilBicubic.Resample(new Canvas(rgb, width, height), (int)newWidth, (int)newHeight, left, top, size, size, crop);
        return crop;
    }

    /// <summary>
    /// The size after the shortest-edge resize, as <c>transformers</c> computes it: the short side becomes
    /// <paramref name="size"/> and the long side <c>int(size × long / short)</c>, the division in double.
    /// </summary>
    /// <param name="width">The image width.</param>
    /// <param name="height">The image height.</param>
    /// <param name="size">The target short side.</param>
    /// <returns>The new width and height (the long side may exceed the range of <see cref="int"/>).</returns>
    internal static (long Width, long Height) ShortestEdgeSize(int width, int height, int size)
    {
        (int shortSide, int longSide) = width <= height ? (width, height) : (height, width);

        // Python: int(size * long / short). size × long is exact in double (below 2^53), and true division rounds once, as IEEE division does.
        long newLong = (long)((double)((long)size * longSide) / shortSide);
        return width <= height ? (size, newLong) : (newLong, size);
    }

    /// <summary>
    /// Rescales and normalises an 8-bit crop into float32 <c>pixel_values</c> [3, size, size], channels
    /// first, exactly as NumPy does in the reference: <c>x = float32(float64(u8) × (1 / 255))</c>, then
    /// <c>(x − mean[c]) / std[c]</c> in float32.
    /// </summary>
    /// <param name="crop">size × size × 3 bytes, R G B interleaved (<see cref="ResizeAndCrop"/>).</param>
    /// <param name="size">The side of the crop.</param>
    /// <param name="mean">R, G, B mean as float32 (the casts of <c>image_mean</c>).</param>
    /// <param name="std">R, G, B standard deviation as float32 (the casts of <c>image_std</c>).</param>
    /// <param name="destination">Receives 3 × size × size values: the R plane, then G, then B.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1.</exception>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    internal static void Normalize(ReadOnlySpan<byte> crop, int size, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, Span<float> destination)
    {
        int plane = Validate(crop, size, mean, std, destination.Length);
        Span<float> table = stackalloc float[3 * 256];
        Table(mean, std, table);
        for (int c = 0; c < 3; c++)
        {
            ReadOnlySpan<float> values = table.Slice(256 * c, 256);
            Span<float> target = destination.Slice(c * plane, plane);
            for (int p = 0; p < plane; p++)
            {
                target[p] = values[crop[(3 * p) + c]];
            }
        }
    }

    /// <summary>
    /// <see cref="Normalize(ReadOnlySpan{byte}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    /// for float16 graphs: each float32 value rounded to the nearest <see cref="Half"/> (NumPy's
    /// <c>astype(float16)</c> of the float32 pixel values).
    /// </summary>
    /// <param name="crop">size × size × 3 bytes, R G B interleaved.</param>
    /// <param name="size">The side of the crop.</param>
    /// <param name="mean">R, G, B mean as float32.</param>
    /// <param name="std">R, G, B standard deviation as float32.</param>
    /// <param name="destination">Receives 3 × size × size values, channels first.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1.</exception>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    internal static void Normalize(ReadOnlySpan<byte> crop, int size, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, Span<Half> destination)
    {
        int plane = Validate(crop, size, mean, std, destination.Length);
        Span<float> table = stackalloc float[3 * 256];
        Table(mean, std, table);
        Span<Half> halves = stackalloc Half[3 * 256];
        for (int i = 0; i < halves.Length; i++)
        {
            halves[i] = (Half)table[i];
        }

        for (int c = 0; c < 3; c++)
        {
            ReadOnlySpan<Half> values = halves.Slice(256 * c, 256);
            Span<Half> target = destination.Slice(c * plane, plane);
            for (int p = 0; p < plane; p++)
            {
                target[p] = values[crop[(3 * p) + c]];
            }
        }
    }

    /// <summary>The normalised value of every byte in every channel: 3 × 256 floats.</summary>
    private static void Table(ReadOnlySpan<float> mean, ReadOnlySpan<float> std, Span<float> table)
    {
        const double Rescale = 1.0 / 255;
        for (int c = 0; c < 3; c++)
        {
            float m = mean[c], s = std[c];
            for (int v = 0; v < 256; v++)
            {
                float x = (float)(v * Rescale);
                table[(256 * c) + v] = (x - m) / s;
            }
        }
    }

    private static int Validate(ReadOnlySpan<byte> crop, int size, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, int destinationLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        long plane = (long)size * size;
        if (crop.Length != 3 * plane)
        {
            throw new ArgumentException($"A {size}×{size} crop holds {3 * plane} bytes, but {crop.Length} were given.", nameof(crop));
        }

        if (mean.Length != 3)
        {
            throw new ArgumentException($"The mean must hold three values (R, G, B); it holds {mean.Length}.", nameof(mean));
        }

        if (std.Length != 3)
        {
            throw new ArgumentException($"The standard deviation must hold three values (R, G, B); it holds {std.Length}.", nameof(std));
        }

        if (destinationLength < 3 * plane)
        {
            throw new ArgumentException($"The destination must hold 3 × {size} × {size} = {3 * plane} values, but it holds {destinationLength}.", "destination");
        }

        return (int)plane;
    }

    /// <summary>The padding value of one channel: Python's <c>int(m * 255)</c> (truncated), clamped to a byte as Pillow's fill is.</summary>
    internal static byte Fill(double mean) => (byte)Math.Clamp((int)Math.Truncate(mean * 255), 0, 255);

    private static string Describe(ModelImage image) => image.Source is null ? "The image" : $"The image {image.Source}";
}
