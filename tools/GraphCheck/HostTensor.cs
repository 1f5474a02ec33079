using System.Runtime.InteropServices;

namespace AttAnchor.GraphCheck;

/// <summary>The element types a <see cref="HostTensor"/> holds: the NumPy dtypes the reference files use.</summary>
public enum HostElementType
{
    /// <summary>IEEE single precision, NumPy <c>'&lt;f4'</c>.</summary>
    Float32,

    /// <summary>IEEE half precision, NumPy <c>'&lt;f2'</c>.</summary>
    Float16,

    /// <summary>Signed 64-bit integer, NumPy <c>'&lt;i8'</c>.</summary>
    Int64,

    /// <summary>Unsigned byte, NumPy <c>'|u1'</c>.</summary>
    UInt8,
}

/// <summary>
/// A dense, C-order n-dimensional array in managed memory: what a <c>.npy</c> file holds and what
/// <see cref="GraphSession"/> feeds to and reads from ONNX Runtime. The values are kept as
/// little-endian bytes of <see cref="ElementType"/>; <see cref="ToSingleArray"/> and
/// <see cref="ToInt64Array"/> convert.
/// </summary>
/// <remarks>A shape of length 0 is a 0-d (scalar) array with one element.</remarks>
public sealed class HostTensor
{
    private readonly byte[] _data;
    private readonly long[] _shape;

    /// <summary>Wraps raw little-endian element bytes.</summary>
    /// <param name="elementType">The element type of <paramref name="data"/>.</param>
    /// <param name="shape">The dimensions; every one at least 0.</param>
    /// <param name="data">Exactly (product of <paramref name="shape"/>) × element size bytes; kept, not copied.</param>
    /// <exception cref="ArgumentException">A dimension is negative or the byte count does not match the shape.</exception>
    public HostTensor(HostElementType elementType, long[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (!Enum.IsDefined(elementType))
        {
            throw new ArgumentOutOfRangeException(nameof(elementType), elementType, "Unknown element type.");
        }

        long length = ElementCount(shape);
        long bytes = checked(length * SizeOf(elementType));
        if (bytes != data.LongLength)
        {
            throw new ArgumentException(
                $"A {elementType} tensor of shape {FormatShape(shape)} needs {bytes} bytes, but {data.LongLength} were given.", nameof(data));
        }

        ElementType = elementType;
        _shape = (long[])shape.Clone();
        _data = data;
        Length = length;
    }

    /// <summary>The element type of the stored values.</summary>
    public HostElementType ElementType { get; }

    /// <summary>The dimensions (a copy); empty for a 0-d array.</summary>
    public long[] Shape => (long[])_shape.Clone();

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements: the product of the dimensions (1 for a 0-d array).</summary>
    public long Length { get; }

    /// <summary>The raw little-endian element bytes, in C order.</summary>
    public ReadOnlySpan<byte> Bytes => _data;

    /// <summary>Makes a float32 tensor from the values (copied).</summary>
    /// <param name="values">The values in C order.</param>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The tensor.</returns>
    public static HostTensor FromSingles(ReadOnlySpan<float> values, params long[] shape)
        => new(HostElementType.Float32, shape, ToLittleEndianBytes(values));

    /// <summary>Makes a float16 tensor from the values (copied).</summary>
    /// <param name="values">The values in C order.</param>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The tensor.</returns>
    public static HostTensor FromHalves(ReadOnlySpan<Half> values, params long[] shape)
        => new(HostElementType.Float16, shape, ToLittleEndianBytes(values));

    /// <summary>Makes an int64 tensor from the values (copied).</summary>
    /// <param name="values">The values in C order.</param>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The tensor.</returns>
    public static HostTensor FromInt64s(ReadOnlySpan<long> values, params long[] shape)
        => new(HostElementType.Int64, shape, ToLittleEndianBytes(values));

    /// <summary>Makes a uint8 tensor from the values (copied).</summary>
    /// <param name="values">The values in C order.</param>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The tensor.</returns>
    public static HostTensor FromBytes(ReadOnlySpan<byte> values, params long[] shape)
        => new(HostElementType.UInt8, shape, values.ToArray());

    /// <summary>The size of one element in bytes.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>4, 2, 8 or 1.</returns>
    public static int SizeOf(HostElementType type) => type switch
    {
        HostElementType.Float32 => 4,
        HostElementType.Float16 => 2,
        HostElementType.Int64 => 8,
        HostElementType.UInt8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>Whether the type is a floating-point type.</summary>
    /// <param name="type">The element type.</param>
    /// <returns><see langword="true"/> for float32 and float16.</returns>
    public static bool IsFloatingPoint(HostElementType type) => type is HostElementType.Float32 or HostElementType.Float16;

    /// <summary>The product of the dimensions, checked for overflow.</summary>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The element count (1 for an empty shape).</returns>
    /// <exception cref="ArgumentException">A dimension is negative.</exception>
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"The shape {FormatShape(shape)} has a negative dimension.", nameof(shape));
            }

