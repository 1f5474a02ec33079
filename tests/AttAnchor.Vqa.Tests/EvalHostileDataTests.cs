using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// Hostile eval data, generated from a fixed seed: image paths that lead out of the data's folders (<c>..</c>, absolute
/// paths), NUL and control characters in paths, lines of megabytes, invalid UTF-8, broken JSON, missing fields, wrong
/// types, files over the size limit, devices, FIFOs, folders, and files that are not images (a copy of a passwd file).
/// Each is one error line naming the question file (and the line, where there is one), exit code 1, nothing on stdout,
/// nothing written, within seconds, and never the content of a file it should not read: not "root:x", not the hex of
/// its first bytes. With --allow-images-anywhere an outside path is followed, and still checked as an image.
/// </summary>
public sealed class EvalHostileDataTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20_261_205;
    private const string Secret = "root:x:0:0:root:/root:/bin/bash";
    private static readonly string SecretHex = Convert.ToHexString(Encoding.ASCII.GetBytes(Secret)[..8]);

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-hostile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A hostile case: its name, what the error must say, the bad line (0: the file as a whole) and the options it adds.</summary>
    public sealed record Case(string Name, string Expected, int Line, Func<Setup, string> Build, bool Anywhere = false, bool LinuxOnly = false)
    {
        public override string ToString() => Name;
    }

    /// <summary>The test's folders: the data's, with a.png in it, and a secret file outside it.</summary>
    public sealed record Setup(string Data, string Outside, string SecretFile);

    public static TheoryData<Case> Cases()
    {
        var random = new Random(Seed);
        var data = new TheoryData<Case>();
        string Good(int id) => Line(id, "a.png", "Is there a circle?", "yes");

        // Lines before the bad one, at a random place; returns the file's text and the bad line's number.
        (string Text, int Line) Around(string bad)
        {
            int before = random.Next(0, 4), after = random.Next(0, 3);
            var lines = Enumerable.Range(1, before).Select(Good).Append(bad).Concat(Enumerable.Range(before + 2, after).Select(Good));
            return (string.Join('\n', lines) + "\n", before + 1);
        }

        void Add(string name, string expected, string bad, bool anywhere = false)
        {
            (string text, int line) = Around(bad);
            data.Add(new Case(name, expected, line, s => Write(s, text), anywhere));
        }

        for (int i = 0; i < 3; i++)
        {
            string up = string.Concat(Enumerable.Repeat("../", random.Next(1, 9)));
            Add($"traversal {up}etc/passwd", "leads outside", Line(7, up + "etc/passwd", "Is it?", "yes"));
        }

        Add("traversal to a sibling folder", "leads outside", Line(7, "../outside/secret.png", "Is it?", "yes"));
        Add("traversal down and out", "leads outside", Line(7, "sub/../../outside/secret.png", "Is it?", "yes"));
        Add("absolute /etc/passwd", "leads outside", Line(7, "/etc/passwd", "Is it?", "yes"));
        Add("absolute /proc/self/environ", "leads outside", Line(7, "/proc/self/environ", "Is it?", "yes"));
        data.Add(new Case("absolute path to the secret", "leads outside", 1, s => Write(s, Line(7, s.SecretFile, "Is it?", "yes") + "\n")));
        data.Add(new Case("anywhere: the secret is not an image", "is not a JPEG, PNG, BMP, GIF or WebP image", 1,
            s => Write(s, Line(7, s.SecretFile, "Is it?", "yes") + "\n"), Anywhere: true));
        data.Add(new Case("anywhere: /dev/zero", "not a regular file", 1, s => Write(s, Line(7, "/dev/zero", "Is it?", "yes") + "\n"), Anywhere: true, LinuxOnly: true));
        data.Add(new Case("anywhere: /proc/self/environ", "not a regular file", 1, s => Write(s, Line(7, "/proc/self/environ", "Is it?", "yes") + "\n"), Anywhere: true, LinuxOnly: true));
        data.Add(new Case("in the folder: a secret named .png", "is not a JPEG, PNG, BMP, GIF or WebP image", 2, s =>
        {
            File.Copy(s.SecretFile, Path.Combine(s.Data, "passwd.png"));
            return Write(s, Good(1) + "\n" + Line(2, "passwd.png", "Is it?", "yes") + "\n");
        }));
        data.Add(new Case("in the folder: a FIFO image", "not a regular file", 1, s =>
        {
            MakeFifo(Path.Combine(s.Data, "pipe.png"));
            return Write(s, Line(1, "pipe.png", "Is it?", "yes") + "\n");
        }, LinuxOnly: true));
        data.Add(new Case("in the folder: a link to a FIFO", "not a regular file", 1, s =>
        {
            MakeFifo(Path.Combine(s.Outside, "pipe"));
            File.CreateSymbolicLink(Path.Combine(s.Data, "link.png"), Path.Combine(s.Outside, "pipe"));
            return Write(s, Line(1, "link.png", "Is it?", "yes") + "\n");
        }, LinuxOnly: true));
        data.Add(new Case("in the folder: a link to /dev/zero", "not a regular file", 1, s =>
        {
            File.CreateSymbolicLink(Path.Combine(s.Data, "zero.png"), "/dev/zero");
            return Write(s, Line(1, "zero.png", "Is it?", "yes") + "\n");
        }, LinuxOnly: true));
        data.Add(new Case("in the folder: a link to the secret", "is not a JPEG, PNG, BMP, GIF or WebP image", 1, s =>
        {
            File.CreateSymbolicLink(Path.Combine(s.Data, "secret.png"), s.SecretFile);
            return Write(s, Line(1, "secret.png", "Is it?", "yes") + "\n");
        }));
        data.Add(new Case("in the folder: a folder image", "names a folder", 1, s =>
        {
            Directory.CreateDirectory(Path.Combine(s.Data, "dir.png"));
            return Write(s, Line(1, "dir.png", "Is it?", "yes") + "\n");
        }));

        foreach (string control in (string[])["\\u0000", "a\\u0000.png", "a.png\\u0000../../etc/passwd", "a\\n.png", "\\u001b[31ma.png", "a\\u007f.png"])
        {
            Add($"control character in image: {control}", "holds a NUL or another control character", Line(3, "IMAGE", "Is it?", "yes").Replace("IMAGE", control, StringComparison.Ordinal));
        }

        for (int i = 0; i < 2; i++)
        {
            int length = random.Next(1 << 20, 3 << 20);
            Add($"a line of {length} characters", "characters long", Line(4, "a.png", new string('x', length), "yes"));
        }

        foreach (byte[] invalid in (byte[][])[[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x28, 0x8C, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80]])
        {
            int badLine = random.Next(1, 5);
            data.Add(new Case($"invalid UTF-8 {Convert.ToHexString(invalid)}", "not UTF-8", badLine, s =>
            {
                using var bytes = new MemoryStream();
                for (int i = 1; i <= 4; i++)
                {
                    byte[] line = Encoding.UTF8.GetBytes(Good(i));
                    bytes.Write(i == badLine ? [.. line[..20], .. invalid, .. line[20..]] : line);
                    bytes.WriteByte((byte)'\n');
                }

                string file = Path.Combine(s.Data, "split.jsonl");
                File.WriteAllBytes(file, bytes.ToArray());
                return file;
            }));
        }

        string good = Good(5);
        for (int i = 0; i < 4; i++)
        {
            int cut = random.Next(1, good.Length - 1);
            Add($"JSON cut at {cut}", "not JSON", good[..cut]);
        }

        Add("not JSON: a passwd line", "not JSON", Secret);
        Add("JSON: a number", "expected a JSON object", "42");
        Add("JSON: a string", "expected a JSON object", "\"a.png\"");
        foreach (string field in (string[])["question_id", "image", "text", "label"])
        {
            Add($"missing {field}", $"missing field '{field}'", Without(good, field));
        }

        string[] wrong = ["12", "[1, 2]", "{\"a\": 1}", "true", "null"];
        foreach (string field in (string[])["image", "text", "label"])
        {
            string value = wrong[random.Next(wrong.Length)];
            Add($"{field} is {value}", $"'{field}' must be a string", Replace(good, field, value));
        }

        Add("question_id is an array", "'question_id' must be a number or a string", Replace(good, "question_id", "[1]"));

        data.Add(new Case("array layout: traversal", "leads outside", 3, s => Write(s, "[\n" + Good(1) + ",\n" + Line(2, "../../../etc/passwd", "Is it?", "yes") + "\n]\n")));
        data.Add(new Case("array layout: invalid UTF-8", "not UTF-8", 2, s =>
        {
            string file = Path.Combine(s.Data, "split.json");
            File.WriteAllBytes(file, [.. "[\n"u8, 0xFF, .. Encoding.UTF8.GetBytes(Good(1)), .. "\n]"u8]);
            return file;
        }));
        data.Add(new Case("a file over 64 MiB", "64 MiB", 0, s =>
        {
            string file = Path.Combine(s.Data, "huge.jsonl");
            using var stream = File.Create(file);
            stream.Write(Encoding.UTF8.GetBytes(Good(1) + "\n"));
            stream.SetLength((64L << 20) + 1);   // sparse: nothing is written but the first line
            return file;
        }));
        data.Add(new Case("the data file is /dev/zero", "not a regular file", 0, _ => "/dev/zero", LinuxOnly: true));
        data.Add(new Case("the data file is /proc/self/environ", "not a regular file", 0, _ => "/proc/self/environ", LinuxOnly: true));
        data.Add(new Case("a data folder whose split.jsonl is a FIFO", "not a regular file", 0, s =>
        {
            MakeFifo(Path.Combine(s.Data, "split.jsonl"));
            return s.Data;
        }, LinuxOnly: true));
        data.Add(new Case("the data file is a link to /dev/zero", "not a regular file", 0, s =>
        {
            string file = Path.Combine(s.Data, "split.jsonl");
            File.CreateSymbolicLink(file, "/dev/zero");
            return file;
        }, LinuxOnly: true));
        data.Add(new Case("the data file is a FIFO", "not a regular file", 0, s =>
        {
            string file = Path.Combine(s.Data, "split.jsonl");
            MakeFifo(file);
            return file;
        }, LinuxOnly: true));
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Hostile_data_is_one_line_naming_the_file_and_line_and_echoes_no_content(Case hostile)
    {
        if (hostile.LinuxOnly && !OperatingSystem.IsLinux())
        {
            return;
        }

        string dataFolder = Directory.CreateDirectory(Path.Combine(_folder, "data")).FullName;
        string outside = Directory.CreateDirectory(Path.Combine(_folder, "outside")).FullName;
        string secret = Path.Combine(outside, "secret.png");
        File.WriteAllText(secret, Secret + "\n");
        File.Copy(Pipelines.ImagePath("square.png"), Path.Combine(dataFolder, "a.png"));
        string file = hostile.Build(new Setup(dataFolder, outside, secret));
        string outFolder = Path.Combine(_folder, "out");

        var clock = Stopwatch.StartNew();
        Task<(int Code, string Stdout, string Stderr)> run = VqaConsole.Run(["eval", "--model", Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa"), "--data", file,
            "--out", outFolder, "--device", "cpu", .. (hostile.Anywhere ? (string[])["--allow-images-anywhere"] : [])]);
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) == run, "the console hangs on this data");
        var (code, stdout, stderr) = await run;

        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {stderr}");
        Assert.Equal(VqaApp.RunError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(hostile.Line > 0 ? $"{file}:{hostile.Line}: " : file, stderr, StringComparison.Ordinal);
        Assert.Contains(hostile.Expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("root:x", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretHex, stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("bytes starting", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outFolder), "nothing is written");
    }

    /// <summary>The same outside image is evaluated when --allow-images-anywhere is given, and refused when it is not.</summary>
    [Fact]
    public void Allow_images_anywhere_follows_an_outside_path_that_is_refused_without_it()
    {
        string dataFolder = Directory.CreateDirectory(Path.Combine(_folder, "data")).FullName;
        string outside = Directory.CreateDirectory(Path.Combine(_folder, "outside")).FullName;
        File.Copy(Pipelines.ImagePath("square.png"), Path.Combine(outside, "b.png"));
        string file = Path.Combine(dataFolder, "split.jsonl");
        File.WriteAllLines(file, [Line(1, "../outside/b.png", "Is it?", "yes"), Line(2, Path.Combine(outside, "b.png"), "Is it?", "no")]);

        var e = Assert.Throws<InvalidDataException>(() => Eval.PopeData.Load([file], null, null));
        Assert.StartsWith($"{file}:1: 'image' leads outside", e.Message, StringComparison.Ordinal);

        Eval.PopeSplit split = Assert.Single(Eval.PopeData.Load([file], null, null, imagesAnywhere: true));
        Assert.All(split.Items, item => Assert.Equal(Path.Combine(outside, "b.png"), item.ImagePath));

        // Under --images, paths may lead into the question file's folder too.
        string images = Directory.CreateDirectory(Path.Combine(_folder, "images")).FullName;
        File.WriteAllLines(file, [Line(1, "../data/../outside/b.png", "Is it?", "yes")]);
        Assert.Throws<InvalidDataException>(() => Eval.PopeData.Load([file], images, null));
        File.Copy(Pipelines.ImagePath("square.png"), Path.Combine(dataFolder, "c.png"));
        File.WriteAllLines(file, [Line(1, "../data/c.png", "Is it?", "yes")]);
        Assert.Equal(Path.Combine(dataFolder, "c.png"), Assert.Single(Assert.Single(Eval.PopeData.Load([file], images, null)).Items).ImagePath);
    }

    private static string Write(Setup setup, string text)
    {
        string file = Path.Combine(setup.Data, "split.jsonl");
        File.WriteAllText(file, text);
        return file;
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", path) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    private static string Line(int id, string image, string text, string label) =>
        $"{{\"question_id\": {id}, \"image\": {Json(image)}, \"text\": {Json(text)}, \"label\": {Json(label)}}}";

    /// <summary>A JSON string; <c>\uXXXX</c> and <c>\n</c> escapes already in <paramref name="text"/> are kept as escapes.</summary>
    private static string Json(string text) => "\"" + text.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Without(string line, string field) =>
        System.Text.RegularExpressions.Regex.Replace(line, $"\"{field}\": (\"[^\"]*\"|\\d+)(, )?", string.Empty).Replace(", }", "}", StringComparison.Ordinal);

    private static string Replace(string line, string field, string value) =>
        System.Text.RegularExpressions.Regex.Replace(line, $"\"{field}\": (\"[^\"]*\"|\\d+)", $"\"{field}\": {value}");
}
