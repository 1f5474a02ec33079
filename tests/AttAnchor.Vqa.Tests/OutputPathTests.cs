using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// Output paths are checked before anything is answered or evaluated: an <c>--anchor-map</c> or <c>eval --out</c> that
/// cannot be written (under a regular file, in /proc, which even root cannot write, a folder where the file goes) is one
/// error line naming the path, exit 2 and nothing on stdout (the answer used to be on stdout already when the map failed,
/// and eval gave .NET's raw message); the probe leaves no file behind and does not change a file already there.
/// </summary>
public sealed class OutputPathTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-outputs-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string AFile
    {
        get
        {
            string file = Path.Combine(_folder, "file.txt");
            File.WriteAllText(file, "a regular file");
            return file;
        }
    }

    public static TheoryData<string, bool> AnchorMaps => new()
    {
        { "under-file", true }, { "under-file", false },
        { "deep-under-file", true },
        { "proc", true }, { "proc", false },
        { "folder", true },
    };

    [Theory]
    [MemberData(nameof(AnchorMaps))]
    public async Task An_anchor_map_that_cannot_be_written_is_refused_before_the_answer(string where, bool json)
    {
        if (where == "proc" && !OperatingSystem.IsLinux())
        {
            return;
        }

        string map = where switch
        {
            "under-file" => Path.Combine(AFile, "map.png"),
            "deep-under-file" => Path.Combine(AFile, "a", "b", "map.png"),
            "proc" => "/proc/attanchor-map.png",
            _ => _folder,
        };

        // The shapes model answers this in a moment: were the map checked after answering, the answer would be on stdout.
        var (code, stdout, stderr) = await VqaConsole.Run(["--model", ShapesModel.ModelFolder("attanchor"), "--image", ShapesModel.ExampleImage,
            "--question", "What color is the circle?", "--device", "cpu", "--anchor-map", map, .. (json ? (string[])["--json"] : [])]);

        output.WriteLine(stderr);
        Assert.Equal(VqaApp.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"error: --anchor-map {map}", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Could not find a part of the path", stderr, StringComparison.Ordinal);
        if (where.EndsWith("under-file", StringComparison.Ordinal))
        {
            Assert.Contains($"{Path.Combine(_folder, "file.txt")} is a file, not a folder", stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_probe_neither_leaves_a_map_behind_nor_changes_one_already_there()
    {
        string fresh = Path.Combine(_folder, "fresh.png");
        string existing = Path.Combine(_folder, "existing.png");
        File.WriteAllText(existing, "keep me");

        foreach (string map in (string[])[fresh, existing])
        {
            // The model folder does not exist: the run fails after the map's check.
            var (code, stdout, stderr) = await VqaConsole.Run(["--model", Path.Combine(_folder, "no-model"), "--image", ShapesModel.ExampleImage,
                "--question", "What?", "--anchor-map", map, "--json"]);

            Assert.Equal(VqaApp.RunError, code);
            Assert.Equal(string.Empty, stdout);
            Assert.Contains("Model folder not found", stderr, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(fresh));
        Assert.Equal("keep me", File.ReadAllText(existing));
    }

    public static TheoryData<string> OutFolders => new() { "under-file", "deep-under-file", "is-file", "proc", "report-is-folder" };

    [Theory]
    [MemberData(nameof(OutFolders))]
    public async Task An_eval_out_folder_that_cannot_be_written_is_refused_before_anything_runs(string where)
    {
        if (where == "proc" && !OperatingSystem.IsLinux())
        {
            return;
        }

        string outFolder = where switch
        {
            "under-file" => Path.Combine(AFile, "out"),
            "deep-under-file" => Path.Combine(AFile, "x", "y"),
            "is-file" => AFile,
            "proc" => "/proc/attanchor-eval-out",
            _ => Path.Combine(_folder, "out"),
        };
        if (where == "report-is-folder")
        {
            Directory.CreateDirectory(Path.Combine(outFolder, "report.json"));
        }

        // Neither the model nor the data exists: the --out check comes first.
        var (code, stdout, stderr) = await VqaConsole.Run(["eval", "--model", Path.Combine(_folder, "no-model"), "--data", Path.Combine(_folder, "no-data.jsonl"),
            "--out", outFolder, "--device", "cpu"]);

        output.WriteLine(stderr);
        Assert.Equal(VqaApp.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"error: --out {outFolder}", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Model folder", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Could not find a part of the path", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_folder, "file.txt", "out")));
    }

    [Fact]
    public async Task A_created_out_folder_is_taken_away_again_when_the_run_fails_before_writing()
    {
        string outFolder = Path.Combine(_folder, "new", "out");

        var (code, stdout, stderr) = await VqaConsole.Run(["eval", "--model", Path.Combine(_folder, "no-model"), "--data", Path.Combine(_folder, "no-data.jsonl"),
            "--out", outFolder, "--device", "cpu"]);

        Assert.Equal(VqaApp.RunError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("Model folder not found", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outFolder));
    }
}

/// <summary>
/// A file given as the question's --image that is not an image (here a copy of a passwd file) is named in the error,
/// and its bytes are not: the library's message appends the first bytes in hex, which the console leaves out.
/// </summary>
public sealed class ImageContentTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-image-content-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_file_that_is_not_an_image_is_named_and_its_bytes_are_not_shown()
    {
        string file = Path.Combine(_folder, "passwd.png");
        File.WriteAllText(file, "root:x:0:0:root:/root:/bin/bash\n");

        var (code, stdout, stderr) = await VqaConsole.Run(["--model", ShapesModel.ModelFolder("attanchor"), "--image", file, "--question", "What?", "--device", "cpu", "--json"]);

        Assert.Equal(VqaApp.RunError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(file, stderr, StringComparison.Ordinal);
        Assert.Contains("not an image", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("726F6F74", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("bytes starting", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("root:x", stderr, StringComparison.Ordinal);
    }

    /// <summary>A device that never ends, or a folder, as --image: one line naming it, at once, not a process that grows without end.</summary>
    [Theory]
    [InlineData("/dev/zero", "more than 256 MiB")]
    [InlineData("folder", "is a folder")]
    [InlineData("empty", "is empty (0 bytes)")]
    public async Task A_device_a_folder_or_an_empty_file_as_the_image_is_one_line(string image, string expected)
    {
        if (image == "/dev/zero" && !OperatingSystem.IsLinux())
        {
            return;
        }

        string path = image switch
        {
            "folder" => _folder,
            "empty" => Path.Combine(_folder, "empty.png"),
            _ => image,
        };
        if (image == "empty")
        {
            File.WriteAllBytes(path, []);
        }

        var (code, stdout, stderr) = await VqaConsole.Run(["--model", ShapesModel.ModelFolder("attanchor"), "--image", path, "--question", "What?", "--device", "cpu", "--json"]);

        Assert.Equal(VqaApp.RunError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(path, stderr, StringComparison.Ordinal);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("The image file x is not an image in a format that can be read (32 bytes starting 726F6F743A783A30). Give a JPEG.",
        "The image file x is not an image in a format that can be read. Give a JPEG.")]
    [InlineData("The image data is not an image (3 bytes starting ffd8ff).", "The image data is not an image.")]
    [InlineData("Nothing to take out (3 bytes).", "Nothing to take out (3 bytes).")]
    public void Error_messages_lose_the_bytes_the_image_reader_appends(string message, string expected) =>
        Assert.Equal(expected, VqaApp.WithoutBytes(message));
}
