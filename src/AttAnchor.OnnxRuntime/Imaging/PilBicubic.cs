using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Pillow's <c>Image.resize(size, Image.BICUBIC)</c> on 8-bit RGB, bit for bit (Pillow's
/// <c>libImaging/Resample.c</c>; <c>reducing_gap</c> is <c>None</c> there by default, so there is no
/// reduce step):
/// <list type="bullet">
/// <item>the bicubic kernel with a = −0.5 and support 2, widened by the downscale factor when shrinking
/// (so it antialiases), evaluated in double at <c>(i − centre + 0.5) / filterscale</c> over the source
/// indices <c>[(int)(centre − support + 0.5), (int)(centre + support + 0.5))</c>, then divided by its
/// sum;</item>
/// <item>those weights in fixed point with <see cref="PrecisionBits"/> = 32 − 8 − 2 = 22 fractional bits,
/// rounded half away from zero (<c>normalize_coeffs_8bpc</c>);</item>
/// <item>each output value <c>clip8((1 &lt;&lt; 21) + Σ u8 × weight) &gt;&gt; 22</c> in 32-bit integers;</item>
/// <item>the horizontal pass first, into 8-bit values, then the vertical pass; a pass is skipped when
/// its side does not change.</item>
/// </list>
/// Unlike Pillow, <see cref="Resample"/> can compute only a window of the output (the centre crop) and
/// read a virtual source (an image pasted on a filled square), so neither the full resized image nor
/// the padded square nor the horizontal pass's intermediate image is ever held in memory; the values
/// are the same, since every output value depends only on its own weights. The vertical pass streams the
/// horizontally resampled rows into 32-bit sums of the output window, so its memory is 4 bytes per output
/// value whatever the source size.
/// </summary>
internal static class PilBicubic
{
    /// <summary>Fractional bits of the fixed-point weights: 32 − 8 − 2 (8 bits of result, 2 for overflow).</summary>
    internal const int PrecisionBits = 32 - 8 - 2;

    /// <summary>The support of the bicubic kernel at scale 1.</summary>
    private const double KernelSupport = 2.0;

    /// <summary>The accumulators' start value: one half in fixed point, so the final shift rounds.</summary>
    private const int Rounding = 1 << (PrecisionBits - 1);

    /// <summary>
    /// Resizes interleaved 8-bit RGB pixels as Pillow's <c>Image.resize((newWidth, newHeight), Image.BICUBIC)</c> does.
    /// </summary>
    /// <param name="source">The image, <paramref name="width"/> × <paramref name="height"/> × 3 bytes, rows top to bottom, R G B interleaved.</param>
    /// <param name="width">The source width in pixels (1 or more).</param>
    /// <param name="height">The source height in pixels (1 or more).</param>
    /// <param name="newWidth">The width to resize to (1 or more).</param>
    /// <param name="newHeight">The height to resize to (1 or more).</param>
    /// <param name="destination">Receives <paramref name="newWidth"/> × <paramref name="newHeight"/> × 3 bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1, or a pixel count overflows.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> does not hold exactly width × height × 3 bytes, or <paramref name="destination"/> is too short.</exception>
    public static void Resize(ReadOnlySpan<byte> source, int width, int height, int newWidth, int newHeight, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newHeight, 1);
        long sourceLength = 3L * width * height, destinationLength = 3L * newWidth * newHeight;
        if (sourceLength > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A {width}×{height} RGB image does not fit in one span.");
        }

