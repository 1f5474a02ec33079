namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// <see cref="PilBicubic"/>: hand-computed cases, properties, the windowed and padded paths against a
/// plain two-pass version, and argument checks. (Bit-exactness with Pillow itself on real images is
/// checked against the fixtures' references in AttAnchor.OnnxRuntime.IntegrationTests.PreprocessingTests.)
/// </summary>
public class PilBicubicTests
{
    /// <summary>
    /// Rows (source, width, expected) worked out by hand from Pillow's formulas. Upscaling [0, 255] to 4:
    /// scale 0.5, support 2; output 1 has centre 0.75, taps at 0 and 1 with kernel(−0.25) = 0.8671875 and
    /// kernel(0.75) = 0.2265625, normalised to 0.79286 and 0.20714 → 3325484 and 868820 in 22-bit fixed
    /// point → (2^21 + 255 × 868820) &gt;&gt; 22 = 53. Output 0 undershoots below 0 (kernel(1.25) = −0.0703125)
    /// and output 3 overshoots above 255: both are clipped. Downscaling [0, 0, 255, 255] to 2: scale 2,
    /// support 4, weights kernel((i − 1 + 0.5) / 2) → 1923827, 1923827, 502628, −155986 → 21 and 234.
    /// </summary>
    public static TheoryData<byte[], int, byte[]> HandComputed => new()
    {
        { [0, 255], 4, [0, 53, 202, 255] },
        { [255, 0], 4, [255, 202, 53, 0] },
        { [0, 0, 255, 255], 2, [21, 234] },
        { [255, 255, 0, 0], 2, [234, 21] },
        { [77, 77, 77, 77], 2, [77, 77] },
        { [77, 77], 4, [77, 77, 77, 77] },
    };

    [Theory]
    [MemberData(nameof(HandComputed))]
    public void Hand_computed_rows_and_columns(byte[] line, int newLength, byte[] expected)
    {
        // Horizontal: R holds the line, G its reverse, B a constant; then the same as a column (vertical pass).
        int n = line.Length;
        var row = new byte[3 * n];
        for (int i = 0; i < n; i++)
        {
            row[3 * i] = line[i];
            row[(3 * i) + 1] = line[n - 1 - i];
            row[(3 * i) + 2] = 9;
        }

        byte[] reversed = [.. expected.Reverse()];
        var horizontal = new byte[3 * newLength];
        PilBicubic.Resize(row, n, 1, newLength, 1, horizontal);
        var vertical = new byte[3 * newLength];
        PilBicubic.Resize(row, 1, n, 1, newLength, vertical);

        foreach (byte[] result in new[] { horizontal, vertical })
        {
            Assert.Equal(expected, Channel(result, 0));
            Assert.Equal(reversed, Channel(result, 1));
            Assert.All(Channel(result, 2), v => Assert.Equal(9, v));
        }
    }

