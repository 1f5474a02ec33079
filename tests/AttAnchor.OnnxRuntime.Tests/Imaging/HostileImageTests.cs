using System.Buffers.Binary;
using System.Diagnostics;

namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// Bad input, generated from fixed seeds, for every format <see cref="ModelImage"/> decodes (PNG, JPEG, BMP, GIF, WebP):
/// a valid image cut at many offsets, random bytes behind the right magic, bit flips, and header bombs that claim
/// huge dimensions. Each case ends in a decoded image or an <see cref="InvalidDataException"/> with a one-line
/// message that does not echo the data's bytes in hex: never another exception, a hang or an exhausted memory.
/// </summary>
public class HostileImageTests
{
    private const int Width = 24;
    private const int Height = 16;
    private static readonly string[] Formats = ["png", "jpeg", "bmp", "gif", "webp"];

    /// <summary>A valid image of the format, 24 × 16.</summary>
    private static byte[] Valid(string format)
    {
        byte[] rgb = TestImages.Gradient(Width, Height);
        return format switch
        {
            "png" => TestImages.SkiaPng(rgb, Width, Height),
            "jpeg" => TestImages.SkiaJpeg(rgb, Width, Height),
            "bmp" => TestImages.Bmp(rgb, Width, Height),
            "gif" => TestImages.Gif(Width, Height, [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255], [.. Enumerable.Range(0, Width * Height).Select(i => (byte)(i % 4))]),
            "webp" => TestImages.SkiaLosslessWebp(rgb, Width, Height),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    private static int MagicLength(string format) => format switch { "png" => 8, "jpeg" => 3, "bmp" => 2, "gif" => 6, _ => 16 };

    public const int Truncations = 40;
    public const int RandomTails = 20;
    public const int BitFlips = 40;

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string format in Formats)
        {
            for (int i = 0; i < Truncations; i++)
            {
                data.Add(format, "truncated", i);
            }

            for (int i = 0; i < RandomTails; i++)
            {
                data.Add(format, "random-after-magic", i);
            }

            for (int i = 0; i < BitFlips; i++)
            {
                data.Add(format, "bit-flips", i);
            }
        }

        return data;
    }

    private static byte[] Hostile(string format, string kind, int index)
    {
        byte[] valid = Valid(format);
        var random = new Random((Array.IndexOf(Formats, format) * 1000) + (kind.Length * 100) + index);
        switch (kind)
        {
            case "truncated":
                // Every offset through the headers, then offsets spread over the rest, never the whole file.
                int cut = index < 24 ? index : random.Next(24, valid.Length);
                return valid[..cut];
            case "random-after-magic":
                byte[] bytes = new byte[MagicLength(format) + random.Next(1, 2000)];
                random.NextBytes(bytes);
                valid.AsSpan(0, MagicLength(format)).CopyTo(bytes);
                return bytes;
            default:
                byte[] flipped = valid.ToArray();
                int flips = 1 + random.Next(3);
                for (int f = 0; f < flips; f++)
                {
                    // Half the flips in the first 64 bytes, where the headers are.
                    int at = random.Next(2) == 0 ? random.Next(Math.Min(64, flipped.Length)) : random.Next(flipped.Length);
                    flipped[at] ^= (byte)(1 << random.Next(8));
                }

                return flipped;
        }
    }

    /// <summary>The header bombs: each format's header claiming dimensions far above the pixel limit.</summary>
    public static TheoryData<string> Bombs() =>
    [
        "png-100000x100000", "png-2147483647x1", "png-1x100000000",
        "jpeg-65535x65535", "jpeg-65535x2000",
        "bmp-100000x100000", "bmp-100000x-100000", "bmp-2147483647x1",
        "gif-65535x65535",
        "webp-16384x16384", "webp-vp8x-16777216x16777216",
    ];

