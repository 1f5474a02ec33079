namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// <see cref="ModelImage"/>: what Pillow's <c>load_image</c> (open, <c>exif_transpose</c>, <c>convert("RGB")</c>)
/// gives, for every format and orientation, and a clear refusal of every bad input.
/// </summary>
public sealed class ModelImageTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-imaging-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>EXIF orientations 1 to 8, and values outside that range (treated as 1, as Pillow does).</summary>
    public static TheoryData<int> Orientations => [1, 2, 3, 4, 5, 6, 7, 8, 0, 9];

    [Theory]
    [MemberData(nameof(Orientations))]
    public void A_JPEGs_EXIF_orientation_is_applied_as_Pillows_exif_transpose(int orientation)
    {
        const int Width = 7, Height = 5;
        byte[] plain = TestImages.SkiaJpeg(TestImages.Gradient(Width, Height), Width, Height);
        byte[] stored = TestImages.DecodeStoredRgb(plain, out _, out _);

        ModelImage image = ModelImage.FromBytes(TestImages.WithExifOrientation(plain, orientation));

        (byte[] expected, int width, int height) = PillowTranspose(stored, Width, Height, orientation);
        Assert.Equal((width, height), (image.Width, image.Height));
        Assert.Equal(expected, image.Rgb.ToArray());
    }

    [Theory]
    [MemberData(nameof(Orientations))]
    public void A_PNGs_eXIf_orientation_is_applied_as_Pillows_exif_transpose(int orientation)
    {
        const int Width = 6, Height = 4;
        byte[] rgb = TestImages.Gradient(Width, Height);
        byte[] png = TestImages.Png(Width, Height, 2, rgb, ("eXIf", TestImages.TiffOrientation(orientation)));

        ModelImage image = ModelImage.FromBytes(png);

        (byte[] expected, int width, int height) = PillowTranspose(rgb, Width, Height, orientation);
        Assert.Equal((width, height), (image.Width, image.Height));
        Assert.Equal(expected, image.Rgb.ToArray());
    }

    [Theory]
    [MemberData(nameof(Orientations))]
    public void A_JPEGs_EXIF_orientation_is_ignored_when_asked_as_Image_open_alone_does(int orientation)
    {
        const int Width = 7, Height = 5;
        byte[] plain = TestImages.SkiaJpeg(TestImages.Gradient(Width, Height), Width, Height);
        byte[] stored = TestImages.DecodeStoredRgb(plain, out _, out _);

        ModelImage image = ModelImage.FromBytes(TestImages.WithExifOrientation(plain, orientation), exifOrientation: ExifOrientationMode.Ignore);

        Assert.Equal((Width, Height), (image.Width, image.Height));
        Assert.Equal(stored, image.Rgb.ToArray());
    }

    [Theory]
    [MemberData(nameof(Orientations))]
    public void A_PNGs_eXIf_orientation_is_ignored_when_asked(int orientation)
    {
        const int Width = 6, Height = 4;
        byte[] rgb = TestImages.Gradient(Width, Height);
        byte[] png = TestImages.Png(Width, Height, 2, rgb, ("eXIf", TestImages.TiffOrientation(orientation)));

        ModelImage image = ModelImage.FromBytes(png, exifOrientation: ExifOrientationMode.Ignore);

        Assert.Equal((Width, Height), (image.Width, image.Height));
        Assert.Equal(rgb, image.Rgb.ToArray());
    }

    [Fact]
    public void The_EXIF_mode_reaches_the_pixels_through_every_factory()
    {
        byte[] jpeg = TestImages.WithExifOrientation(TestImages.SkiaJpeg(TestImages.Gradient(7, 5), 7, 5), 6);
        string path = Path.Combine(_folder, "rotated.jpg");
        File.WriteAllBytes(path, jpeg);

        Assert.Equal((5, 7), Size(ModelImage.FromFile(path)));
        Assert.Equal((7, 5), Size(ModelImage.FromFile(path, exifOrientation: ExifOrientationMode.Ignore)));
        Assert.Equal((5, 7), Size(ModelImage.FromStream(new MemoryStream(jpeg))));
        Assert.Equal((7, 5), Size(ModelImage.FromStream(new MemoryStream(jpeg), exifOrientation: ExifOrientationMode.Ignore)));
        Assert.Equal((5, 7), Size(ModelImage.FromBytes(jpeg, exifOrientation: ExifOrientationMode.Apply)));
        Assert.Equal((7, 5), Size(ModelImage.FromBytes(jpeg, exifOrientation: ExifOrientationMode.Ignore)));

        static (int, int) Size(ModelImage image) => (image.Width, image.Height);
    }

    [Fact]
    public void The_committed_EXIF_fixture_turns_360_by_240_into_240_by_360()
    {
        string path = Path.Combine(RepositoryRoot(), "models", "fixtures", "images", "exif_rotated.jpg");
        byte[] encoded = File.ReadAllBytes(path);
        byte[] stored = TestImages.DecodeStoredRgb(encoded, out int width, out int height);
        Assert.Equal((360, 240), (width, height));

        ModelImage image = ModelImage.FromFile(path);

        Assert.Equal((240, 360), (image.Width, image.Height));
        Assert.Equal(path, image.Source);
        Assert.Equal(PillowTranspose(stored, width, height, 6).Rgb, image.Rgb.ToArray());
    }

    [Fact]
    public void RGB_PNG_pixels_are_kept_exactly()
    {
        byte[] rgb = TestImages.Noise(9 * 4 * 3, seed: 1);
        ModelImage image = ModelImage.FromBytes(TestImages.Png(9, 4, 2, rgb));
        Assert.Equal((9, 4), (image.Width, image.Height));
        Assert.Equal(rgb, image.Rgb.ToArray());
        Assert.Null(image.Source);
    }

    [Fact]
    public void Grayscale_is_replicated_into_R_G_and_B()
    {
        byte[] gray = [0, 1, 127, 128, 200, 255];
        ModelImage image = ModelImage.FromBytes(TestImages.Png(3, 2, 0, gray));
        Assert.Equal(gray.SelectMany(v => new[] { v, v, v }).ToArray(), image.Rgb.ToArray());
    }

    [Fact]
    public void Grayscale_with_alpha_drops_the_alpha_without_compositing()
    {
        byte[] grayAlpha = [10, 0, 20, 255, 30, 128, 40, 1];
        ModelImage image = ModelImage.FromBytes(TestImages.Png(2, 2, 4, grayAlpha));
        Assert.Equal(new byte[] { 10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40 }, image.Rgb.ToArray());
    }

    [Fact]
    public void RGBA_keeps_the_colour_under_transparent_pixels_and_drops_alpha()
    {
        byte[] rgba = [200, 100, 50, 0, 1, 2, 3, 255, 250, 251, 252, 17, 9, 8, 7, 0];
        ModelImage image = ModelImage.FromBytes(TestImages.Png(2, 2, 6, rgba));
        Assert.Equal(new byte[] { 200, 100, 50, 1, 2, 3, 250, 251, 252, 9, 8, 7 }, image.Rgb.ToArray());
    }

    [Fact]
    public void A_palette_PNG_gives_its_palette_colours_even_where_tRNS_makes_them_transparent()
    {
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56];
        byte[] indices = [0, 1, 2, 3, 3, 2, 1, 0];
        byte[] png = TestImages.Png(4, 2, 3, indices, ("PLTE", palette), ("tRNS", [255, 0, 128, 0]));
        ModelImage image = ModelImage.FromBytes(png);
        Assert.Equal(indices.SelectMany(i => palette.AsSpan(3 * i, 3).ToArray()).ToArray(), image.Rgb.ToArray());
    }

    [Fact]
    public void Gamma_is_ignored_as_Pillow_ignores_it()
    {
        byte[] rgb = TestImages.Noise(5 * 3 * 3, seed: 2);
        byte[] gamma22 = [0x00, 0x00, 0xB1, 0x8F]; // gAMA 45455 = 1 / 2.2
        byte[] gamma10 = [0x00, 0x01, 0x86, 0xA0]; // gAMA 100000 = 1.0
        Assert.Equal(rgb, ModelImage.FromBytes(TestImages.Png(5, 3, 2, rgb, ("gAMA", gamma22))).Rgb.ToArray());
        Assert.Equal(rgb, ModelImage.FromBytes(TestImages.Png(5, 3, 2, rgb, ("gAMA", gamma10))).Rgb.ToArray());
    }

    [Fact]
    public void Sixteen_bit_RGB_keeps_the_high_byte_as_Pillows_RGB_16B_unpacking_does()
    {
        byte[] samples = [0x03, 0xE8, 0x80, 0xFF, 0x12, 0x80, 0xFF, 0xFF, 0x00, 0xFF, 0x7F, 0x01];
        ModelImage image = ModelImage.FromBytes(TestImages.Png(2, 2, 2, 16, [.. samples, .. samples]));
        Assert.Equal(new byte[] { 3, 128, 18, 255, 0, 127, 3, 128, 18, 255, 0, 127 }, image.Rgb.ToArray());
    }

    [Fact]
    public void Sixteen_bit_grayscale_is_clipped_at_255_as_Pillows_convert_RGB_does_for_every_value()
    {
        // Pillow opens 16-bit grey as mode I; its convert("RGB") gives min(v, 255), not the high byte.
        var samples = new byte[2 * 65536];
        for (int v = 0; v < 65536; v++)
        {
            samples[2 * v] = (byte)(v >> 8);
            samples[(2 * v) + 1] = (byte)v;
        }

        ModelImage image = ModelImage.FromBytes(TestImages.Png(256, 256, 0, 16, samples));

        byte[] rgb = image.Rgb.ToArray();
        for (int v = 0; v < 65536; v++)
        {
            byte expected = (byte)Math.Min(v, 255);
            if (rgb[3 * v] != expected || rgb[(3 * v) + 1] != expected || rgb[(3 * v) + 2] != expected)
            {
                Assert.Fail($"16-bit grey {v} (pixel ({v % 256}, {v / 256})) became ({rgb[3 * v]}, {rgb[(3 * v) + 1]}, {rgb[(3 * v) + 2]}); Pillow gives {expected}.");
            }
        }
    }

    [Fact]
    public void Sixteen_bit_grayscale_with_a_tRNS_grey_is_clipped_and_its_orientation_applied()
    {
        byte[] samples = [0x00, 0x10, 0x00, 0xFF, 0x01, 0x00, 0x03, 0xE8, 0x00, 0x00, 0xFF, 0xFF];
        byte[] png = TestImages.Png(3, 2, 0, 16, samples, ("tRNS", [0x00, 0xFF]), ("eXIf", TestImages.TiffOrientation(3)));

        // Stored: 16, 255 (transparent), 256 / 1000, 0, 65535; clipped: 16, 255, 255 / 255, 0, 255; orientation 3 turns it 180°.
        Assert.Equal(new byte[] { 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 16, 16, 16 }, ModelImage.FromBytes(png).Rgb.ToArray());
        Assert.Equal(new byte[] { 16, 16, 16, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255, 255, 255 },
            ModelImage.FromBytes(png, exifOrientation: ExifOrientationMode.Ignore).Rgb.ToArray());
    }

    /// <summary>2 × 2 images of 16-bit grey + alpha and RGBA samples, and the RGB Pillow gives: the high bytes.</summary>
    public static TheoryData<byte, ushort[], byte[]> SixteenBitWithAlpha => new()
    {
        { 4, [0x00FF, 0x1234, 0x0100, 0x8000, 0xFFFF, 0x0000, 0x7F01, 0x00FF], [0, 0, 0, 1, 1, 1, 255, 255, 255, 127, 127, 127] },
        {
            6, [0x00FF, 0x0100, 0x03E8, 0x1234, 0x7F01, 0xFFFF, 0x80FF, 0x0001, 0x00FF, 0x0100, 0x03E8, 0x1234, 0x7F01, 0xFFFF, 0x80FF, 0x0001],
            [0, 1, 3, 127, 255, 128, 0, 1, 3, 127, 255, 128]
        },
    };

    [Theory]
    [MemberData(nameof(SixteenBitWithAlpha))]
    public void Sixteen_bit_grayscale_with_alpha_and_RGBA_keep_the_high_byte_as_Pillow_does(byte colorType, ushort[] values, byte[] expected)
    {
        // Pillow opens both as RGBA through its LA;16B and RGBA;16B unpackers, which keep the high byte.
        byte[] samples = [.. values.SelectMany(v => new[] { (byte)(v >> 8), (byte)v })];
        Assert.Equal(expected, ModelImage.FromBytes(TestImages.Png(2, 2, colorType, 16, samples)).Rgb.ToArray());
    }

    [Fact]
    public void A_truncated_16_bit_grayscale_PNG_is_refused_as_truncated()
    {
        byte[] whole = TestImages.Png(64, 48, 0, 16, TestImages.Noise(64 * 48 * 2, seed: 10));
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes(whole.AsSpan(0, whole.Length / 2)));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0 }, 6)]
    [InlineData(new byte[] { (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0 }, 8)]
    [InlineData(new byte[] { (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0 }, 3)]
    [InlineData(new byte[] { (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 9, 0, 0 }, 0)]
    [InlineData(new byte[] { (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x13, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0 }, 0)]
    [InlineData(new byte[] { (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 200, 0, 1 }, 0)]
    [InlineData(new byte[] { (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 9, 0x01, 0x12 }, 0)]
    [InlineData(new byte[] { (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0, (byte)'M', (byte)'M', 0, 42 }, 0)]
    public void The_EXIF_orientation_parser_reads_both_byte_orders_and_ignores_anything_else(byte[] tiff, int expected) =>
        Assert.Equal(expected == 0 ? null : (SkiaSharp.SKEncodedOrigin)expected, ExifOrientation.FromTiff(tiff));

    [Fact]
    public void BMP_pixels_are_kept_exactly()
    {
        byte[] rgb = TestImages.Noise(5 * 3 * 3, seed: 3);
        ModelImage image = ModelImage.FromBytes(TestImages.Bmp(rgb, 5, 3));
        Assert.Equal((5, 3), (image.Width, image.Height));
        Assert.Equal(rgb, image.Rgb.ToArray());
    }

    [Fact]
    public void Lossless_WebP_pixels_are_kept_exactly()
    {
        byte[] rgb = TestImages.Noise(6 * 5 * 3, seed: 4);
        ModelImage image = ModelImage.FromBytes(TestImages.SkiaLosslessWebp(rgb, 6, 5));
        Assert.Equal(rgb, image.Rgb.ToArray());
    }

    [Fact]
    public void A_GIF_gives_its_first_frame()
    {
        byte[] palette = [0, 0, 0, 255, 255, 255, 200, 10, 20, 5, 6, 7];
        byte[] first = [0, 1, 2, 3, 3, 2];
        byte[] second = [1, 1, 1, 1, 1, 1];
        ModelImage image = ModelImage.FromBytes(TestImages.Gif(3, 2, palette, first, second));
        Assert.Equal((3, 2), (image.Width, image.Height));
        Assert.Equal(first.SelectMany(i => palette.AsSpan(3 * i, 3).ToArray()).ToArray(), image.Rgb.ToArray());
    }

    [Fact]
    public void A_JPEG_decodes_as_SkiaSharp_stores_it()
    {
        byte[] jpeg = TestImages.SkiaJpeg(TestImages.Gradient(16, 9), 16, 9);
        Assert.Equal(TestImages.DecodeStoredRgb(jpeg, out _, out _), ModelImage.FromBytes(jpeg).Rgb.ToArray());
    }

    [Fact]
    public void FromFile_FromStream_and_FromBytes_agree_and_only_files_have_a_source()
    {
        byte[] png = TestImages.Png(4, 3, 2, TestImages.Noise(36, seed: 5));
        string path = Path.Combine(_folder, "image.png");
        File.WriteAllBytes(path, png);

        ModelImage fromFile = ModelImage.FromFile(path);
        ModelImage fromBytes = ModelImage.FromBytes(png);
        ModelImage fromMemory = ModelImage.FromStream(new MemoryStream(png));
        ModelImage fromFileStream;
        using (FileStream stream = File.OpenRead(path))
        {
            fromFileStream = ModelImage.FromStream(stream);
        }

        Assert.Equal(fromBytes.Rgb.ToArray(), fromFile.Rgb.ToArray());
        Assert.Equal(fromBytes.Rgb.ToArray(), fromMemory.Rgb.ToArray());
        Assert.Equal(fromBytes.Rgb.ToArray(), fromFileStream.Rgb.ToArray());
        Assert.Equal(path, fromFile.Source);
        Assert.Equal(path, fromFileStream.Source);
        Assert.Null(fromBytes.Source);
        Assert.Null(fromMemory.Source);
        Assert.Contains(path, fromFile.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void FromStream_reads_from_the_current_position_and_leaves_the_stream_open()
    {
        byte[] png = TestImages.Png(3, 3, 2, TestImages.Noise(27, seed: 6));
        var stream = new MemoryStream([.. "junk"u8, .. png]) { Position = 4 };
        ModelImage image = ModelImage.FromStream(stream);
        Assert.Equal((3, 3), (image.Width, image.Height));
        Assert.True(stream.CanRead);
    }

    [Fact]
    public void FromRgb_copies_the_pixels()
    {
        byte[] rgb = TestImages.Noise(2 * 3 * 3, seed: 7);
        ModelImage image = ModelImage.FromRgb(rgb, 2, 3);
        rgb[0] ^= 0xFF;
        Assert.Equal((2, 3), (image.Width, image.Height));
        Assert.NotEqual(rgb[0], image.Rgb.Span[0]);
        Assert.Null(image.Source);
    }

    [Fact]
    public void A_missing_file_is_a_FileNotFoundException_naming_the_path()
    {
        string path = Path.Combine(_folder, "no-such-image.png");
        var e = Assert.Throws<FileNotFoundException>(() => ModelImage.FromFile(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);

        string inMissingFolder = Path.Combine(_folder, "no-such-folder", "image.png");
        e = Assert.Throws<FileNotFoundException>(() => ModelImage.FromFile(inMissingFolder));
        Assert.Contains(inMissingFolder, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zero_byte_file_is_refused_by_name()
    {
        string path = Path.Combine(_folder, "empty.jpg");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromFile(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes([])).Message, StringComparison.Ordinal);
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => ModelImage.FromStream(new MemoryStream())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_that_is_not_an_image_is_refused_by_name()
    {
        string path = Path.Combine(_folder, "notes.png");
        File.WriteAllText(path, "These are not the pixels you are looking for.");
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromFile(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("not an image", e.Message, StringComparison.Ordinal);
        Assert.Contains("The image data", Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes("GIF87"u8)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_format_other_than_JPEG_PNG_BMP_GIF_or_WebP_is_refused()
    {
        byte[] ico = TestImages.IcoWithPng(TestImages.Png(4, 4, 2, TestImages.Noise(48, seed: 8)), 4, 4);
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes(ico));
        Assert.Contains("not supported", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A PNG cut inside its pixel data, inside its header, and a JPEG cut before its end.</summary>
    public static TheoryData<string, double> Truncations => new()
    {
        { "png", 0.5 },
        { "png", 0.95 },
        { "png", 0.02 },
        { "jpeg", 0.5 },
        { "jpeg", 0.9 },
    };

    [Theory]
    [MemberData(nameof(Truncations))]
    public void Truncated_data_is_refused_never_half_decoded(string format, double kept)
    {
        byte[] rgb = TestImages.Noise(64 * 48 * 3, seed: 9);
        byte[] whole = format == "png" ? TestImages.Png(64, 48, 2, rgb) : TestImages.SkiaJpeg(rgb, 64, 48);
        byte[] cut = whole[..(int)(whole.Length * kept)];
        string path = Path.Combine(_folder, $"cut.{format}");
        File.WriteAllBytes(path, cut);

        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromFile(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_one_by_one_image_is_refused_clearly()
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes(TestImages.Png(1, 1, 2, [1, 2, 3])));
        Assert.Contains("1×1", e.Message, StringComparison.Ordinal);
        Assert.Contains($"at least {ModelImage.MinimumSide}", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes(TestImages.Png(5, 1, 2, new byte[15])));
        Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes(TestImages.Png(1, 5, 0, new byte[5])));
    }

    [Fact]
    public void A_30000_by_30000_PNG_is_refused_from_its_header_before_decoding()
    {
        byte[] bomb = TestImages.PngHeaderOnly(30000, 30000);
        Assert.True(bomb.Length < 200);
        string path = Path.Combine(_folder, "bomb.png");
        File.WriteAllBytes(path, bomb);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromFile(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("30000×30000", e.Message, StringComparison.Ordinal);
        Assert.Contains(ModelImage.DefaultMaxPixels.ToString("N0", System.Globalization.CultureInfo.CurrentCulture), e.Message, StringComparison.Ordinal);
        Assert.Contains("maxPixels", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes were allocated before the refusal");
    }

    [Fact]
    public void The_pixel_limit_is_the_callers_to_lower_or_raise()
    {
        byte[] png = TestImages.Png(10, 10, 2, new byte[300]);
        Assert.Equal(100, ModelImage.FromBytes(png, maxPixels: 100).Width * 10);
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes(png, maxPixels: 99));
        Assert.Contains("10×10", e.Message, StringComparison.Ordinal);
        Assert.Contains("maxPixels", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_arguments_are_ArgumentExceptions()
    {
        Assert.Throws<ArgumentNullException>(() => ModelImage.FromFile(null!));
        Assert.Throws<ArgumentException>(() => ModelImage.FromFile(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromFile(Path.Combine(_folder, "x.png"), maxPixels: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromBytes(new byte[10], maxPixels: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromStream(new MemoryStream(), maxPixels: 0));
        var undefined = (ExifOrientationMode)2;
        Assert.Contains("ExifOrientationMode.Apply", Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromFile(Path.Combine(_folder, "x.png"), exifOrientation: undefined)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromBytes(new byte[10], exifOrientation: undefined));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromStream(new MemoryStream(), exifOrientation: undefined));
        Assert.Throws<ArgumentNullException>(() => ModelImage.FromStream(null!));
        using (var unreadable = new UnreadableStream())
        {
            Assert.Throws<ArgumentException>(() => ModelImage.FromStream(unreadable));
        }

        Assert.Throws<ArgumentException>(() => ModelImage.FromRgb(new byte[11], 2, 2));
        Assert.Throws<ArgumentException>(() => ModelImage.FromRgb(new byte[13], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromRgb(new byte[3], 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromRgb(new byte[6], 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromRgb(new byte[6], -2, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromRgb([], 100_000, 100_000));
    }

    /// <summary>
    /// Pillow's <c>ImageOps.exif_transpose</c>, written from its table: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180,
    /// 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90 (rotations anticlockwise), as
    /// compositions of a mirror and a quarter turn.
    /// </summary>
    internal static (byte[] Rgb, int Width, int Height) PillowTranspose(byte[] rgb, int width, int height, int orientation)
    {
        var image = (Rgb: rgb, Width: width, Height: height);
        return orientation switch
        {
            2 => Mirror(image),
            3 => Turn(Turn(image)),
            4 => Turn(Turn(Mirror(image))),
            5 => Turn(Mirror(image)),
            6 => Turn(Turn(Turn(image))),
            7 => Turn(Turn(Turn(Mirror(image)))),
            8 => Turn(image),
            _ => image,
        };

        // Left to right mirror.
        static (byte[], int, int) Mirror((byte[] Rgb, int Width, int Height) i)
        {
            var result = new byte[i.Rgb.Length];
            for (int y = 0; y < i.Height; y++)
            {
                for (int x = 0; x < i.Width; x++)
                {
                    i.Rgb.AsSpan(3 * ((y * i.Width) + x), 3).CopyTo(result.AsSpan(3 * ((y * i.Width) + (i.Width - 1 - x))));
                }
            }

            return (result, i.Width, i.Height);
        }

        // A quarter turn anticlockwise (Pillow's ROTATE_90): the top-right corner comes to the top left.
        static (byte[], int, int) Turn((byte[] Rgb, int Width, int Height) i)
        {
            var result = new byte[i.Rgb.Length];
            int newWidth = i.Height;
            for (int y = 0; y < i.Height; y++)
            {
                for (int x = 0; x < i.Width; x++)
                {
                    int newX = y, newY = i.Width - 1 - x;
                    i.Rgb.AsSpan(3 * ((y * i.Width) + x), 3).CopyTo(result.AsSpan(3 * ((newY * newWidth) + newX)));
                }
            }

            return (result, i.Height, i.Width);
        }
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AttAnchor.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AttAnchor.sln above {AppContext.BaseDirectory}.");
    }

    private sealed class UnreadableStream : MemoryStream
    {
        public override bool CanRead => false;
    }
}
