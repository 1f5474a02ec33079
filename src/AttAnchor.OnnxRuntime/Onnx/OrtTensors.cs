using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttAnchor.OnnxRuntime;

/// <summary>Moves float data in and out of ONNX Runtime tensors of the element type a graph declares (float32 or float16).</summary>
internal static class OrtTensors
{
    /// <summary>A new ORT-allocated tensor holding <paramref name="values"/>, converted to <paramref name="type"/>.</summary>
    public static OrtValue FromFloats(ReadOnlySpan<float> values, long[] shape, TensorElementType type)
    {
        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, shape);
        try
        {
            if (type == TensorElementType.Float)
            {
                values.CopyTo(value.GetTensorMutableDataAsSpan<float>());
            }
            else
            {
                Span<Half> halves = MemoryMarshal.Cast<Float16, Half>(value.GetTensorMutableDataAsSpan<Float16>());
                for (int i = 0; i < values.Length; i++)
                {
                    halves[i] = (Half)values[i];
                }
            }

            return value;
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }

    /// <summary>Copies a float32 or float16 tensor's values, from <paramref name="start"/>, into <paramref name="destination"/> as floats.</summary>
    public static void ReadFloats(OrtValue value, long start, Span<float> destination) =>
        ReadFloats(value, value.GetTensorTypeAndShape().ElementDataType, start, destination);

    /// <summary>As <see cref="ReadFloats(OrtValue, long, Span{float})"/> for a tensor whose element type is known (nothing is allocated).</summary>
    public static void ReadFloats(OrtValue value, TensorElementType type, long start, Span<float> destination)
    {
        if (type == TensorElementType.Float)
        {
            value.GetTensorDataAsSpan<float>().Slice(checked((int)start), destination.Length).CopyTo(destination);
        }
        else if (type == TensorElementType.Float16)
        {
            ReadOnlySpan<Half> halves = MemoryMarshal.Cast<Float16, Half>(value.GetTensorDataAsSpan<Float16>()).Slice(checked((int)start), destination.Length);
            for (int i = 0; i < halves.Length; i++)
            {
                destination[i] = (float)halves[i];
            }
        }
        else
        {
            throw new InvalidDataException($"A graph produced {type} where float32 or float16 was declared.");
        }
    }

    /// <summary>All of a float tensor's values as floats, with its shape.</summary>
    public static float[] ToFloats(OrtValue value, out long[] shape)
    {
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        shape = info.Shape;
        var result = new float[info.ElementCount];
        ReadFloats(value, 0, result);
        return result;
    }

    /// <summary>A tensor of token ids in the declared integer type.</summary>
    public static OrtValue Ids(ReadOnlySpan<int> ids, TensorElementType type)
    {
        long[] shape = [1, ids.Length];
        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, shape);
        if (type == TensorElementType.Int64)
        {
            Span<long> longs = value.GetTensorMutableDataAsSpan<long>();
            for (int i = 0; i < ids.Length; i++)
            {
                longs[i] = ids[i];
            }
        }
        else
        {
            ids.CopyTo(value.GetTensorMutableDataAsSpan<int>());
        }

        return value;
    }

    /// <summary>Formats a shape as NumPy prints it: <c>(1, 576, 64)</c>.</summary>
    public static string Format(ReadOnlySpan<long> shape) => shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape.ToArray())})";
}
