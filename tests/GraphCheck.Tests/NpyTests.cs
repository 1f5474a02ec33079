using System.IO.Compression;
using System.Text;
using AttAnchor.GraphCheck;

namespace AttAnchor.GraphCheck.Tests;

/// <summary>The .npy reader and writer, and the output comparison, on small arrays built here.</summary>
public class NpyTests
{
    /// <summary>Bytes of a format 1.0 .npy file with the given header dict and data, padded as NumPy pads (to 64, plus extra spaces).</summary>
    private static byte[] NpyBytes(string dict, byte[] data, byte major = 1, int extraSpaces = 0)
    {
        int unpadded = 10 + dict.Length + extraSpaces + 1;
        string header = dict + new string(' ', extraSpaces + ((64 - (unpadded % 64)) % 64)) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.Add(major);
        bytes.Add(0);
        bytes.Add((byte)(header.Length & 0xff));
        bytes.Add((byte)(header.Length >> 8));
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data);
        return [.. bytes];
    }

    private static byte[] Floats(params float[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    [Fact]
    public void Reads_a_hand_built_float32_array_with_NumPys_growth_padding()
    {
        byte[] npy = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Floats(1, 2, 3, 4, 5, -6.5f), extraSpaces: 20);

        HostTensor tensor = Npy.Parse(npy);

        Assert.Equal(HostElementType.Float32, tensor.ElementType);
        Assert.Equal([2L, 3], tensor.Shape);
        Assert.Equal([1f, 2, 3, 4, 5, -6.5f], tensor.ToSingleArray());
    }

    [Fact]
    public void Reads_a_0_d_int64_array_as_a_scalar_and_uint8_and_float16_arrays()
    {
        HostTensor scalar = Npy.Parse(NpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", BitConverter.GetBytes(7L)));
        HostTensor bytes = Npy.Parse(NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", [0, 128, 255]));
        HostTensor halves = Npy.Parse(NpyBytes("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
            [.. BitConverter.GetBytes((Half)1.5f), .. BitConverter.GetBytes((Half)(-0.25f))]));

        Assert.Empty(scalar.Shape);
        Assert.Equal(1, scalar.Length);
        Assert.Equal([7L], scalar.ToInt64Array());
        Assert.Equal([0L, 128, 255], bytes.ToInt64Array());
        Assert.Equal([1.5f, -0.25f], halves.ToSingleArray());
        Assert.Throws<InvalidOperationException>(() => halves.ToInt64Array());
    }

    public static TheoryData<HostElementType, long[]> RoundTripCases => new()
    {
        { HostElementType.Float32, [] },
        { HostElementType.Float32, [2, 7, 5] },
        { HostElementType.Float16, [5] },
        { HostElementType.Int64, [1, 9] },
        { HostElementType.UInt8, [3, 4, 3] },
        { HostElementType.Float32, [1, 2, 0, 16] },
    };

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void Write_then_read_gives_back_the_same_array_plain_and_gzipped(HostElementType type, long[] shape)
    {
        var random = new Random(17);
        var data = new byte[HostTensor.ElementCount(shape) * HostTensor.SizeOf(type)];
        random.NextBytes(data);
        if (type == HostElementType.Float16)
        {
            // Random bits may be NaNs with payloads; keep them finite so the widening check below is meaningful.
            data = [.. Enumerable.Range(0, data.Length / 2).SelectMany(i => BitConverter.GetBytes((Half)(i - 2.5f)))];
        }

        var original = new HostTensor(type, shape, data);
        using var plain = new MemoryStream();
        Npy.Write(plain, original);
        string path = Path.Combine(Path.GetTempPath(), $"npy-test-{Guid.NewGuid():N}.npy.gz");
        try
        {
            Npy.WriteGzipFile(path, original);
            foreach (HostTensor copy in new[] { Npy.Parse(plain.ToArray()), Npy.ReadFile(path) })
            {
                Assert.Equal(type, copy.ElementType);
                Assert.Equal(shape, copy.Shape);
                Assert.Equal(data, copy.Bytes.ToArray());
            }
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(0, (plain.ToArray()[8] + 10) % 64); // NumPy's 64-byte alignment of the data
    }

    public static TheoryData<string, string> BadHeaders => new()
    {
        { "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "Fortran order" },
        { "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", "dtype '<f8' is not supported" },
        { "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "dtype '>f4' is not supported" },
        { "{'descr': '<f4', 'fortran_order': False, }", "no 'shape'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", "not a valid dict literal" },
        { "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }", "not a valid dict literal" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", "truncated" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", "extra bytes" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void Rejects_bad_headers_and_wrong_data_lengths_with_a_clear_message(string dict, string expected)
    {
        byte[] npy = NpyBytes(dict, Floats(1, 2, 3, 4, 5, 6));

        var error = Assert.Throws<GraphCheckException>(() => Npy.Parse(npy, "x.npy"));

        Assert.StartsWith("x.npy: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_a_file_that_is_not_npy_and_an_unknown_format_version()
    {
        byte[] good = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats(1));
        byte[] version9 = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats(1), major: 9);
        byte[] notNpy = [.. "PK\x03\x04 not numpy at all"u8.ToArray()];

        Assert.Equal([1f], Npy.Parse(good).ToSingleArray());
        Assert.Contains("version 9.0 is not supported", Assert.Throws<GraphCheckException>(() => Npy.Parse(version9)).Message, StringComparison.Ordinal);
        Assert.Contains("not a .npy file", Assert.Throws<GraphCheckException>(() => Npy.Parse(notNpy)).Message, StringComparison.Ordinal);
        Assert.Contains("file not found", Assert.Throws<GraphCheckException>(() => Npy.ReadFile("/nonexistent/a.npy.gz")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_gzip_by_its_magic_bytes_whatever_the_name()
    {
        byte[] npy = NpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", [.. BitConverter.GetBytes(3L), .. BitConverter.GetBytes(-4L)]);
        string path = Path.Combine(Path.GetTempPath(), $"npy-test-{Guid.NewGuid():N}.npy");
        try
        {
            using (var file = File.Create(path))
            using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            {
                gzip.Write(npy);
            }

            Assert.Equal([3L, -4], Npy.ReadFile(path).ToInt64Array());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Comparison_applies_atol_plus_rtol_times_the_reference_and_reports_the_worst_element()
    {
        HostTensor reference = HostTensor.FromSingles([1f, 100f, -2f, 0f], 2, 2);
        HostTensor within = HostTensor.FromSingles([1.0001f, 100.01f, -2f, 0.0001f], 2, 2);   // |Δ| ≤ 1e-4 + 1e-4·|ref|
        HostTensor outside = HostTensor.FromSingles([1f, 100f, -2.01f, 0f], 2, 2);

        TensorComparison pass = TensorComparison.Compare("x", within, reference, 1e-4, 1e-4);
        TensorComparison fail = TensorComparison.Compare("x", outside, reference, 1e-4, 1e-4);
        TensorComparison shape = TensorComparison.Compare("x", HostTensor.FromSingles([1f, 100f, -2f, 0f], 4), reference, 1e-4, 1e-4);
        TensorComparison nan = TensorComparison.Compare("x", HostTensor.FromSingles([float.NaN, 100f, -2f, 0f], 2, 2), reference, 1, 1);

        Assert.True(pass.Passed, pass.ToString());
        Assert.Equal([0L, 1], pass.WorstIndex);
        Assert.False(fail.Passed);
        Assert.Equal(1, fail.Violations);
        Assert.Equal([1L, 0], fail.WorstIndex);
        Assert.InRange(fail.MaxAbsDiff, 0.0099, 0.0101);
        Assert.Contains("FAIL", fail.ToString(), StringComparison.Ordinal);
        Assert.False(shape.Passed);
        Assert.Contains("shape (4,) != reference (2, 2)", shape.ToString(), StringComparison.Ordinal);
        Assert.False(nan.Passed);
        Assert.Equal(double.PositiveInfinity, nan.MaxAbsDiff);
    }
}
