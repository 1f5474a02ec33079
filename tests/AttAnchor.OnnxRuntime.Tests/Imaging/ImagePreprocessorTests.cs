namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// <see cref="ImagePreprocessor"/> and <see cref="ResizeModes"/>: each resize mode against its definition
/// in <c>imageproc.py</c> built from <see cref="PilBicubic.Resize"/>, the NumPy normalisation, the float16
/// variant, and argument checks.
/// </summary>
public class ImagePreprocessorTests
{
    private static readonly double[] ClipMean = [0.48145466, 0.4578275, 0.40821073];
    private static readonly float[] ClipMeanF = [0.48145466f, 0.4578275f, 0.40821073f];
    private static readonly float[] ClipStdF = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Image sizes: square, wide, tall, smaller than the crop, one pixel off square.</summary>
    public static TheoryData<int, int> ImageSizes => new()
    {
        { 40, 40 },
        { 64, 36 },
        { 30, 50 },
        { 8, 6 },
        { 33, 32 },
        { 2, 90 },
    };

    [Theory]
    [MemberData(nameof(ImageSizes))]
    public void Shortest_edge_center_crop_is_the_centre_of_the_full_shortest_edge_resize(int width, int height)
    {
        const int Size = 24;
        ModelImage image = ModelImage.FromRgb(TestImages.Noise(width * height * 3, seed: width * height), width, height);
        (long newWidth, long newHeight) = ImagePreprocessor.ShortestEdgeSize(width, height, Size);
        var full = new byte[newWidth * newHeight * 3];
        PilBicubic.Resize(image.Rgb.Span, width, height, (int)newWidth, (int)newHeight, full);
        int top = (int)(newHeight - Size) / 2, left = (int)(newWidth - Size) / 2;
        var expected = new byte[Size * Size * 3];
        for (int y = 0; y < Size; y++)
        {
            full.AsSpan(3 * ((int)(((top + y) * newWidth) + left)), 3 * Size).CopyTo(expected.AsSpan(3 * y * Size));
        }

        Assert.Equal(expected, ImagePreprocessor.ResizeAndCrop(image, Size, ResizeMode.ShortestEdgeCenterCrop, ClipMean));
    }

    [Theory]
    [MemberData(nameof(ImageSizes))]
    public void Pad_to_square_is_the_resize_of_the_image_pasted_on_the_mean_colour(int width, int height)
    {
        const int Size = 24;
        byte[] rgb = TestImages.Noise(width * height * 3, seed: width + height);
        ModelImage image = ModelImage.FromRgb(rgb, width, height);
        int side = Math.Max(width, height);
        byte[] fill = [122, 116, 104]; // int(255 * m) for CLIP's mean: 122.77, 116.75, 104.09
        var square = new byte[side * side * 3];
        for (int p = 0; p < side * side; p++)
        {
            fill.CopyTo(square, 3 * p);
        }

        for (int y = 0; y < height; y++)
        {
            rgb.AsSpan(3 * y * width, 3 * width).CopyTo(square.AsSpan(3 * ((((side - height) / 2) + y) * side + ((side - width) / 2))));
        }

        var expected = new byte[Size * Size * 3];
        PilBicubic.Resize(square, side, side, Size, Size, expected);

        Assert.Equal(expected, ImagePreprocessor.ResizeAndCrop(image, Size, ResizeMode.PadToSquare, ClipMean));
    }

    [Theory]
    [MemberData(nameof(ImageSizes))]
    public void Stretch_is_the_resize_straight_to_the_square(int width, int height)
    {
        const int Size = 24;
        byte[] rgb = TestImages.Noise(width * height * 3, seed: 3 * width);
        var expected = new byte[Size * Size * 3];
        PilBicubic.Resize(rgb, width, height, Size, Size, expected);
        Assert.Equal(expected, ImagePreprocessor.ResizeAndCrop(ModelImage.FromRgb(rgb, width, height), Size, ResizeMode.Stretch, ClipMean));
    }

    [Fact]
    public void A_square_image_of_the_crop_size_is_copied_in_every_mode()
    {
        byte[] rgb = TestImages.Noise(16 * 16 * 3, seed: 21);
        ModelImage image = ModelImage.FromRgb(rgb, 16, 16);
        foreach (ResizeMode mode in Enum.GetValues<ResizeMode>())
        {
            Assert.Equal(rgb, ImagePreprocessor.ResizeAndCrop(image, 16, mode, ClipMean));
        }
    }

    [Theory]
    [InlineData(640, 360, 336, 597, 336)]
    [InlineData(360, 640, 336, 336, 597)]
    [InlineData(1600, 1200, 336, 448, 336)]
    [InlineData(40, 30, 336, 448, 336)]
    [InlineData(300, 500, 336, 336, 560)]
    [InlineData(3, 7, 10, 10, 23)]
    public void The_shortest_edge_size_truncates_size_times_long_over_short(int width, int height, int size, long newWidth, long newHeight) =>
        Assert.Equal((newWidth, newHeight), ImagePreprocessor.ShortestEdgeSize(width, height, size));

    [Theory]
    [InlineData(0.5, 127)]
    [InlineData(0.48145466, 122)]
    [InlineData(0.0, 0)]
    [InlineData(1.0, 255)]
    [InlineData(0.1, 25)]
    [InlineData(0.7, 178)]
    [InlineData(0.6, 153)]
    [InlineData(-0.2, 0)]
    [InlineData(1.5, 255)]
    public void The_padding_colour_is_int_of_255_times_the_mean(double mean, byte expected) =>
        Assert.Equal(expected, ImagePreprocessor.Fill(mean));

