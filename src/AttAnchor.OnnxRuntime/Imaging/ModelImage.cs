using System.Runtime.InteropServices;
using AttAnchor.Skia;
using SkiaSharp;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// An image for a vision-language model: 8-bit RGB pixels in memory, R G B interleaved, rows top to
/// bottom, with the EXIF orientation applied (unless <see cref="ExifOrientationMode.Ignore"/> was asked
/// for). It holds what the Python reference's <c>load_image</c> (Pillow's <c>Image.open</c>,
/// <c>ImageOps.exif_transpose</c>, <c>convert("RGB")</c>) holds: no colour management (ICC profiles and
/// gamma are ignored, as Pillow ignores them), alpha dropped without compositing, grayscale replicated
/// into the three channels.
/// </summary>
/// <remarks>
/// JPEG, PNG, BMP, GIF (its first frame) and WebP are decoded with SkiaSharp; an image above the pixel limit
/// (<see cref="DefaultMaxPixels"/> unless another is given) is refused from its header, and truncated or corrupt data
/// is refused, never returned half decoded. Pixels equal Pillow 9.4's bit for bit on the committed photographs, in
/// both EXIF modes, except a GIF's transparent pixels. See docs/images.md.
/// </remarks>
public sealed partial class ModelImage
{
    /// <summary>
    /// The default size limit of an encoded image, 256 MiB, far above any photograph: a larger file or stream is
    /// refused without being read to its end.
    /// </summary>
    public const long DefaultMaxBytes = 256L * 1024 * 1024;

    /// <summary>
    /// The default pixel limit, Pillow's <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485, about 9459 × 9459):
    /// larger images are refused from their header, before decoding, as decompression bombs are.
    /// </summary>
    public const long DefaultMaxPixels = 89_478_485;

    /// <summary>The smallest width and height accepted, in pixels. A 1-pixel side cannot be resampled meaningfully.</summary>
    public const int MinimumSide = 2;

    private readonly byte[] _rgb;

    private ModelImage(byte[] rgb, int width, int height, string? source)
    {
        _rgb = rgb;
        Width = width;
        Height = height;
        Source = source;
    }

    /// <summary>The width in pixels, after the EXIF orientation.</summary>
    public int Width { get; }

    /// <summary>The height in pixels, after the EXIF orientation.</summary>
    public int Height { get; }

    /// <summary>The pixels: <see cref="Width"/> × <see cref="Height"/> × 3 bytes, R G B interleaved, rows top to bottom.</summary>
    public ReadOnlyMemory<byte> Rgb => _rgb;

    /// <summary>The path the image was loaded from, for messages; <see langword="null"/> when it came from a stream, bytes or pixels.</summary>
    public string? Source { get; }

    /// <summary>Loads an image file (JPEG, PNG, BMP, GIF or WebP), applying its EXIF orientation unless told to ignore it.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxPixels">The largest width × height accepted; checked from the header before decoding.</param>
    /// <param name="exifOrientation">Whether the EXIF orientation is applied (the default, as <c>transformers</c>' <c>load_image</c> does) or ignored.</param>
    /// <param name="maxBytes">The largest file accepted, in bytes; never more than this (plus one) is read, even from a growing file.</param>
    /// <returns>The image, with <see cref="Source"/> set to <paramref name="path"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPixels"/> or <paramref name="maxBytes"/> is not positive, or <paramref name="exifOrientation"/> is not defined.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The path is a directory or not a regular file (a device, FIFO or socket), or the file is larger than <paramref name="maxBytes"/>, empty, not an image, in an unsupported format, truncated or corrupt, above the pixel limit, or smaller than <see cref="MinimumSide"/>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static ModelImage FromFile(string path, long maxPixels = DefaultMaxPixels, ExifOrientationMode exifOrientation = ExifOrientationMode.Apply, long maxBytes = DefaultMaxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        CheckDefined(exifOrientation);
        CheckRegularFile(path);
        byte[] encoded;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            long length = stream.Length;
            if (length > maxBytes)
            {
                throw TooLarge($"'{path}' is {length} bytes", maxBytes);
            }

