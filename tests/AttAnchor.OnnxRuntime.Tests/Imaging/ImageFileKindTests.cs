using System.Diagnostics;

namespace AttAnchor.OnnxRuntime.Tests.Imaging;

/// <summary>
/// <see cref="ModelImage.FromFile"/> reads only regular files, and never more than its byte limit plus one:
/// a directory, a character device, a FIFO and an oversized file are refused by name before they are read;
/// a link to a regular file is followed; <see cref="ModelImage.FromStream"/> stops at the limit too. Unix only, as the
/// library's tests are run (a device and a FIFO are made with <c>/dev/zero</c> and <c>mkfifo</c>).
/// </summary>
public sealed class ImageFileKindTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-filekind-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WritePng(string name)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, TestImages.SkiaPng(TestImages.Gradient(6, 4), 6, 4));
        return path;
    }

    private static void AssertOneLine(string message, string path, string expected)
    {
        Assert.DoesNotContain('\n', message);
        Assert.Contains($"'{path}'", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_is_refused_as_a_directory()
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromFile(_folder));
        AssertOneLine(e.Message, _folder, "is a directory, not an image file");
    }

    [Fact]
    public void A_character_device_is_refused_without_reading_it()
    {
        // Read to its end, /dev/zero would fill memory; the check refuses it from its file type.
        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromFile("/dev/zero"));
        AssertOneLine(e.Message, "/dev/zero", "is not a regular file (a device, FIFO or socket)");
    }

    [Fact]
    public async Task A_fifo_is_refused_without_opening_it()
    {
        string fifo = Path.Combine(_folder, "image.png");
        using (Process mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // Opening a FIFO for reading blocks until a writer comes; the load must fail at once instead.
        Task<Exception> load = Task.Run(() => Record.Exception(() => ModelImage.FromFile(fifo)));
        Task finished = await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(finished == load, "FromFile blocked on a FIFO.");
        var e = Assert.IsType<InvalidDataException>(await load);
        AssertOneLine(e.Message, fifo, "is not a regular file (a device, FIFO or socket)");
    }

    [Fact]
    public void A_link_to_a_regular_file_is_followed()
    {
        string target = WritePng("target.png");
        string link = Path.Combine(_folder, "link.png");
        File.CreateSymbolicLink(link, target);

        ModelImage image = ModelImage.FromFile(link);

        Assert.Equal((6, 4), (image.Width, image.Height));
        Assert.Equal(ModelImage.FromFile(target).Rgb.ToArray(), image.Rgb.ToArray());
    }

    [Fact]
    public void A_file_above_the_byte_limit_is_refused_by_its_size()
    {
        string path = WritePng("big.png");
        long length = new FileInfo(path).Length;

        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromFile(path, maxBytes: length - 1));
        AssertOneLine(e.Message, path, $"is {length} bytes, more than ModelOptions.MaxImageBytes ({length - 1})");

        Assert.Equal(6, ModelImage.FromFile(path, maxBytes: length).Width);
    }

    [Fact]
    public void A_stream_is_read_to_the_byte_limit_plus_one_and_no_further()
    {
        var endless = new CountingZeroStream();

        var e = Assert.Throws<InvalidDataException>(() => ModelImage.FromStream(endless, maxBytes: 1000));

        Assert.Contains("more than ModelOptions.MaxImageBytes (1000)", e.Message, StringComparison.Ordinal);
        Assert.Equal(1001, endless.Handed);
        byte[] png = TestImages.SkiaPng(TestImages.Gradient(6, 4), 6, 4);
        Assert.Throws<InvalidDataException>(() => ModelImage.FromStream(new MemoryStream(png), maxBytes: png.Length - 1));
        Assert.Equal(6, ModelImage.FromStream(new MemoryStream(png), maxBytes: png.Length).Width);
    }

    [Fact]
    public void The_byte_limit_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromFile(WritePng("a.png"), maxBytes: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelImage.FromStream(new MemoryStream([1]), maxBytes: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelOptions { MaxImageBytes = 0 });
        Assert.Equal(ModelImage.DefaultMaxBytes, new ModelOptions().MaxImageBytes);
        Assert.Equal(5, new ModelOptions { MaxImageBytes = 5 }.MaxImageBytes);
    }

    /// <summary>An endless stream of zeros, unseekable, that counts the bytes handed out.</summary>
    private sealed class CountingZeroStream : Stream
    {
        public long Handed { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => Handed; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Clear(buffer, offset, count);
            Handed += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
