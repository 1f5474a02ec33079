using System.Buffers.Binary;
using SkiaSharp;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// The EXIF orientation of a PNG, from its <c>eXIf</c> chunk, which Pillow's <c>exif_transpose</c> applies
/// but SkiaSharp's PNG codec does not read. (SkiaSharp reads JPEG's and WebP's EXIF itself.)
/// </summary>
internal static class ExifOrientation
{
    private const ushort OrientationTag = 0x0112;

    /// <summary>
    /// The orientation in the first <c>eXIf</c> chunk of a PNG, anywhere in the file (Pillow reads the
    /// chunks after the pixel data too), or <see langword="null"/> when there is none, it cannot be parsed,
    /// or its value is not 1 to 8.
    /// </summary>
    /// <param name="png">The PNG file.</param>
    /// <returns>The orientation, or <see langword="null"/>.</returns>
    public static SKEncodedOrigin? FromPng(ReadOnlySpan<byte> png)
    {
        int at = 8; // the signature
        while (at + 12 <= png.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png[at..]);
            ReadOnlySpan<byte> type = png.Slice(at + 4, 4);
            if (length > (uint)(png.Length - at - 12))
            {
                return null;
            }

            if (type.SequenceEqual("eXIf"u8))
            {
                return FromTiff(png.Slice(at + 8, (int)length));
            }

            if (type.SequenceEqual("IEND"u8))
            {
                return null;
            }

            at += 12 + (int)length;
        }

        return null;
    }

    /// <summary>
    /// The Orientation entry (0x0112, SHORT or LONG) of the first IFD of a TIFF structure (the payload of
    /// an EXIF block after <c>Exif\0\0</c>), or <see langword="null"/>.
    /// </summary>
    /// <param name="tiff">The TIFF structure: byte order, 42, the offset of IFD0, …</param>
    /// <returns>The orientation when it is 1 to 8, else <see langword="null"/>.</returns>
    public static SKEncodedOrigin? FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return null;
        }

        bool little;
        if (tiff[0] == (byte)'I' && tiff[1] == (byte)'I')
        {
            little = true;
        }
        else if (tiff[0] == (byte)'M' && tiff[1] == (byte)'M')
        {
            little = false;
        }
        else
        {
            return null;
        }

        if (U16(tiff[2..]) != 42)
        {
            return null;
        }

        uint ifd = U32(tiff[4..]);
        if (ifd > (uint)(tiff.Length - 2))
        {
            return null;
        }

        int count = U16(tiff[(int)ifd..]);
        for (int i = 0; i < count; i++)
        {
            int entry = (int)ifd + 2 + (12 * i);
            if (entry + 12 > tiff.Length)
            {
                return null;
            }

            if (U16(tiff[entry..]) != OrientationTag)
            {
                continue;
            }

            ushort type = U16(tiff[(entry + 2)..]);
            uint value = type switch
            {
                3 => U16(tiff[(entry + 8)..]),
                4 => U32(tiff[(entry + 8)..]),
                _ => 0,
            };
            return value is >= 1 and <= 8 ? (SKEncodedOrigin)value : null;
        }

        return null;

        ushort U16(ReadOnlySpan<byte> b) => little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b);
        uint U32(ReadOnlySpan<byte> b) => little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b);
    }
}
