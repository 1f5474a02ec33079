using System.Buffers.Binary;
using System.IO.Compression;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// The samples of a 16-bit greyscale PNG (IHDR bit depth 16, colour type 0), read here because SkiaSharp
/// decodes them to 8 bits (its high byte, even into float16), while Pillow opens this layout as a 32-bit
/// integer image whose <c>convert("RGB")</c> clips each value v at 255. Only called after SkiaSharp has
/// decoded the same file, so its chunks and compressed data are known to be intact.
/// </summary>
internal static class PngGray16
{
    /// <summary>Adam7's passes: first column, first row, column step, row step.</summary>
    private static readonly (int X, int Y, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <summary>
    /// Whether a PNG's IHDR (the first chunk, as the format requires) says bit depth 16, colour type 0. Grey
    /// with alpha (type 4) and colour (2, 6) at 16 bits keep the high byte in Pillow too, as in SkiaSharp.
    /// </summary>
    /// <param name="png">The file.</param>
    /// <returns><see langword="true"/> for 16-bit greyscale without an alpha channel.</returns>
    public static bool Is(ReadOnlySpan<byte> png) =>
        png.Length >= 26 && png.Slice(12, 4).SequenceEqual("IHDR"u8) && png[24] == 16 && png[25] == 0;

    /// <summary>
    /// Writes min(v, 255) of each 16-bit sample into the R, G and B bytes of <paramref name="rgba"/> (4 bytes a
    /// pixel, rows top to bottom, as stored: no EXIF orientation), leaving the A bytes as they are. Plain and
    /// Adam7-interlaced files are read.
    /// </summary>
    /// <param name="png">The file: a 16-bit greyscale PNG that SkiaSharp decoded.</param>
    /// <param name="width">Its width, from IHDR.</param>
    /// <param name="height">Its height, from IHDR.</param>
    /// <param name="rgba">Receives the clipped values: width × height × 4 bytes.</param>
    /// <exception cref="InvalidDataException">The file's pixel data does not hold what its header says; the message is a clause to follow the file's name.</exception>
    public static void ReadClipped(ReadOnlySpan<byte> png, int width, int height, Span<byte> rgba)
    {
        bool interlaced = png[28] == 1;
        byte[] data = Inflate(png, Length(width, height, interlaced));
        if (!interlaced)
        {
            Unfilter(data, width, height, rgba, 0, 0, 1, 1, width);
            return;
        }

        int at = 0;
        foreach ((int x, int y, int dx, int dy) in Adam7)
        {
            int passWidth = (width - x + dx - 1) / dx, passHeight = (height - y + dy - 1) / dy;
            if (passWidth > 0 && passHeight > 0)
            {
                int length = passHeight * (1 + (2 * passWidth));
                Unfilter(data.AsSpan(at, length), passWidth, passHeight, rgba, x, y, dx, dy, width);
                at += length;
            }
        }
    }

    /// <summary>The bytes the image's rows take once inflated: a filter byte and 2 bytes a sample per row (per pass when interlaced).</summary>
    private static long Length(int width, int height, bool interlaced)
    {
        if (!interlaced)
        {
            return (long)height * (1 + (2L * width));
        }

        long length = 0;
        foreach ((int x, int y, int dx, int dy) in Adam7)
        {
            long passWidth = (width - x + dx - 1) / dx, passHeight = (height - y + dy - 1) / dy;
            length += passWidth > 0 && passHeight > 0 ? passHeight * (1 + (2 * passWidth)) : 0;
        }

        return length;
    }

    /// <summary>The IDAT chunks' contents, concatenated and inflated: exactly <paramref name="length"/> bytes.</summary>
    private static byte[] Inflate(ReadOnlySpan<byte> png, long length)
    {
        if (length > Array.MaxLength)
        {
            throw new InvalidDataException($"its pixel data ({length:N0} bytes once inflated) is too large for one .NET array. Downscale it first.");
        }

        using var compressed = new MemoryStream();
        int at = 8;
        while (at + 12 <= png.Length)
        {
            int chunk = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(png[at..]), (uint)(png.Length - at - 12));
            ReadOnlySpan<byte> type = png.Slice(at + 4, 4);
            if (type.SequenceEqual("IDAT"u8))
            {
                compressed.Write(png.Slice(at + 8, chunk));
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }

            at += 12 + chunk;
        }

        compressed.Position = 0;
        var data = new byte[length];
        using var inflater = new ZLibStream(compressed, CompressionMode.Decompress);
        if (inflater.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) < data.Length)
        {
            throw new InvalidDataException("its pixel data ends before its last row: it is truncated. Give the complete file.");
        }

        return data;
    }

    /// <summary>
    /// Undoes the PNG filters of one image (or Adam7 pass) of 16-bit grey rows, in place, and writes each sample's
    /// clipped value to the pixel (<paramref name="x0"/> + i × <paramref name="dx"/>, <paramref name="y0"/> + j × <paramref name="dy"/>).
    /// </summary>
    private static void Unfilter(Span<byte> rows, int width, int height, Span<byte> rgba, int x0, int y0, int dx, int dy, int imageWidth)
    {
        const int Bpp = 2;
        int stride = 1 + (2 * width);
        Span<byte> previous = [];
        for (int j = 0; j < height; j++)
        {
            Span<byte> row = rows.Slice((j * stride) + 1, stride - 1);
            byte filter = rows[j * stride];
            switch (filter)
            {
                case 0:
                    break;
                case 1:
                    for (int i = Bpp; i < row.Length; i++)
                    {
                        row[i] += row[i - Bpp];
                    }

                    break;
                case 2:
                    for (int i = 0; i < row.Length && !previous.IsEmpty; i++)
                    {
                        row[i] += previous[i];
                    }

                    break;
                case 3:
                    for (int i = 0; i < row.Length; i++)
                    {
                        int left = i >= Bpp ? row[i - Bpp] : 0, up = previous.IsEmpty ? 0 : previous[i];
                        row[i] += (byte)((left + up) >> 1);
                    }

                    break;
                case 4:
                    for (int i = 0; i < row.Length; i++)
                    {
                        int left = i >= Bpp ? row[i - Bpp] : 0, up = previous.IsEmpty ? 0 : previous[i];
                        int upLeft = i >= Bpp && !previous.IsEmpty ? previous[i - Bpp] : 0;
                        row[i] += Paeth(left, up, upLeft);
                    }

                    break;
                default:
                    throw new InvalidDataException($"a row has filter type {filter}, but PNG defines 0 to 4: it is corrupt. Give an intact file.");
            }

            int target = 4 * (((y0 + (j * dy)) * imageWidth) + x0);
            for (int i = 0; i < width; i++, target += 4 * dx)
            {
                int v = (row[2 * i] << 8) | row[(2 * i) + 1];
                byte clipped = (byte)Math.Min(v, 255);
                rgba[target] = clipped;
                rgba[target + 1] = clipped;
                rgba[target + 2] = clipped;
            }

            previous = row;
        }
    }

    private static byte Paeth(int left, int up, int upLeft)
    {
        int p = left + up - upLeft;
        int pa = Math.Abs(p - left), pb = Math.Abs(p - up), pc = Math.Abs(p - upLeft);
        return (byte)(pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft);
    }
}