        if (destinationLength > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(newWidth), $"A {newWidth}×{newHeight} RGB image does not fit in one span.");
        }

        if (source.Length != sourceLength)
        {
            throw new ArgumentException($"The source must hold width × height × 3 = {sourceLength} bytes, but it holds {source.Length}.", nameof(source));
        }

        if (destination.Length < destinationLength)
        {
            throw new ArgumentException($"The destination must hold newWidth × newHeight × 3 = {destinationLength} bytes, but it holds {destination.Length}.", nameof(destination));
        }

        Resample(new Canvas(source, width, height), newWidth, newHeight, 0, 0, newWidth, newHeight, destination);
    }

    /// <summary>
    /// Computes the window [<paramref name="left"/>, +<paramref name="windowWidth"/>) × [<paramref name="top"/>,
    /// +<paramref name="windowHeight"/>) of the <paramref name="newWidth"/> × <paramref name="newHeight"/>
    /// bicubic resize of <paramref name="canvas"/>: exactly those pixels of Pillow's full resize.
    /// </summary>
    /// <param name="canvas">The source.</param>
    /// <param name="newWidth">The width of the (virtual) resized image.</param>
    /// <param name="newHeight">The height of the (virtual) resized image.</param>
    /// <param name="left">The window's first column in the resized image.</param>
    /// <param name="top">The window's first row in the resized image.</param>
    /// <param name="windowWidth">The window's width.</param>
    /// <param name="windowHeight">The window's height.</param>
    /// <param name="destination">Receives windowWidth × windowHeight × 3 bytes.</param>
    internal static void Resample(
        scoped in Canvas canvas, int newWidth, int newHeight, int left, int top, int windowWidth, int windowHeight, Span<byte> destination)
    {
        Debug.Assert(newWidth >= 1 && newHeight >= 1 && windowWidth >= 1 && windowHeight >= 1);
        Debug.Assert(left >= 0 && top >= 0 && left + (long)windowWidth <= newWidth && top + (long)windowHeight <= newHeight);
        Debug.Assert(destination.Length >= 3L * windowWidth * windowHeight);

        bool horizontal = newWidth != canvas.Width;
        bool vertical = newHeight != canvas.Height;
        int stride = 3 * windowWidth;
        Coefficients? columns = horizontal ? Coefficients.Compute(canvas.Width, newWidth, left, windowWidth) : null;
        Coefficients? rows = vertical ? Coefficients.Compute(canvas.Height, newHeight, top, windowHeight) : null;
        int firstColumn = columns?.First ?? left, columnCount = columns?.Span ?? windowWidth;
        int firstRow = rows?.First ?? top, rowCount = rows?.Span ?? windowHeight;

        byte[] scratchArray = ArrayPool<byte>.Shared.Rent(3 * columnCount);
        byte[]? lineArray = null, fillLineArray = null;
        int[]? sumsArray = null;
        try
        {
            Span<byte> scratch = scratchArray.AsSpan(0, 3 * columnCount);
            if (!vertical)
            {
                // One source row per output row: the horizontal pass (or a copy) straight into the destination.
                for (int y = 0; y < windowHeight; y++)
                {
                    ReadOnlySpan<byte> row = canvas.Row(top + y, firstColumn, columnCount, scratch);
                    Span<byte> target = destination.Slice(y * stride, stride);
                    if (columns is null)
                    {
                        row.CopyTo(target);
                    }
                    else
                    {
                        Horizontal(row, columns, target);
                    }
                }

                return;
            }

            // The vertical pass streams: each horizontally resampled row is added, with its weight, to the
            // sums of the output rows whose support holds it. Integer sums do not depend on the order.
            sumsArray = ArrayPool<int>.Shared.Rent(windowHeight * stride);
            Span<int> sums = sumsArray.AsSpan(0, windowHeight * stride);
            sums.Fill(Rounding);
            Span<byte> line = default, fillLine = default;
            bool fillLineReady = false;
            if (columns is not null)
            {
                lineArray = ArrayPool<byte>.Shared.Rent(stride);
                line = lineArray.AsSpan(0, stride);
                fillLineArray = ArrayPool<byte>.Shared.Rent(stride);
                fillLine = fillLineArray.AsSpan(0, stride);
            }

            int firstOutput = 0;
            for (int r = 0; r < rowCount; r++)
            {
                int y = firstRow + r;
                while (firstOutput < windowHeight && rows!.Start[firstOutput] + rows.Length[firstOutput] <= r)
                {
                    firstOutput++;
                }

                if (firstOutput == windowHeight || rows!.Start[firstOutput] > r)
                {
                    continue;
                }

                ReadOnlySpan<byte> resampled;
                if (columns is null)
                {
                    resampled = canvas.Row(y, firstColumn, columnCount, scratch);
                }
                else if (canvas.IsFillRow(y))
                {
                    // Every row of the padding is the same: resample it once.
                    if (!fillLineReady)
                    {
                        Horizontal(canvas.Row(y, firstColumn, columnCount, scratch), columns, fillLine);
                        fillLineReady = true;
                    }

                    resampled = fillLine;
                }
                else
                {
                    Horizontal(canvas.Row(y, firstColumn, columnCount, scratch), columns, line);
                    resampled = line;
                }

                for (int o = firstOutput; o < windowHeight && rows.Start[o] <= r; o++)
                {
                    int weight = rows.Weights[(o * rows.KernelSize) + (r - rows.Start[o])];
                    if (weight != 0)
                    {
                        Accumulate(resampled, weight, sums.Slice(o * stride, stride));
                    }
                }
            }

            for (int i = 0; i < sums.Length; i++)
            {
                destination[i] = Clip(sums[i]);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratchArray);
            if (lineArray is not null)
            {
                ArrayPool<byte>.Shared.Return(lineArray);
            }

            if (fillLineArray is not null)
            {
                ArrayPool<byte>.Shared.Return(fillLineArray);
            }

            if (sumsArray is not null)
            {
                ArrayPool<int>.Shared.Return(sumsArray);
            }
        }
    }

    /// <summary>Pillow's bicubic kernel (a = −0.5), in the same double arithmetic.</summary>
    internal static double Kernel(double x)
    {
        const double A = -0.5;
        if (x < 0.0)
        {
            x = -x;
        }

        if (x < 1.0)
        {
            return ((((A + 2.0) * x) - (A + 3.0)) * x * x) + 1;
        }

        if (x < 2.0)
        {
            return ((((((x - 5) * x) + 8) * x) - 4) * A);
        }

        return 0.0;
    }

    /// <summary>Pillow's <c>clip8</c>: the fixed-point sum shifted down (arithmetic shift), clamped to 0..255.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip(int sum)
    {
        int value = sum >> PrecisionBits;
        return value <= 0 ? (byte)0 : value >= 255 ? (byte)255 : (byte)value;
    }

    /// <summary>One row of the horizontal pass: <paramref name="row"/> holds the source columns from <see cref="Coefficients.First"/>.</summary>
    private static void Horizontal(ReadOnlySpan<byte> row, Coefficients columns, Span<byte> target)
    {
        Debug.Assert(row.Length >= 3 * columns.Span && target.Length >= 3 * columns.Count);
        ref byte source = ref MemoryMarshal.GetReference(row);
        ref int weights = ref MemoryMarshal.GetArrayDataReference(columns.Weights);
        int kernelSize = columns.KernelSize;
        for (int x = 0; x < columns.Count; x++)
        {
            int count = columns.Length[x];
            ref byte pixel = ref Unsafe.Add(ref source, 3 * columns.Start[x]);
            ref int k = ref Unsafe.Add(ref weights, x * kernelSize);
            int r = Rounding, g = Rounding, b = Rounding;
            for (int i = 0; i < count; i++)
            {
                int w = Unsafe.Add(ref k, i);
                r += Unsafe.Add(ref pixel, 3 * i) * w;
                g += Unsafe.Add(ref pixel, (3 * i) + 1) * w;
                b += Unsafe.Add(ref pixel, (3 * i) + 2) * w;
            }

            target[3 * x] = Clip(r);
            target[(3 * x) + 1] = Clip(g);
            target[(3 * x) + 2] = Clip(b);
        }
    }

    /// <summary><c>sums[i] += row[i] × weight</c>.</summary>
    private static void Accumulate(ReadOnlySpan<byte> row, int weight, Span<int> sums)
    {
        Debug.Assert(row.Length >= sums.Length);
        ref byte source = ref MemoryMarshal.GetReference(row);
        ref int sum = ref MemoryMarshal.GetReference(sums);
        for (int i = 0; i < sums.Length; i++)
        {
            Unsafe.Add(ref sum, i) += Unsafe.Add(ref source, i) * weight;
        }
    }

    /// <summary>
    /// The fixed-point weights of a window of output indices along one axis (Pillow's
    /// <c>precompute_coeffs</c> followed by <c>normalize_coeffs_8bpc</c>).
    /// </summary>
    internal sealed class Coefficients
    {
        private Coefficients(int count, int kernelSize)
        {
            Count = count;
            KernelSize = kernelSize;
            Start = new int[count];
            Length = new int[count];
            Weights = new int[checked(count * kernelSize)];
        }

        /// <summary>The number of output indices.</summary>
        public int Count { get; }

        /// <summary>The stride of <see cref="Weights"/>: Pillow's <c>ksize</c>, <c>2 ceil(support) + 1</c>.</summary>
        public int KernelSize { get; }

        /// <summary>The first source index any output reads.</summary>
        public int First { get; private set; }

        /// <summary>The number of source indices from <see cref="First"/> that the outputs read.</summary>
        public int Span { get; private set; }

        /// <summary>Per output: its first source index, relative to <see cref="First"/>.</summary>
        public int[] Start { get; }

        /// <summary>Per output: the number of source indices it reads.</summary>
        public int[] Length { get; }

        /// <summary>Per output, <see cref="KernelSize"/> weights with 22 fractional bits (the first <see cref="Length"/> used).</summary>
        public int[] Weights { get; }

        /// <summary>The weights of outputs [<paramref name="outStart"/>, +<paramref name="outCount"/>) of a resize from <paramref name="inSize"/> to <paramref name="outSize"/>.</summary>
        public static Coefficients Compute(int inSize, int outSize, int outStart, int outCount)
        {
            // Pillow passes the box (0, 0, w, h) as floats: in1 - in0 is the float of the size.
            double scale = (double)(float)inSize / outSize;
            double filterScale = scale < 1.0 ? 1.0 : scale;
            double support = KernelSupport * filterScale;
            int kernelSize = ((int)Math.Ceiling(support) * 2) + 1;
            double inverse = 1.0 / filterScale;
            var result = new Coefficients(outCount, kernelSize);
            Span<double> weights = kernelSize <= 256 ? stackalloc double[kernelSize] : new double[kernelSize];
            int first = int.MaxValue, end = 0;
            for (int o = 0; o < outCount; o++)
            {
                int xx = outStart + o;
                double center = (xx + 0.5) * scale;
                int min = (int)(center - support + 0.5);
                if (min < 0)
                {
                    min = 0;
                }

                int max = (int)(center + support + 0.5);
                if (max > inSize)
                {
                    max = inSize;
                }

                int count = max - min;
                double total = 0.0;
                for (int x = 0; x < count; x++)
                {
                    double w = Kernel(((x + min) - center + 0.5) * inverse);
                    weights[x] = w;
                    total += w;
                }

                Span<int> target = result.Weights.AsSpan(o * kernelSize, kernelSize);
                for (int x = 0; x < count; x++)
                {
                    double w = total != 0.0 ? weights[x] / total : weights[x];
                    target[x] = w < 0 ? (int)(-0.5 + (w * (1 << PrecisionBits))) : (int)(0.5 + (w * (1 << PrecisionBits)));
                }

                result.Start[o] = min;
                result.Length[o] = Math.Max(count, 0);
                first = Math.Min(first, min);
                end = Math.Max(end, min + count);
            }

            for (int o = 0; o < outCount; o++)
            {
                result.Start[o] -= first;
            }

            result.First = first;
            result.Span = end - first;
            return result;
        }
    }
}

