using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// Real photographs (<c>models/fixtures/photos/</c>, described in its README) against Pillow: for every
/// photo and both <see cref="ExifOrientationMode"/>s, the size and RGB bytes <see cref="ModelImage"/> decodes
/// must be what Pillow's <c>Image.open</c> (then <c>ImageOps.exif_transpose</c> for Apply) and
/// <c>convert("RGB")</c> give, and the CLIP <c>pixel_values</c> (336 px, shortest edge, centre crop, CLIP's
/// mean and std) what <c>tools/python/llavagen/imageproc.py</c> gives, bit for bit. The references are
/// <c>references.json</c> beside the photos, written by <c>tools/python/make_photo_references.py</c>.
/// </summary>
public sealed class PhotoTests
{
    private const int Size = 336;

    /// <summary>One row per (photo, EXIF mode) in references.json.</summary>
    public static TheoryData<string, ExifOrientationMode> Cases
    {
        get
        {
            var rows = new TheoryData<string, ExifOrientationMode>();
            foreach (string file in References.Value.Photos.Keys)
            {
                rows.Add(file, ExifOrientationMode.Apply);
                rows.Add(file, ExifOrientationMode.Ignore);
            }

            return rows;
        }
    }

    private static readonly Lazy<PhotoReferences> References = new(PhotoReferences.Load);

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_photo_decodes_to_Pillows_size_and_RGB_bytes(string file, ExifOrientationMode exif)
    {
        PhotoReference expected = References.Value.Photos[file][exif];

        ModelImage image = ModelImage.FromFile(Path.Combine(PhotoReferences.Folder, file), exifOrientation: exif);

        Assert.Equal((expected.Width, expected.Height), (image.Width, image.Height));
        byte[] rgb = image.Rgb.ToArray();
        if (Sha256(rgb) != expected.RgbSha256)
        {
            Assert.Fail($"{file} ({exif}): the RGB bytes differ from Pillow's. {Locate(rgb, image.Width, image.Height, expected.RgbRows, expected.RgbColumns)}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_photos_pixel_values_are_PILs_and_NumPys_bit_for_bit(string file, ExifOrientationMode exif)
    {
        PhotoReference expected = References.Value.Photos[file][exif];
        double[] mean = References.Value.Mean, std = References.Value.Std;
        ModelImage image = ModelImage.FromFile(Path.Combine(PhotoReferences.Folder, file), exifOrientation: exif);

        byte[] crop = ImagePreprocessor.ResizeAndCrop(image, Size, ResizeMode.ShortestEdgeCenterCrop, mean);
        if (Sha256(crop) != expected.CropSha256)
        {
            Assert.Fail($"{file} ({exif}): the {Size}×{Size} crop differs from PIL's. {Locate(crop, Size, Size, expected.CropRows, expected.CropColumns)}");
        }

        var values = new float[3 * Size * Size];
        ImagePreprocessor.Normalize(crop, Size, [.. mean.Select(m => (float)m)], [.. std.Select(s => (float)s)], values);
        Assert.True(BitConverter.IsLittleEndian, "the references hash little-endian float32 bytes");
        int plane = Size * Size;
        foreach (PixelSample s in expected.Samples)
        {
            float value = values[(s.C * plane) + (s.Y * Size) + s.X];
            Assert.True(
                BitConverter.SingleToInt32Bits(value) == BitConverter.SingleToInt32Bits(s.Value),
                $"{file} ({exif}): pixel_values[{s.C}, {s.Y}, {s.X}] is {value:R}, NumPy's {s.Value:R}.");
        }

        for (int c = 0; c < 3; c++)
        {
            double sum = 0;
            foreach (float v in values.AsSpan(c * plane, plane))
            {
                sum += v;
            }

            // NumPy sums pairwise and this sums in order, both in double: only the last bits may differ.
            double relative = Math.Abs(sum - expected.ChannelSums[c]) / Math.Max(1, Math.Abs(expected.ChannelSums[c]));
            Assert.True(relative <= 1e-9, $"{file} ({exif}): channel {c} sums to {sum:R}, NumPy's {expected.ChannelSums[c]:R}.");
        }

        Assert.Equal(expected.PixelValuesSha256, Sha256(MemoryMarshal.AsBytes(values.AsSpan())));
    }

    [Fact]
    public void Every_photo_in_the_folder_has_references_and_is_described_in_the_README()
    {
        string[] files = [.. Directory.EnumerateFiles(PhotoReferences.Folder)
            .Select(Path.GetFileName)
            .Where(n => n!.EndsWith(".jpg", StringComparison.Ordinal) || n.EndsWith(".png", StringComparison.Ordinal) || n.EndsWith(".webp", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)!];
        Assert.Equal(files, References.Value.Photos.Keys.Order(StringComparer.Ordinal));
        string readme = File.ReadAllText(Path.Combine(PhotoReferences.Folder, "README.md"));
        Assert.All(files, f => Assert.Contains($"`{f}`", readme, StringComparison.Ordinal));
        Assert.True(files.Length >= 20, $"only {files.Length} photos");
    }

    [Fact]
    public void The_rotated_photos_differ_between_the_modes_and_the_others_do_not()
    {
        foreach ((string file, Dictionary<ExifOrientationMode, PhotoReference> modes) in References.Value.Photos)
        {
            bool rotated = References.Value.Orientations[file] is > 1;
            PhotoReference apply = modes[ExifOrientationMode.Apply], ignore = modes[ExifOrientationMode.Ignore];
            Assert.True(rotated == (apply.RgbSha256 != ignore.RgbSha256), $"{file}: orientation {References.Value.Orientations[file]}, yet the two modes {(rotated ? "agree" : "differ")}.");
        }

        Assert.Contains(References.Value.Orientations.Values, o => o == 6);
        Assert.Contains(References.Value.Orientations.Values, o => o == 3);
    }

    private static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// Where the pixels differ, from the reference's row and column digests: the first differing row, the
    /// columns that differ (the first differing pixel is in that row, in one of them), and our pixel there.
    /// </summary>
    private static string Locate(byte[] rgb, int width, int height, byte[] rows, byte[] columns)
    {
        var column = new byte[3 * height];
        var differingRows = new List<int>();
        var differingColumns = new List<int>();
        for (int y = 0; y < height; y++)
        {
            if (!SHA256.HashData(rgb.AsSpan(3 * y * width, 3 * width)).AsSpan(0, 4).SequenceEqual(rows.AsSpan(4 * y, 4)))
            {
                differingRows.Add(y);
            }
        }

        for (int x = 0; x < width; x++)
        {
            for (int y = 0; y < height; y++)
            {
                rgb.AsSpan(3 * ((y * width) + x), 3).CopyTo(column.AsSpan(3 * y));
            }

            if (!SHA256.HashData(column).AsSpan(0, 4).SequenceEqual(columns.AsSpan(4 * x, 4)))
            {
                differingColumns.Add(x);
            }
        }

        if (differingRows.Count == 0 || differingColumns.Count == 0)
        {
            return "Every row and column digest agrees (a digest collision); compare with Pillow's output directly.";
        }

        int y0 = differingRows[0], x0 = differingColumns[0];
        int at = 3 * ((y0 * width) + x0);
        return $"{differingRows.Count} of {height} rows and {differingColumns.Count} of {width} columns differ. " +
            $"The first differing pixel is in row {y0}, in one of the differing columns {string.Join(", ", differingColumns.Take(8))}{(differingColumns.Count > 8 ? ", …" : "")} " +
            $"(ours at ({x0}, {y0}): RGB {rgb[at]}, {rgb[at + 1]}, {rgb[at + 2]}).";
    }

    private sealed record PixelSample(int C, int Y, int X, float Value);

    private sealed record PhotoReference(
        int Width, int Height, string RgbSha256, byte[] RgbRows, byte[] RgbColumns,
        string CropSha256, byte[] CropRows, byte[] CropColumns, string PixelValuesSha256, double[] ChannelSums, PixelSample[] Samples);

    /// <summary>references.json, read once.</summary>
    private sealed record PhotoReferences(
        Dictionary<string, Dictionary<ExifOrientationMode, PhotoReference>> Photos, Dictionary<string, int?> Orientations, double[] Mean, double[] Std)
    {
        public static string Folder { get; } = Path.Combine(ModelImageTests.RepositoryRoot(), "models", "fixtures", "photos");

        public static PhotoReferences Load()
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, "references.json")));
            JsonElement root = document.RootElement;
            JsonElement settings = root.GetProperty("pixel_values");
            if (settings.GetProperty("image_size").GetInt32() != Size || settings.GetProperty("resize_mode").GetString() != "shortest_edge_center_crop")
            {
                throw new InvalidDataException("references.json was made for another size or resize mode than these tests use.");
            }

            var photos = new Dictionary<string, Dictionary<ExifOrientationMode, PhotoReference>>(StringComparer.Ordinal);
            var orientations = new Dictionary<string, int?>(StringComparer.Ordinal);
            foreach (JsonElement photo in root.GetProperty("photos").EnumerateArray())
            {
                string file = photo.GetProperty("file").GetString()!;
                JsonElement orientation = photo.GetProperty("stored").GetProperty("exif_orientation");
                orientations[file] = orientation.ValueKind == JsonValueKind.Null ? null : orientation.GetInt32();
                JsonElement exif = photo.GetProperty("exif");
                photos[file] = new()
                {
                    [ExifOrientationMode.Apply] = Read(exif.GetProperty("apply")),
                    [ExifOrientationMode.Ignore] = Read(exif.GetProperty("ignore")),
                };
            }

            return new PhotoReferences(photos, orientations, Doubles(settings.GetProperty("image_mean")), Doubles(settings.GetProperty("image_std")));
        }

        private static PhotoReference Read(JsonElement e) => new(
            e.GetProperty("width").GetInt32(),
            e.GetProperty("height").GetInt32(),
            e.GetProperty("rgb_sha256").GetString()!,
            Convert.FromBase64String(e.GetProperty("rgb_rows").GetString()!),
            Convert.FromBase64String(e.GetProperty("rgb_columns").GetString()!),
            e.GetProperty("crop_sha256").GetString()!,
            Convert.FromBase64String(e.GetProperty("crop_rows").GetString()!),
            Convert.FromBase64String(e.GetProperty("crop_columns").GetString()!),
            e.GetProperty("pixel_values_sha256").GetString()!,
            Doubles(e.GetProperty("channel_sums")),
            [.. e.GetProperty("samples").EnumerateArray().Select(s => new PixelSample(
                s.GetProperty("c").GetInt32(), s.GetProperty("y").GetInt32(), s.GetProperty("x").GetInt32(), (float)s.GetProperty("value").GetDouble()))]);

        private static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetDouble())];
    }
}