    [Fact]
    public void The_fixed_point_weights_are_Pillows_for_the_hand_computed_upscale()
    {
        PilBicubic.Coefficients c = PilBicubic.Coefficients.Compute(2, 4, 0, 4);
        Assert.Equal(5, c.KernelSize);
        Assert.Equal(0, c.First);
        Assert.Equal(2, c.Span);
        Assert.Equal([4564390, -370086], c.Weights[0..2]);
        Assert.Equal([3325484, 868820], c.Weights[5..7]);
        Assert.Equal([868820, 3325484], c.Weights[10..12]);
        Assert.Equal([-370086, 4564390], c.Weights[15..17]);
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.5, 0.5625)]
    [InlineData(1.0, 0.0)]
    [InlineData(1.5, -0.0625)]
    [InlineData(-1.5, -0.0625)]
    [InlineData(2.0, 0.0)]
    [InlineData(7.0, 0.0)]
    public void The_kernel_is_Keys_cubic_with_a_minus_one_half(double x, double expected) =>
        Assert.Equal(expected, PilBicubic.Kernel(x));

    /// <summary>Source and target sizes: the same, up, down, mixed, extreme.</summary>
    public static TheoryData<int, int, int, int> Sizes => new()
    {
        { 7, 5, 7, 5 },
        { 7, 5, 14, 10 },
        { 40, 30, 13, 9 },
        { 40, 30, 40, 9 },
        { 40, 30, 13, 30 },
        { 13, 17, 31, 5 },
        { 1, 1, 5, 3 },
        { 3, 2, 1, 1 },
        { 101, 3, 2, 60 },
        { 64, 64, 336, 336 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Matches_a_plain_two_pass_version_of_Pillows_algorithm(int width, int height, int newWidth, int newHeight)
    {
        byte[] source = TestImages.Noise(width * height * 3, seed: width + (31 * newHeight));
        var actual = new byte[newWidth * newHeight * 3];
        PilBicubic.Resize(source, width, height, newWidth, newHeight, actual);
        Assert.Equal(PlainPillowBicubic(source, width, height, newWidth, newHeight), actual);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void A_constant_image_stays_constant(int width, int height, int newWidth, int newHeight)
    {
        foreach (byte value in new byte[] { 0, 1, 128, 254, 255 })
        {
            byte[] source = [.. Enumerable.Repeat(value, width * height * 3)];
            var result = new byte[newWidth * newHeight * 3];
            PilBicubic.Resize(source, width, height, newWidth, newHeight, result);
            Assert.All(result, v => Assert.Equal(value, v));
        }
    }

    [Fact]
    public void The_same_size_is_an_exact_copy()
    {
        byte[] source = TestImages.Noise(19 * 11 * 3, seed: 11);
        var result = new byte[source.Length];
        PilBicubic.Resize(source, 19, 11, 19, 11, result);
        Assert.Equal(source, result);
    }

    [Fact]
    public void Only_the_changed_side_is_resampled()
    {
        // Width unchanged: every column is resampled on its own, so a column-constant image keeps its columns.
        const int Width = 6, Height = 10;
        var columns = new byte[Width * Height * 3];
        for (int i = 0; i < columns.Length; i++)
        {
            columns[i] = (byte)(40 * ((i / 3) % Width));
        }

        var taller = new byte[Width * 23 * 3];
        PilBicubic.Resize(columns, Width, Height, Width, 23, taller);
        for (int i = 0; i < taller.Length; i++)
        {
            Assert.Equal((byte)(40 * ((i / 3) % Width)), taller[i]);
        }
    }

    [Fact]
    public void A_window_of_the_output_is_exactly_that_part_of_the_full_resize()
    {
        const int Width = 37, Height = 23, NewWidth = 50, NewHeight = 41;
        byte[] source = TestImages.Noise(Width * Height * 3, seed: 12);
        var full = new byte[NewWidth * NewHeight * 3];
        PilBicubic.Resize(source, Width, Height, NewWidth, NewHeight, full);

        foreach ((int left, int top, int w, int h) in new[] { (0, 0, 50, 41), (5, 3, 20, 30), (49, 40, 1, 1), (0, 20, 50, 1), (17, 0, 3, 41) })
        {
            var window = new byte[w * h * 3];
            PilBicubic.Resample(new Canvas(source, Width, Height), NewWidth, NewHeight, left, top, w, h, window);
            Assert.Equal(Crop(full, NewWidth, left, top, w, h), window);
        }
    }

    [Theory]
    [InlineData(30, 12, 20)]
    [InlineData(12, 30, 20)]
    [InlineData(30, 12, 30)]
    [InlineData(30, 12, 64)]
    [InlineData(5, 2, 3)]
    public void A_padded_canvas_is_exactly_the_resize_of_the_padded_image(int width, int height, int size)
    {
        byte[] source = TestImages.Noise(width * height * 3, seed: 13);
        int side = Math.Max(width, height), offsetX = (side - width) / 2, offsetY = (side - height) / 2;
        var padded = new byte[side * side * 3];
        for (int p = 0; p < side * side; p++)
        {
            padded[3 * p] = 11;
            padded[(3 * p) + 1] = 222;
            padded[(3 * p) + 2] = 97;
        }

        for (int y = 0; y < height; y++)
        {
            source.AsSpan(3 * y * width, 3 * width).CopyTo(padded.AsSpan(3 * (((y + offsetY) * side) + offsetX)));
        }

        var expected = new byte[size * size * 3];
        PilBicubic.Resize(padded, side, side, size, size, expected);
        var actual = new byte[size * size * 3];
        PilBicubic.Resample(new Canvas(source, width, height, side, side, offsetX, offsetY, 11, 222, 97), size, size, 0, 0, size, size, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Invalid_arguments_are_refused_before_any_work()
    {
        var source = new byte[4 * 3 * 3];
        var destination = new byte[2 * 2 * 3];
        Assert.Throws<ArgumentOutOfRangeException>(() => PilBicubic.Resize(source, 0, 3, 2, 2, destination));
        Assert.Throws<ArgumentOutOfRangeException>(() => PilBicubic.Resize(source, 4, -3, 2, 2, destination));
        Assert.Throws<ArgumentOutOfRangeException>(() => PilBicubic.Resize(source, 4, 3, 0, 2, destination));
        Assert.Throws<ArgumentOutOfRangeException>(() => PilBicubic.Resize(source, 4, 3, 2, 0, destination));
        Assert.Throws<ArgumentException>(() => PilBicubic.Resize(source, 4, 4, 2, 2, destination));
        Assert.Throws<ArgumentException>(() => PilBicubic.Resize(source.AsSpan(1), 4, 3, 2, 2, destination));
        Assert.Throws<ArgumentException>(() => PilBicubic.Resize(source, 4, 3, 2, 2, destination.AsSpan(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => PilBicubic.Resize(source, 100_000, 100_000, 2, 2, destination));
        Assert.Throws<ArgumentOutOfRangeException>(() => PilBicubic.Resize(source, 4, 3, 100_000, 100_000, destination));

        // A longer destination is fine: only the first newWidth × newHeight × 3 bytes are written.
        var longer = Enumerable.Repeat((byte)7, 13).ToArray();
        PilBicubic.Resize(source, 4, 3, 2, 2, longer);
        Assert.Equal(7, longer[12]);
    }

    private static byte[] Channel(byte[] rgb, int c) => [.. rgb.Where((_, i) => i % 3 == c)];

    private static byte[] Crop(byte[] rgb, int width, int left, int top, int w, int h)
    {
        var crop = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        {
            rgb.AsSpan(3 * (((top + y) * width) + left), 3 * w).CopyTo(crop.AsSpan(3 * y * w));
        }

        return crop;
    }

    /// <summary>
    /// Pillow's ImagingResampleInner for 8-bit RGB, written as plainly as possible: the horizontal pass over
    /// every row into a full intermediate image, then the vertical pass, each output value summed where it
    /// is computed, with the weights computed in place.
    /// </summary>
    private static byte[] PlainPillowBicubic(byte[] source, int width, int height, int newWidth, int newHeight)
    {
        byte[] image = source;
        if (newWidth != width)
        {
            var temp = new byte[newWidth * height * 3];
            for (int y = 0; y < height; y++)
            {
                for (int xx = 0; xx < newWidth; xx++)
                {
                    (int min, int[] k) = Weights(width, newWidth, xx);
                    for (int c = 0; c < 3; c++)
                    {
                        int sum = 1 << 21;
                        for (int i = 0; i < k.Length; i++)
                        {
                            sum += image[(3 * ((y * width) + min + i)) + c] * k[i];
                        }

                        temp[(3 * ((y * newWidth) + xx)) + c] = (byte)Math.Clamp(sum >> 22, 0, 255);
                    }
                }
            }

            image = temp;
        }

        if (newHeight != height)
        {
            var temp = new byte[newWidth * newHeight * 3];
            for (int yy = 0; yy < newHeight; yy++)
            {
                (int min, int[] k) = Weights(height, newHeight, yy);
                for (int x = 0; x < newWidth; x++)
                {
                    for (int c = 0; c < 3; c++)
                    {
                        int sum = 1 << 21;
                        for (int i = 0; i < k.Length; i++)
                        {
                            sum += image[(3 * (((min + i) * newWidth) + x)) + c] * k[i];
                        }

                        temp[(3 * ((yy * newWidth) + x)) + c] = (byte)Math.Clamp(sum >> 22, 0, 255);
                    }
                }
            }

            image = temp;
        }

        return image == source ? [.. source] : image;

        static (int Min, int[] Weights) Weights(int inSize, int outSize, int index)
        {
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = 2.0 * filterScale;
            double center = (index + 0.5) * scale;
            int min = Math.Max((int)(center - support + 0.5), 0);
            int max = Math.Min((int)(center + support + 0.5), inSize);
            double inverse = 1.0 / filterScale;
            double[] w = [.. Enumerable.Range(min, max - min).Select(i => PilBicubic.Kernel((i - center + 0.5) * inverse))];
            double total = 0;
            foreach (double v in w)
            {
                total += v;
            }

            return (min, [.. w.Select(v => v / total).Select(v => (int)(v < 0 ? v * (1 << 22) - 0.5 : v * (1 << 22) + 0.5))]);
        }
    }
}