    private static byte[] Bomb(string name)
    {
        switch (name)
        {
            case "png-100000x100000":
                return WithPngSize(100_000, 100_000);
            case "png-2147483647x1":
                return WithPngSize(int.MaxValue, 1);
            case "png-1x100000000":
                return WithPngSize(1, 100_000_000);
            case "jpeg-65535x65535":
            case "jpeg-65535x2000":
                byte[] jpeg = Valid("jpeg");
                int sof = jpeg.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xC0]);
                Assert.True(sof > 0, "SkiaSharp's JPEG has no SOF0 marker");
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), name.EndsWith("2000", StringComparison.Ordinal) ? (ushort)2000 : (ushort)65535); // height
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 65535); // width
                return jpeg;
            case "bmp-100000x100000":
            case "bmp-100000x-100000":
            case "bmp-2147483647x1":
                byte[] bmp = Valid("bmp");
                (int w, int h) = name switch { "bmp-100000x100000" => (100_000, 100_000), "bmp-100000x-100000" => (100_000, -100_000), _ => (int.MaxValue, 1) };
                BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), w);
                BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), h);
                return bmp;
            case "gif-65535x65535":
                byte[] gif = Valid("gif");
                BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(6), 65535); // logical screen
                BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(8), 65535);
                int descriptor = gif.AsSpan(13).IndexOf((byte)0x2C) + 13;
                BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(descriptor + 5), 65535); // the frame
                BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(descriptor + 7), 65535);
                return gif;
            case "webp-16384x16384":
                byte[] webp = Valid("webp");
                Assert.True(webp.AsSpan(12, 4).SequenceEqual("VP8L"u8), "SkiaSharp's lossless WebP is not a simple VP8L file");
                BinaryPrimitives.WriteUInt32LittleEndian(webp.AsSpan(21), 0x0FFF_FFFFu); // 14 bits each of width − 1 and height − 1
                return webp;
            default:
                byte[] inner = Valid("webp")[12..]; // the VP8L chunk
                var extended = new List<byte>();
                extended.AddRange("RIFF"u8.ToArray());
                extended.AddRange(new byte[4]);
                extended.AddRange("WEBPVP8X"u8.ToArray());
                extended.AddRange([10, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]); // no flags; canvas 2²⁴ × 2²⁴
                extended.AddRange(inner);
                byte[] file = [.. extended];
                BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(4), file.Length - 8);
                return file;
        }
    }

    private static byte[] WithPngSize(int width, int height)
    {
        byte[] png = TestImages.PngHeaderOnly(width, height);
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        return png;
    }

    /// <summary>Decodes; passes on an image or a clean one-line <see cref="InvalidDataException"/>; returns whether it decoded.</summary>
    private static bool DecodesOrRefusesCleanly(byte[] data)
    {
        var clock = Stopwatch.StartNew();
        Exception? error = Record.Exception(() =>
        {
            ModelImage image = ModelImage.FromBytes(data);
            Assert.True(image.Width >= ModelImage.MinimumSide && image.Height >= ModelImage.MinimumSide);
            Assert.Equal(3L * image.Width * image.Height, image.Rgb.Length);
        });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"decoding {data.Length} bytes took {clock.Elapsed}");
        if (error is null)
        {
            return true;
        }

        Assert.True(error is InvalidDataException, $"{error.GetType().Name}: {error.Message}");
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("The image data ", error.Message, StringComparison.Ordinal);
        if (data.Length >= 4)
        {
            Assert.DoesNotContain(Convert.ToHexString(data.AsSpan(0, Math.Min(8, data.Length))), error.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToHexString(data.AsSpan(0, 4)), error.Message, StringComparison.OrdinalIgnoreCase);
        }

        return false;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hostile_data_decodes_or_is_refused_cleanly(string format, string kind, int index)
    {
        byte[] data = Hostile(format, kind, index);
        bool decoded = DecodesOrRefusesCleanly(data);
        if (kind == "truncated" && index < 8)
        {
            Assert.False(decoded, $"a {format} file cut to {data.Length} bytes decoded");
        }
    }

    [Theory]
    [MemberData(nameof(Bombs))]
    public void A_header_bomb_is_refused_from_its_header(string name)
    {
        byte[] data = Bomb(name);
        long before = GC.GetTotalAllocatedBytes(precise: true);

        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromBytes(data));

        // Refused before any pixel buffer: far less allocated than even one row of the claimed image.
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 1_000_000, $"{name}: {GC.GetTotalAllocatedBytes(precise: true) - before} bytes allocated");
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain(Convert.ToHexString(data.AsSpan(0, 8)), e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_valid_images_decode()
    {
        foreach (string format in Formats)
        {
            ModelImage image = ModelImage.FromBytes(Valid(format));
            Assert.Equal((Width, Height), (image.Width, image.Height));
        }
    }
}