/// <summary>
/// The source of a resize: an 8-bit RGB image, optionally pasted at an offset onto a larger canvas
/// filled with one colour (LLaVA's <c>expand2square</c>), read a row at a time so the canvas is never
/// materialised.
/// </summary>
internal readonly ref struct Canvas
{
    private readonly ReadOnlySpan<byte> _image;
    private readonly int _imageWidth;
    private readonly int _imageHeight;
    private readonly int _offsetX;
    private readonly int _offsetY;
    private readonly byte _r;
    private readonly byte _g;
    private readonly byte _b;

    /// <summary>The image itself as the canvas.</summary>
    public Canvas(ReadOnlySpan<byte> image, int width, int height)
        : this(image, width, height, width, height, 0, 0, 0, 0, 0)
    {
    }

    /// <summary>The image pasted at (<paramref name="offsetX"/>, <paramref name="offsetY"/>) on a <paramref name="width"/> × <paramref name="height"/> canvas of colour (r, g, b).</summary>
    public Canvas(ReadOnlySpan<byte> image, int imageWidth, int imageHeight, int width, int height, int offsetX, int offsetY, byte r, byte g, byte b)
    {
        Debug.Assert(image.Length == 3L * imageWidth * imageHeight);
        Debug.Assert(offsetX >= 0 && offsetY >= 0 && offsetX + (long)imageWidth <= width && offsetY + (long)imageHeight <= height);
        _image = image;
        _imageWidth = imageWidth;
        _imageHeight = imageHeight;
        Width = width;
        Height = height;
        _offsetX = offsetX;
        _offsetY = offsetY;
        _r = r;
        _g = g;
        _b = b;
    }

    /// <summary>The canvas width in pixels.</summary>
    public int Width { get; }

    /// <summary>The canvas height in pixels.</summary>
    public int Height { get; }

    /// <summary>Whether row <paramref name="y"/> is padding only (every pixel the fill colour).</summary>
    public bool IsFillRow(int y) => (uint)(y - _offsetY) >= (uint)_imageHeight;

    /// <summary>
    /// Pixels [<paramref name="x"/>, +<paramref name="count"/>) of row <paramref name="y"/>: a slice of the
    /// image where they lie inside it, else composed in <paramref name="scratch"/> (at least 3 × count bytes).
    /// </summary>
    public ReadOnlySpan<byte> Row(int y, int x, int count, Span<byte> scratch)
    {
        int imageY = y - _offsetY, imageX = x - _offsetX;
        bool inside = (uint)imageY < (uint)_imageHeight;
        if (inside && imageX >= 0 && imageX + count <= _imageWidth)
        {
            return _image.Slice(3 * ((imageY * _imageWidth) + imageX), 3 * count);
        }

        Span<byte> row = scratch[..(3 * count)];
        for (int i = 0; i < row.Length; i += 3)
        {
            row[i] = _r;
            row[i + 1] = _g;
            row[i + 2] = _b;
        }

        if (inside)
        {
            int from = Math.Max(imageX, 0), to = Math.Min(imageX + count, _imageWidth);
            if (from < to)
            {
                _image.Slice(3 * ((imageY * _imageWidth) + from), 3 * (to - from)).CopyTo(row[(3 * (from - imageX))..]);
            }
        }

        return row;
    }
}