            encoded = ReadAtMost(stream, maxBytes, length, $"'{path}'");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"Image file not found: {path}. Check the path (relative paths start at {Environment.CurrentDirectory}).", path, e);
        }

        return Decode(encoded, maxPixels, exifOrientation, path);
    }

    /// <summary>Reads an encoded image (JPEG, PNG, BMP, GIF or WebP) from a stream to its end, applying its EXIF orientation unless told to ignore it.</summary>
    /// <param name="stream">The stream, read from its current position; it is not disposed.</param>
    /// <param name="maxPixels">The largest width × height accepted; checked from the header before decoding.</param>
    /// <param name="exifOrientation">Whether the EXIF orientation is applied (the default, as <c>transformers</c>' <c>load_image</c> does) or ignored.</param>
    /// <param name="maxBytes">The most bytes read from the stream; a stream with more is refused after reading this many plus one.</param>
    /// <returns>The image; <see cref="Source"/> is the file's path when <paramref name="stream"/> is a <see cref="FileStream"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot be read.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPixels"/> or <paramref name="maxBytes"/> is not positive, or <paramref name="exifOrientation"/> is not defined.</exception>
    /// <exception cref="InvalidDataException">The data is longer than <paramref name="maxBytes"/>, empty, not an image, in an unsupported format, truncated or corrupt, above the pixel limit, or smaller than <see cref="MinimumSide"/>.</exception>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    public static ModelImage FromStream(Stream stream, long maxPixels = DefaultMaxPixels, ExifOrientationMode exifOrientation = ExifOrientationMode.Apply, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        CheckDefined(exifOrientation);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream cannot be read.", nameof(stream));
        }

        string? source = (stream as FileStream)?.Name;
        long hint = stream.CanSeek ? Math.Max(0, stream.Length - stream.Position) : 0;
        byte[] encoded = ReadAtMost(stream, maxBytes, hint, source is null ? "The image stream" : $"'{source}'");
        return Decode(encoded, maxPixels, exifOrientation, source);
    }

    /// <summary>Decodes an encoded image (JPEG, PNG, BMP, GIF or WebP), applying its EXIF orientation unless told to ignore it.</summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="maxPixels">The largest width × height accepted; checked from the header before decoding.</param>
    /// <param name="exifOrientation">Whether the EXIF orientation is applied (the default, as <c>transformers</c>' <c>load_image</c> does) or ignored.</param>
    /// <returns>The image.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPixels"/> is not positive, or <paramref name="exifOrientation"/> is not defined.</exception>
    /// <exception cref="InvalidDataException">The data is empty, not an image, in an unsupported format, truncated or corrupt, above the pixel limit, or smaller than <see cref="MinimumSide"/>.</exception>
    public static ModelImage FromBytes(ReadOnlySpan<byte> encoded, long maxPixels = DefaultMaxPixels, ExifOrientationMode exifOrientation = ExifOrientationMode.Apply)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        CheckDefined(exifOrientation);
        return Decode(encoded, maxPixels, exifOrientation, null);
    }

    /// <summary>Wraps raw pixels (copied): <paramref name="width"/> × <paramref name="height"/> × 3 bytes, R G B interleaved, rows top to bottom.</summary>
    /// <param name="rgb">The pixels.</param>
    /// <param name="width">The width in pixels, at least <see cref="MinimumSide"/>.</param>
    /// <param name="height">The height in pixels, at least <see cref="MinimumSide"/>.</param>
    /// <returns>The image.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side is below <see cref="MinimumSide"/>, or the image does not fit in one array.</exception>
    /// <exception cref="ArgumentException"><paramref name="rgb"/> does not hold exactly width × height × 3 bytes.</exception>
    public static ModelImage FromRgb(ReadOnlySpan<byte> rgb, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, MinimumSide);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, MinimumSide);
        long length = 3L * width * height;
        if (length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A {width}×{height} RGB image does not fit in one .NET array ({Array.MaxLength} bytes at most).");
        }

        if (rgb.Length != length)
        {
            throw new ArgumentException($"A {width}×{height} RGB image holds width × height × 3 = {length} bytes, but {rgb.Length} were given.", nameof(rgb));
        }

        return new ModelImage(rgb.ToArray(), width, height, null);
    }

    /// <inheritdoc/>
    public override string ToString() => Source is null ? $"{Width}×{Height} RGB image" : $"{Width}×{Height} RGB image from {Source}";

    /// <summary>Refuses a directory or a path that is not a regular file (a device, FIFO or socket) before it is opened: reading one may never end or never return.</summary>
    private static void CheckRegularFile(string path)
    {
        if (Directory.Exists(path))
        {
            throw new InvalidDataException($"'{path}' is a directory, not an image file: pass the path of a JPEG, PNG, BMP, GIF or WebP file.");
        }

        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return; // A missing file is reported when it is opened; Windows paths to devices are not opened as files here.
        }

        int type;
        try
        {
            if (UnixStat(path, out UnixFileStatus status) != 0)
            {
                return; // The open that follows reports why.
            }

            type = status.Mode & UnixFileTypeMask;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return; // No runtime stat to ask: the byte limit still bounds the read.
        }

        if (type == UnixDirectory)
        {
            throw new InvalidDataException($"'{path}' is a directory, not an image file: pass the path of a JPEG, PNG, BMP, GIF or WebP file.");
        }

        if (type != UnixRegularFile)
        {
            throw new InvalidDataException($"'{path}' is not a regular file (a device, FIFO or socket), so it is not read as an image: pass the path of a JPEG, PNG, BMP, GIF or WebP file.");
        }
    }

    /// <summary>Reads at most <paramref name="limit"/> + 1 bytes, and refuses the data when there are more than <paramref name="limit"/>.</summary>
    private static byte[] ReadAtMost(Stream stream, long limit, long sizeHint, string what)
    {
        long cap = Math.Min(limit, Array.MaxLength - 1L);
        byte[] buffer = new byte[(int)Math.Min(cap + 1, Math.Max(sizeHint + 1, 64 * 1024))];
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(cap + 1, 2L * buffer.Length));
            }

            int read = stream.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                break;
            }

            filled += read;
            if (filled > cap)
            {
                throw TooLarge($"{what} holds more than {cap} bytes", cap);
            }
        }

        Array.Resize(ref buffer, filled);
        return buffer;
    }

    private static InvalidDataException TooLarge(string what, long limit) =>
        new($"{what}, more than ModelOptions.MaxImageBytes ({limit}): it was not read. Give a smaller image file, or raise the limit (the maxBytes argument) if the file is trusted.");

    private const int UnixFileTypeMask = 0xF000;
    private const int UnixDirectory = 0x4000;
    private const int UnixRegularFile = 0x8000;

    /// <summary>The .NET runtime's own <c>stat</c> (it follows links), from the native library every Unix runtime ships.</summary>
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnixStat(string path, out UnixFileStatus status);

    /// <summary>The head of the runtime's <c>FileStatus</c>, padded past its end: only the mode is read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct UnixFileStatus
    {
        public int Flags;
        public int Mode;
        public uint Uid;
        public uint Gid;
        public long Size;
        public unsafe fixed long Rest[24];
    }

    private static void CheckDefined(ExifOrientationMode exifOrientation)
    {
        if (!Enum.IsDefined(exifOrientation))
        {
            throw new ArgumentOutOfRangeException(nameof(exifOrientation), exifOrientation, "Not a defined ExifOrientationMode; use ExifOrientationMode.Apply or ExifOrientationMode.Ignore.");
        }
    }

    /// <summary>The data's name in messages.</summary>
    private static string Describe(string? source) => source is null ? "The image data" : $"The image file {source}";

    private static ModelImage Decode(ReadOnlySpan<byte> encoded, long maxPixels, ExifOrientationMode exifOrientation, string? source)
    {
        string what = Describe(source);
        if (encoded.IsEmpty)
        {
            throw new InvalidDataException($"{what} is empty (0 bytes). Give a JPEG, PNG, BMP, GIF or WebP image.");
        }

        SkiaNative.EnsureLoaded();
        using SKData data = SKData.CreateCopy(encoded);
        SKCodec? created = SKCodec.Create(new SKMemoryStream(data), out SKCodecResult opened);
        if (created is null)
        {
            throw new InvalidDataException(opened == SKCodecResult.IncompleteInput
                ? $"{what} ends before its header does ({encoded.Length} bytes): it is truncated or not an image. Give a complete JPEG, PNG, BMP, GIF or WebP file."
                : $"{what} is not an image in a format that can be read ({Signature(encoded)}). Give a JPEG, PNG, BMP, GIF or WebP file.");
        }

        using SKCodec codec = created;
        SKEncodedImageFormat format = codec.EncodedFormat;
        if (format is not (SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Png or SKEncodedImageFormat.Bmp or SKEncodedImageFormat.Gif or SKEncodedImageFormat.Webp))
        {
            throw new InvalidDataException($"{what} is a {format} image, which is not supported. Convert it to PNG or JPEG.");
        }

        int width = codec.Info.Width, height = codec.Info.Height;
        long pixels = (long)width * height;
        if (pixels > maxPixels)
        {
            throw new InvalidDataException(
                $"{what} is {width}×{height} = {pixels:N0} pixels, above the limit of {maxPixels:N0} pixels; it was not decoded. " +
                "Downscale it first, or raise the limit with the maxPixels argument (ModelOptions.MaxImagePixels) if the image is trusted.");
        }

        if (width < MinimumSide || height < MinimumSide)
        {
            throw new InvalidDataException($"{what} is {width}×{height} pixels; a model image needs at least {MinimumSide} pixels on each side. Give a larger image.");
        }

        if (4 * pixels > Array.MaxLength)
        {
            throw new InvalidDataException($"{what} is {width}×{height} pixels, too large to decode into one .NET array. Downscale it first.");
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        byte[] rgba = GC.AllocateUninitializedArray<byte>(checked((int)(4 * pixels)));
        SKCodecResult decoded;
        unsafe
        {
            fixed (byte* destination = rgba)
            {
                decoded = codec.GetPixels(info, (IntPtr)destination, 4 * width, new SKCodecOptions(0));
            }
        }

        if (decoded != SKCodecResult.Success)
        {
            throw new InvalidDataException(decoded switch
            {
                SKCodecResult.IncompleteInput => $"{what} is truncated: its {format} data ends before the last row of the {width}×{height} image. Give the complete file.",
                SKCodecResult.ErrorInInput => $"{what} is corrupt: its {format} data has an error. Give an intact file.",
                _ => $"{what} ({format}, {width}×{height}) could not be decoded to 8-bit RGB ({decoded}). Convert it to an 8-bit PNG or JPEG.",
            });
        }

        if (format == SKEncodedImageFormat.Png && PngGray16.Is(encoded))
        {
            // SkiaSharp keeps the high byte of 16-bit grey; Pillow's convert("RGB") clips the value at 255.
            try
            {
                PngGray16.ReadClipped(encoded, width, height, rgba);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{what} is a 16-bit greyscale PNG, and {e.Message}", e);
            }
        }

        SKEncodedOrigin origin = exifOrientation == ExifOrientationMode.Ignore ? SKEncodedOrigin.TopLeft : codec.EncodedOrigin;
        if (exifOrientation == ExifOrientationMode.Apply && format == SKEncodedImageFormat.Png && origin == SKEncodedOrigin.TopLeft)
        {
            origin = ExifOrientation.FromPng(encoded) ?? origin;
        }

        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int outWidth = swap ? height : width, outHeight = swap ? width : height;
        byte[] rgb = GC.AllocateUninitializedArray<byte>(checked((int)(3 * pixels)));
        Orient(rgba, width, height, origin, rgb);
        return new ModelImage(rgb, outWidth, outHeight, source);
    }

    /// <summary>
    /// Drops alpha and applies an EXIF orientation, as Pillow's <c>ImageOps.exif_transpose</c> does:
    /// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90°
    /// anticlockwise.
    /// </summary>
    internal static void Orient(ReadOnlySpan<byte> rgba, int width, int height, SKEncodedOrigin origin, Span<byte> rgb)
    {
        // The source pixel of output (0, 0) and the source steps, in pixels, along an output row and down an output column.
        (int startX, int startY, int rowDx, int rowDy, int columnDx, int columnDy) = origin switch
        {
            SKEncodedOrigin.TopRight => (width - 1, 0, -1, 0, 0, 1),
            SKEncodedOrigin.BottomRight => (width - 1, height - 1, -1, 0, 0, -1),
            SKEncodedOrigin.BottomLeft => (0, height - 1, 1, 0, 0, -1),
            SKEncodedOrigin.LeftTop => (0, 0, 0, 1, 1, 0),
            SKEncodedOrigin.RightTop => (0, height - 1, 0, -1, 1, 0),
            SKEncodedOrigin.RightBottom => (width - 1, height - 1, 0, -1, -1, 0),
            SKEncodedOrigin.LeftBottom => (width - 1, 0, 0, 1, -1, 0),
            _ => (0, 0, 1, 0, 0, 1),
        };

        bool swap = rowDx == 0;
        int outWidth = swap ? height : width, outHeight = swap ? width : height;
        int rowStep = 4 * ((rowDy * width) + rowDx), columnStep = 4 * ((columnDy * width) + columnDx);
        int rowStart = 4 * ((startY * width) + startX);
        for (int y = 0; y < outHeight; y++, rowStart += columnStep)
        {
            Span<byte> target = rgb.Slice(3 * y * outWidth, 3 * outWidth);
            int at = rowStart;
            for (int x = 0; x < outWidth; x++, at += rowStep)
            {
                target[3 * x] = rgba[at];
                target[(3 * x) + 1] = rgba[at + 1];
                target[(3 * x) + 2] = rgba[at + 2];
            }
        }
    }

    /// <summary>What the data's first bytes say it is, in words (the bytes themselves are not echoed into messages).</summary>
    private static string Signature(ReadOnlySpan<byte> data)
    {
        string? format = data switch
        {
            _ when data.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']) => "PNG",
            _ when data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8]) => "JPEG",
            _ when data.StartsWith("GIF8"u8) => "GIF",
            _ when data.StartsWith("BM"u8) => "BMP",
            _ when data.StartsWith("RIFF"u8) && data.Length >= 12 && data[8..12].SequenceEqual("WEBP"u8) => "WebP",
            _ => null,
        };
        return format is null
            ? $"{data.Length} bytes that start with no JPEG, PNG, BMP, GIF or WebP signature"
            : $"{data.Length} bytes that start as a {format} file does, but whose header is corrupt";
    }
}