            count = checked(count * d);
        }

        return count;
    }

    /// <summary>Formats a shape as NumPy prints it: <c>(2, 7, 64)</c>, <c>(5,)</c>, <c>()</c>.</summary>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The text.</returns>
    public static string FormatShape(ReadOnlySpan<long> shape) => shape.Length switch
    {
        0 => "()",
        1 => $"({shape[0]},)",
        _ => "(" + string.Join(", ", shape.ToArray()) + ")",
    };

    /// <summary>The values as float32: float16 is widened exactly, integers are converted.</summary>
    /// <returns>A new array of <see cref="Length"/> values in C order.</returns>
    public float[] ToSingleArray()
    {
        var result = new float[Length];
        switch (ElementType)
        {
            case HostElementType.Float32:
                Read<float>().CopyTo(result);
                break;
            case HostElementType.Float16:
                var halves = Read<Half>();
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (float)halves[i];
                }

                break;
            case HostElementType.Int64:
                var longs = Read<long>();
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = longs[i];
                }

                break;
            default:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = _data[i];
                }

                break;
        }

        return result;
    }

    /// <summary>The values as float16: float32 is rounded to nearest, float16 copied, integers converted.</summary>
    /// <returns>A new array of <see cref="Length"/> values in C order.</returns>
    public Half[] ToHalfArray()
    {
        if (ElementType == HostElementType.Float16)
        {
            return Read<Half>().ToArray();
        }

        float[] singles = ToSingleArray();
        var result = new Half[singles.Length];
        for (int i = 0; i < singles.Length; i++)
        {
            result[i] = (Half)singles[i];
        }

        return result;
    }

    /// <summary>The values as int64. Only integer tensors convert; a floating-point tensor is an error.</summary>
    /// <returns>A new array of <see cref="Length"/> values in C order.</returns>
    /// <exception cref="InvalidOperationException">The tensor holds floating-point values.</exception>
    public long[] ToInt64Array()
    {
        switch (ElementType)
        {
            case HostElementType.Int64:
                return Read<long>().ToArray();
            case HostElementType.UInt8:
                var result = new long[Length];
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = _data[i];
                }

                return result;
            default:
                throw new InvalidOperationException($"A {ElementType} tensor does not convert to int64: its values are not integers.");
        }
    }

    /// <summary>Reads the stored elements as <typeparamref name="T"/> (the host must be little-endian, as every .NET platform ONNX Runtime supports is).</summary>
    private ReadOnlySpan<T> Read<T>()
        where T : struct
    {
        EnsureLittleEndian();
        return MemoryMarshal.Cast<byte, T>(_data);
    }

    private static byte[] ToLittleEndianBytes<T>(ReadOnlySpan<T> values)
        where T : struct
    {
        EnsureLittleEndian();
        return MemoryMarshal.AsBytes(values).ToArray();
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("HostTensor stores little-endian data and needs a little-endian machine.");
        }
    }
}
