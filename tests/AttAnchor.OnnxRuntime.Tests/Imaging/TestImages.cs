using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// Encoded test images built in memory, byte by byte where the point is the exact file layout (PNG
/// chunks, EXIF blocks, BMP, GIF, ICO), with SkiaSharp's encoders where it is not.
/// </summary>
internal static class TestImages
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Noise(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>An RGB image whose every pixel differs from its neighbours, so any flip or rotation shows.</summary>
    public static byte[] Gradient(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = 3 * ((y * width) + x);
                rgb[i] = (byte)(x * 255 / Math.Max(1, width - 1));
                rgb[i + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                rgb[i + 2] = (byte)((x * 7) + (y * 13));
            }
        }

        return rgb;
    }

    /// <summary>
    /// A PNG: the signature, IHDR, the given extra chunks, one IDAT with the rows (filter 0) deflated,
    /// and IEND, each with its CRC.
    /// </summary>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="colorType">0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA.</param>
    /// <param name="samples">The raw samples, rows top to bottom, without filter bytes (8-bit depth).</param>
    /// <param name="chunks">Chunks between IHDR and IDAT, e.g. PLTE, tRNS, gAMA, eXIf.</param>
    public static byte[] Png(int width, int height, byte colorType, ReadOnlySpan<byte> samples, params (string Type, byte[] Data)[] chunks) =>
        Png(width, height, colorType, 8, samples, chunks);

    /// <summary>A PNG of 8- or 16-bit samples (16-bit ones big-endian); see the 8-bit overload.</summary>
    public static byte[] Png(int width, int height, byte colorType, byte bitDepth, ReadOnlySpan<byte> samples, params (string Type, byte[] Data)[] chunks)
    {
        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => throw new ArgumentOutOfRangeException(nameof(colorType)) };
        int rowBytes = width * channels * (bitDepth / 8);
        var raw = new byte[height * (rowBytes + 1)];
        for (int y = 0; y < height; y++)
        {
            samples.Slice(y * rowBytes, rowBytes).CopyTo(raw.AsSpan((y * (rowBytes + 1)) + 1));
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        return PngFromChunks(Ihdr(width, height, bitDepth, colorType), chunks, compressed.ToArray());
    }

    /// <summary>A PNG whose IHDR claims any size, with a tiny IDAT that does not hold the pixels: enough for a header read.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(new byte[16]);
        }

        return PngFromChunks(Ihdr(width, height, 8, 2), [], compressed.ToArray());
    }

    /// <summary>An RGB PNG encoded by SkiaSharp.</summary>
    public static byte[] SkiaPng(ReadOnlySpan<byte> rgb, int width, int height) => SkiaEncode(rgb, width, height, SKEncodedImageFormat.Png, 100);

    /// <summary>A JPEG (quality 100) encoded by SkiaSharp, without EXIF.</summary>
    public static byte[] SkiaJpeg(ReadOnlySpan<byte> rgb, int width, int height) => SkiaEncode(rgb, width, height, SKEncodedImageFormat.Jpeg, 100);

    /// <summary>A lossless WebP encoded by SkiaSharp.</summary>
    public static byte[] SkiaLosslessWebp(ReadOnlySpan<byte> rgb, int width, int height)
    {
        using SKBitmap bitmap = Bitmap(rgb, width, height);
        using SKPixmap pixmap = bitmap.PeekPixels();
        using SKData? data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100));
        return data?.ToArray() ?? throw new InvalidOperationException("SkiaSharp could not encode a WebP.");
    }

    /// <summary>
    /// <paramref name="jpeg"/> with an APP1 Exif block right after SOI: a big-endian TIFF header and one IFD
    /// entry, Orientation (0x0112, SHORT) = <paramref name="orientation"/>.
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] exif = ExifOrientation(orientation);
        var app1 = new byte[4 + exif.Length];
        app1[0] = 0xFF;
        app1[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(app1.AsSpan(2), (ushort)(exif.Length + 2));
        exif.CopyTo(app1, 4);
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }

    /// <summary>The payload of a JPEG APP1 Exif block: "Exif\0\0" and a TIFF structure holding one Orientation entry.</summary>
    public static byte[] ExifOrientation(int orientation) => [.. "Exif\0\0"u8, .. TiffOrientation(orientation)];

    /// <summary>A big-endian TIFF structure with one IFD entry, Orientation = <paramref name="orientation"/> (a PNG eXIf chunk's payload).</summary>
    public static byte[] TiffOrientation(int orientation) =>
    [
        (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // TIFF header, IFD at 8
        0x00, 0x01,                                               // one entry
        0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,           // Orientation, SHORT, count 1
        0x00, (byte)orientation, 0x00, 0x00,                      // the value, left-justified
        0x00, 0x00, 0x00, 0x00,                                   // no next IFD
    ];

    /// <summary>A 24-bit BMP (BITMAPINFOHEADER, rows bottom-up, BGR, padded to 4 bytes).</summary>
    public static byte[] Bmp(ReadOnlySpan<byte> rgb, int width, int height)
    {
        int stride = ((width * 3) + 3) & ~3;
        int size = 54 + (stride * height);
        var bmp = new byte[size];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), size);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), stride * height);
        for (int y = 0; y < height; y++)
        {
            int row = 54 + ((height - 1 - y) * stride);
            for (int x = 0; x < width; x++)
            {
                int s = 3 * ((y * width) + x);
                bmp[row + (3 * x)] = rgb[s + 2];
                bmp[row + (3 * x) + 1] = rgb[s + 1];
                bmp[row + (3 * x) + 2] = rgb[s];
            }
        }

        return bmp;
    }

    /// <summary>
    /// A GIF89a with a 4-colour global palette and one full-size frame per entry of <paramref name="frames"/>
    /// (palette indices, rows top to bottom). The LZW stream sends a clear code before every second
    /// literal, so the code width stays at 3 bits and no dictionary entry is ever used.
    /// </summary>
    public static byte[] Gif(int width, int height, ReadOnlySpan<byte> palette, params byte[][] frames)
    {
        var gif = new List<byte>();
        gif.AddRange("GIF89a"u8.ToArray());
        gif.AddRange([(byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0xF1, 0x00, 0x00]); // global table of 4 colours
        gif.AddRange(palette[..12].ToArray());
        foreach (byte[] indices in frames)
        {
            gif.AddRange([0x21, 0xF9, 0x04, 0x04, 0x0A, 0x00, 0x00, 0x00]); // graphic control: keep, 100 ms, no transparency
            gif.AddRange([0x2C, 0, 0, 0, 0, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0x00]);
            gif.Add(2); // LZW minimum code size
            var codes = new List<int>();
            for (int i = 0; i < indices.Length; i++)
            {
                if (i % 2 == 0)
                {
                    codes.Add(4); // clear
                }

                codes.Add(indices[i]);
            }

            codes.Add(5); // end of information
            var packed = new List<byte>();
            int bits = 0, count = 0;
            foreach (int code in codes)
            {
                bits |= code << count;
                count += 3;
                while (count >= 8)
                {
                    packed.Add((byte)bits);
                    bits >>= 8;
                    count -= 8;
                }
            }

            if (count > 0)
            {
                packed.Add((byte)bits);
            }

            for (int i = 0; i < packed.Count; i += 255)
            {
                int n = Math.Min(255, packed.Count - i);
                gif.Add((byte)n);
                gif.AddRange(packed.GetRange(i, n));
            }

            gif.Add(0);
        }

        gif.Add(0x3B);
        return [.. gif];
    }

    /// <summary>An ICO file holding one PNG image.</summary>
    public static byte[] IcoWithPng(byte[] png, int width, int height)
    {
        var header = new byte[22];
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), 1); // icon
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 1); // one image
        header[6] = (byte)width;
        header[7] = (byte)height;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(10), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(12), 32);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(14), png.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(18), 22);
        return [.. header, .. png];
    }

    /// <summary>Decodes with SkiaSharp to RGB, as stored (no orientation, no colour space), for comparisons.</summary>
    public static byte[] DecodeStoredRgb(byte[] encoded, out int width, out int height)
    {
        using var codec = SKCodec.Create(SKData.CreateCopy(encoded)) ?? throw new InvalidOperationException("SkiaSharp cannot decode the test image.");
        width = codec.Info.Width;
        height = codec.Info.Height;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[width * height * 4];
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(info, rgba));
        var rgb = new byte[width * height * 3];
        for (int p = 0; p < width * height; p++)
        {
            rgb[3 * p] = rgba[4 * p];
            rgb[(3 * p) + 1] = rgba[(4 * p) + 1];
            rgb[(3 * p) + 2] = rgba[(4 * p) + 2];
        }

        return rgb;
    }

    private static SKBitmap Bitmap(ReadOnlySpan<byte> rgb, int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Span<byte> pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int s = 3 * ((y * width) + x), d = (y * bitmap.RowBytes) + (4 * x);
                pixels[d] = rgb[s];
                pixels[d + 1] = rgb[s + 1];
                pixels[d + 2] = rgb[s + 2];
                pixels[d + 3] = 255;
            }
        }

        return bitmap;
    }

    private static byte[] SkiaEncode(ReadOnlySpan<byte> rgb, int width, int height, SKEncodedImageFormat format, int quality)
    {
        using SKBitmap bitmap = Bitmap(rgb, width, height);
        using SKData data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    private static byte[] Ihdr(int width, int height, byte bitDepth, byte colorType)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        return ihdr;
    }

    private static byte[] PngFromChunks(byte[] ihdr, (string Type, byte[] Data)[] chunks, byte[] idat)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        WriteChunk(png, "IHDR", ihdr);
        foreach ((string type, byte[] data) in chunks)
        {
            WriteChunk(png, type, data);
        }

        WriteChunk(png, "IDAT", idat);
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        png.Write(word);
    }

    /// <summary>The CRC-32 (IEEE, reflected, as PNG uses it).</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFF;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