    [Fact]
    public void An_aspect_ratio_beyond_resampling_is_refused_with_what_to_do()
    {
        // At size 2200, the 2-pixel side of a 2 × 2,000,000 image becomes 2200 and the long side 2.2 billion.
        ModelImage image = ModelImage.FromRgb(new byte[2 * 2_000_000 * 3], 2, 2_000_000);
        var e = Assert.Throws<InvalidDataException>(() => ImagePreprocessor.ResizeAndCrop(image, 2200, ResizeMode.ShortestEdgeCenterCrop, ClipMean));
        Assert.Contains("2×2000000", e.Message, StringComparison.Ordinal);
        Assert.Contains("aspect ratio", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_extreme_aspect_ratio_within_range_computes_only_the_crop()
    {
        // 4 × 100,000: the shortest-edge resize would be 32 × 800,000, but only 32 × 32 of it is computed.
        const int Width = 4, Height = 100_000, Size = 32;
        var rgb = new byte[Width * Height * 3];
        for (int y = 0; y < Height; y++)
        {
            rgb.AsSpan(3 * y * Width, 3 * Width).Fill((byte)(y * 255 / Height));
        }

        byte[] crop = ImagePreprocessor.ResizeAndCrop(ModelImage.FromRgb(rgb, Width, Height), Size, ResizeMode.ShortestEdgeCenterCrop, ClipMean);
        Assert.All(crop, v => Assert.InRange(v, 126, 128));
    }

    [Fact]
    public void Normalize_is_NumPys_float64_rescale_then_float32_normalisation_channels_first()
    {
        const int Size = 5;
        byte[] crop = TestImages.Noise(Size * Size * 3, seed: 22);
        crop[0] = 0;
        crop[1] = 255;
        var values = new float[3 * Size * Size];
        ImagePreprocessor.Normalize(crop, Size, ClipMeanF, ClipStdF, values);

        for (int c = 0; c < 3; c++)
        {
            for (int p = 0; p < Size * Size; p++)
            {
                float x = (float)(crop[(3 * p) + c] * (1.0 / 255));
                Assert.Equal((x - ClipMeanF[c]) / ClipStdF[c], values[(c * Size * Size) + p]);
            }
        }

    }

    [Fact]
    public void The_float16_overload_rounds_each_float32_value_to_the_nearest_half()
    {
        const int Size = 7;
        byte[] crop = TestImages.Noise(Size * Size * 3, seed: 23);
        var singles = new float[3 * Size * Size];
        var halves = new Half[3 * Size * Size];
        ImagePreprocessor.Normalize(crop, Size, ClipMeanF, ClipStdF, singles);
        ImagePreprocessor.Normalize(crop, Size, ClipMeanF, ClipStdF, halves);
        Assert.Equal(singles.Select(v => (Half)v), halves);
    }

    [Fact]
    public void Invalid_arguments_are_refused()
    {
        ModelImage image = ModelImage.FromRgb(new byte[12], 2, 2);
        Assert.Throws<ArgumentNullException>(() => ImagePreprocessor.ResizeAndCrop(null!, 4, ResizeMode.Stretch, ClipMean));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImagePreprocessor.ResizeAndCrop(image, 0, ResizeMode.Stretch, ClipMean));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImagePreprocessor.ResizeAndCrop(image, 4, (ResizeMode)7, ClipMean));
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.ResizeAndCrop(image, 4, ResizeMode.Stretch, [0.5, 0.5]));
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.ResizeAndCrop(image, 4, ResizeMode.PadToSquare, [0.5, double.NaN, 0.5]));

        var crop = new byte[4 * 4 * 3];
        var values = new float[3 * 4 * 4];
        Assert.Throws<ArgumentOutOfRangeException>(() => ImagePreprocessor.Normalize(crop, 0, ClipMeanF, ClipStdF, values));
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Normalize(crop, 5, ClipMeanF, ClipStdF, values));
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Normalize(crop, 4, [0.5f], ClipStdF, values));
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Normalize(crop, 4, ClipMeanF, [0.5f, 0.5f, 0.5f, 0.5f], values));
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Normalize(crop, 4, ClipMeanF, ClipStdF, values.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Normalize(crop, 4, ClipMeanF, ClipStdF, new Half[47]));
    }

    [Theory]
    [InlineData("shortest_edge_center_crop", ResizeMode.ShortestEdgeCenterCrop)]
    [InlineData("pad_to_square", ResizeMode.PadToSquare)]
    [InlineData("stretch", ResizeMode.Stretch)]
    public void Resize_mode_names_round_trip(string name, ResizeMode mode)
    {
        Assert.Equal(mode, ResizeModes.Parse(name, "attanchor.json: 'resize_mode'"));
        Assert.Equal(name, mode.ToName());
    }

    [Theory]
    [InlineData("Stretch")]
    [InlineData("center_crop")]
    [InlineData("")]
    [InlineData(null)]
    public void An_unknown_resize_mode_lists_the_valid_names(string? name)
    {
        var e = Assert.Throws<InvalidDataException>(() => ResizeModes.Parse(name, "model/attanchor.json: 'resize_mode'"));
        Assert.Contains("model/attanchor.json: 'resize_mode'", e.Message, StringComparison.Ordinal);
        Assert.Contains("shortest_edge_center_crop, pad_to_square, stretch", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ((ResizeMode)3).ToName());
    }
}
