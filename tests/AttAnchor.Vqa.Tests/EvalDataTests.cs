using System.Text.Json;
using AttAnchor.Vqa.Eval;

namespace AttAnchor.Vqa.Tests;

/// <summary>
/// Reading POPE-format question files, JSON lines or one JSON array: the fields, image paths beside the file or under
/// --images, blank lines, --limit, folders of splits, an error naming the file and line for every kind of bad input,
/// and the committed excerpts of POPE's own files (<see cref="PopeExcerpts"/>) read as published.
/// </summary>
public sealed class EvalDataTests : IDisposable
{
    private const string GoodLine = """{"question_id": 1, "image": "a.png", "text": "Is there a circle?", "label": "yes"}""";

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-eval-data-").FullName;

    public EvalDataTests()
    {
        File.Copy(Pipelines.ImagePath("square.png"), Path.Combine(_folder, "a.png"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_line_gives_its_fields_kind_and_the_image_beside_the_file()
    {
        string file = Write("split.jsonl",
            GoodLine,
            "",
            """{"question_id": "q2", "image": "a.png", "text": "What colour?", "label": " Red. ", "category": "adversarial", "extra": [1, 2]}""",
            """{"question_id": 3, "image": "a.png", "text": "Is it round?", "label": "No", "category": 7}""");

        PopeSplit split = PopeData.ReadSplit(file, imagesFolder: null, limit: null);

        Assert.Equal("split", split.Name);
        Assert.Equal(3, split.TotalItems);
        Assert.Equal([1, 3, 4], split.Items.Select(i => i.Line));
        PopeItem first = split.Items[0], second = split.Items[1], third = split.Items[2];
        Assert.Equal(JsonValueKind.Number, first.QuestionId.ValueKind);
        Assert.Equal(1, first.QuestionId.GetInt32());
        Assert.Equal("q2", second.QuestionId.GetString());
        Assert.Equal(Path.Combine(_folder, "a.png"), first.ImagePath);
        Assert.Equal("Is there a circle?", first.Question);
        Assert.Equal((ItemKind.YesNo, "yes"), (first.Kind, first.Expected));
        Assert.Equal((ItemKind.Open, "red", " Red. "), (second.Kind, second.Expected, second.Label));
        Assert.Equal("adversarial", second.Category);
        Assert.Equal((ItemKind.YesNo, "no", null), (third.Kind, third.Expected, third.Category));
        Assert.Equal($"{file}:4", third.Where);
    }

    [Theory]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is it?", "label": "yes" """, "not JSON")]
    [InlineData("""not json at all""", "not JSON")]
    [InlineData("""[1, 2]""", "expected a JSON object, got an array")]
    [InlineData("""{"image": "a.png", "text": "Is it?", "label": "yes"}""", "missing field 'question_id'")]
    [InlineData("""{"question_id": 2, "text": "Is it?", "label": "yes"}""", "missing field 'image'")]
    [InlineData("""{"question_id": 2, "image": "a.png", "label": "yes"}""", "missing field 'text'")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is it?"}""", "missing field 'label'")]
    [InlineData("""{"question_id": true, "image": "a.png", "text": "Is it?", "label": "yes"}""", "'question_id' must be a number or a string, got a boolean")]
    [InlineData("""{"question_id": 2, "image": 5, "text": "Is it?", "label": "yes"}""", "'image' must be a string, got a number")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": null, "label": "yes"}""", "'text' must be a string, got null")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is it?", "label": ["yes"]}""", "'label' must be a string, got an array")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "  ", "label": "yes"}""", "'text' is empty")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is it?", "label": ""}""", "'label' is empty")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is <image> red?", "label": "yes"}""", "'text' contains <image>")]
    public void A_bad_line_is_an_error_naming_the_file_and_line(string line, string expected)
    {
        string file = Write("bad.jsonl", GoodLine, "", line, GoodLine);

        var e = Assert.Throws<InvalidDataException>(() => PopeData.ReadSplit(file, null, null));

        Assert.StartsWith($"{file}:3: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("\n", false)]
    [InlineData("\r\n", false)]
    [InlineData("\n", true)]
    [InlineData("\r\n", true)]
    public void An_array_file_gives_each_element_the_line_it_starts_on(string newline, bool byteOrderMark)
    {
        string[] lines =
        [
            "",
            "  [" + GoodLine + ",",
            "   " + GoodLine.Replace("1,", "2,", StringComparison.Ordinal) + ",",
            "",
            "   {",
            "     \"question_id\": \"q3\",",
            "     \"image\": \"a.png\", \"text\": \"What colour?\",",
            "     \"label\": \"Red\", \"category\": \"color\"",
            "   }, {\"question_id\": 4, \"image\": \"a.png\", \"text\": \"Is it round?\", \"label\": \"no\"}",
            "]",
            "",
        ];
        string file = Path.Combine(_folder, "array.jsonl");
        byte[] text = System.Text.Encoding.UTF8.GetBytes(string.Join(newline, lines));
        File.WriteAllBytes(file, byteOrderMark ? [0xEF, 0xBB, 0xBF, .. text] : text);

        PopeSplit split = PopeData.ReadSplit(file, null, limit: 3);

        Assert.Equal(("array", 4), (split.Name, split.TotalItems));
        Assert.Equal([2, 3, 5], split.Items.Select(i => i.Line));
        Assert.Equal([1, 2], split.Items.Take(2).Select(i => i.QuestionId.GetInt32()));
        Assert.Equal("q3", split.Items[2].QuestionId.GetString());
        Assert.Equal(("What colour?", "Red", ItemKind.Open, "red", "color"), (split.Items[2].Question, split.Items[2].Label, split.Items[2].Kind, split.Items[2].Expected, split.Items[2].Category));
        Assert.Equal(Path.Combine(_folder, "a.png"), split.Items[2].ImagePath);
        Assert.Equal($"{file}:5", split.Items[2].Where);
    }

    [Theory]
    [InlineData("""{"image": "a.png", "text": "Is it?", "label": "yes"}""", 4, "missing field 'question_id'")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is it?", "label": 1}""", 4, "'label' must be a string, got a number")]
    [InlineData("""{"question_id": 2, "image": "none.png", "text": "Is it?", "label": "no"}""", 4, "image not found: ")]
    [InlineData("{\"question_id\": 2,\n\"image\": \"a.png\",\n\"text\": \"Is <image> there?\",\n\"label\": \"no\"}", 4, "'text' contains <image>")]
    [InlineData("""[1, 2]""", 4, "expected a JSON object, got an array")]
    [InlineData("\"yes\"", 4, "expected a JSON object, got a string")]
    [InlineData("{\"question_id\": 2,\n\"image\": \"a.png\"\n\"text\": \"Is it?\", \"label\": \"no\"}", 6, "not JSON ('\"' is invalid after a value. Expected either ',', '}', or ']'); a file starting with '[' is read as one JSON array of question objects.")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is it?", "label": "no"},""", 4, "not JSON (")]
    [InlineData("""{"question_id": 2, "image": "a.png", "text": "Is it?", "label": "no"} {}""", 4, "not JSON (")]
    public void A_bad_array_element_is_an_error_naming_its_line(string element, int line, string expected)
    {
        // A bad item names the line its element starts on (4); broken JSON names the line where the reader stopped.
        string file = Write("bad.json", "[", GoodLine + ",", "", element + ",", GoodLine, "]");

        var e = Assert.Throws<InvalidDataException>(() => PopeData.ReadSplit(file, null, null));

        Assert.StartsWith($"{file}:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("[]", "no items (the file is an empty JSON array).")]
    [InlineData("\n  [\n\n]\n", "no items (the file is an empty JSON array).")]
    [InlineData("[\n" + GoodLine + "\n", "3: not JSON (Expected depth to be zero at the end of the JSON payload")]
    [InlineData("[\n" + GoodLine + "\n]\n[\n]", "4: not JSON ('[' is invalid after a single JSON value. Expected end of data)")]
    [InlineData("[\n" + GoodLine + "\n]\n" + GoodLine, "4: not JSON (")]
    public void An_empty_unclosed_or_doubled_array_is_an_error(string text, string expected)
    {
        string file = Path.Combine(_folder, "whole.json");
        File.WriteAllText(file, text);

        var e = Assert.Throws<InvalidDataException>(() => PopeData.ReadSplit(file, null, null));

        Assert.StartsWith($"{file}", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_missing_image_is_an_error_naming_the_line_and_the_resolved_path()
    {
        string file = Write("missing.jsonl", GoodLine, """{"question_id": 2, "image": "sub/none.png", "text": "Is it?", "label": "no"}""");

        var e = Assert.Throws<InvalidDataException>(() => PopeData.ReadSplit(file, null, null));

        Assert.Equal($"{file}:2: image not found: {Path.Combine(_folder, "sub", "none.png")}; images are looked up beside the question file unless --images names their folder.", e.Message);
    }

    [Theory]
    [InlineData]
    [InlineData("", "   ", "")]
    public void A_file_without_items_is_an_error(params string[] lines)
    {
        string file = Write("empty.jsonl", lines);

        var e = Assert.Throws<InvalidDataException>(() => PopeData.ReadSplit(file, null, null));

        Assert.StartsWith($"{file}: no items (the file is empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Images_resolve_under_the_images_folder_when_given()
    {
        string images = Directory.CreateDirectory(Path.Combine(_folder, "val2014")).FullName;
        File.Copy(Pipelines.ImagePath("wide.png"), Path.Combine(images, "COCO_val2014_000000000042.jpg"));
        string data = Directory.CreateDirectory(Path.Combine(_folder, "pope")).FullName;
        string file = Write(Path.Combine("pope", "coco_pope_random.json"),
            """{"question_id": 1, "image": "COCO_val2014_000000000042.jpg", "text": "Is there a dog in the image?", "label": "no"}""");

        PopeSplit split = Assert.Single(PopeData.Load([file], images, null));
        var e = Assert.Throws<InvalidDataException>(() => PopeData.Load([file], null, null));
        var elsewhere = Assert.Throws<InvalidDataException>(() => PopeData.Load([file], data, null));

        Assert.Equal("coco_pope_random", split.Name);
        Assert.Equal(Path.Combine(images, "COCO_val2014_000000000042.jpg"), split.Items[0].ImagePath);
        Assert.Contains(Path.Combine(data, "COCO_val2014_000000000042.jpg"), e.Message, StringComparison.Ordinal);
        Assert.Equal($"{file}:1: image not found: {Path.Combine(data, "COCO_val2014_000000000042.jpg")}; is --images the folder that holds the images?", elsewhere.Message);
        Assert.Throws<DirectoryNotFoundException>(() => PopeData.Load([file], Path.Combine(_folder, "no-such-folder"), null));
    }

    [Fact]
    public void A_folder_gives_one_split_per_json_or_jsonl_file_sorted()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_folder, "splits")).FullName;
        File.Copy(Path.Combine(_folder, "a.png"), Path.Combine(folder, "a.png"));
        Write(Path.Combine("splits", "popular.jsonl"), GoodLine, GoodLine);
        Write(Path.Combine("splits", "adversarial.jsonl"), GoodLine);
        Write(Path.Combine("splits", "random.json"), "[", GoodLine + ",", GoodLine + ",", GoodLine, "]");
        Write(Path.Combine("splits", "Upper.JSON"), GoodLine);
        Write(Path.Combine("splits", "notes.txt"), "not a split");
        Write(Path.Combine("splits", "random.json.bak"), "not a split either");
        string single = Write("single.jsonl", GoodLine, GoodLine, GoodLine, GoodLine);

        IReadOnlyList<PopeSplit> splits = PopeData.Load([folder, single], null, null);

        Assert.Equal(["Upper", "adversarial", "popular", "random", "single"], splits.Select(s => s.Name));
        Assert.Equal([1, 1, 2, 3, 4], splits.Select(s => s.Items.Count));
    }

    [Fact]
    public void Limit_keeps_the_first_items_of_every_split()
    {
        string a = Write("a.jsonl", GoodLine, GoodLine.Replace("1,", "2,", StringComparison.Ordinal), GoodLine.Replace("1,", "3,", StringComparison.Ordinal));
        string b = Write("b.jsonl", GoodLine);

        IReadOnlyList<PopeSplit> splits = PopeData.Load([a, b], null, limit: 2);

        Assert.Equal([1, 2], splits[0].Items.Select(i => i.QuestionId.GetInt32()));
        Assert.Equal(3, splits[0].TotalItems);
        Assert.Single(splits[1].Items);
    }

    [Fact]
    public void Missing_data_empty_folders_and_clashing_split_names_are_errors()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_folder, "none")).FullName;
        string first = Write("same.jsonl", GoodLine);
        Directory.CreateDirectory(Path.Combine(_folder, "other"));
        File.Copy(Path.Combine(_folder, "a.png"), Path.Combine(_folder, "other", "a.png"));
        string second = Write(Path.Combine("other", "same.jsonl"), GoodLine);

        var missing = Assert.Throws<FileNotFoundException>(() => PopeData.Load([Path.Combine(_folder, "nope.jsonl")], null, null));
        var empty = Assert.Throws<InvalidDataException>(() => PopeData.Load([folder], null, null));
        var clash = Assert.Throws<ArgumentException>(() => PopeData.Load([first, second], null, null));

        Assert.Contains("no such file or folder", missing.Message, StringComparison.Ordinal);
        Assert.Equal($"--data: the folder {folder} holds no *.json or *.jsonl file; give a folder of question files, or the files themselves.", empty.Message);
        Assert.Contains("both make a split named 'same'", clash.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("coco/coco_pope_random.json", "ynynynynynyn", "Is there a snowboard in the image?", "COCO_val2014_000000310196.jpg", "Is there a cell phone in the image?", "COCO_val2014_000000210789.jpg")]
    [InlineData("coco/coco_pope_popular.json", "ynynynynynyn", "Is there a snowboard in the image?", "COCO_val2014_000000310196.jpg", "Is there a chair in the image?", "COCO_val2014_000000210789.jpg")]
    [InlineData("coco/coco_pope_adversarial.json", "ynynynynynyn", "Is there a snowboard in the image?", "COCO_val2014_000000310196.jpg", "Is there a handbag in the image?", "COCO_val2014_000000210789.jpg")]
    [InlineData("seem/gqa/gqa_pope_seem_random.json", "yyynnnyyynnn", "Is there a bird in the image?", "2405722.jpg", "Is there a cow in the image?", "2331963.jpg")]
    [InlineData("seem/gqa/gqa_pope_seem_popular.json", "yyynnnyyynnn", "Is there a bird in the image?", "2405722.jpg", "Is there a floor in the image?", "2331963.jpg")]
    [InlineData("seem/gqa/gqa_pope_seem_adversarial.json", "ynynynynynyn", "Is there a bird in the image?", "2405722.jpg", "Is there a building in the image?", "2331963.jpg")]
    [InlineData("seem/aokvqa/aokvqa_pope_seem_random.json", "yyynnnyyynnn", "Is there a building in the image?", "COCO_val2014_000000461751.jpg", "Is there a spoon in the image?", "COCO_val2014_000000377368.jpg")]
    [InlineData("seem/aokvqa/aokvqa_pope_seem_popular.json", "yyynnnyyynnn", "Is there a building in the image?", "COCO_val2014_000000461751.jpg", "Is there a sky in the image?", "COCO_val2014_000000377368.jpg")]
    [InlineData("seem/aokvqa/aokvqa_pope_seem_adversarial.json", "ynynynynynyn", "Is there a building in the image?", "COCO_val2014_000000461751.jpg", "Is there a table in the image?", "COCO_val2014_000000377368.jpg")]
    public void Every_pope_excerpt_reads_as_its_file_has_it(string relative, string labels, string firstText, string firstImage, string lastText, string lastImage)
    {
        string file = PopeExcerpts.PathOf(relative);
        bool array = relative.StartsWith("seem/", StringComparison.Ordinal);   // POPE's layouts: JSON lines under coco/, arrays under seem/

        PopeSplit split = PopeData.ReadSplit(file, PopeExcerpts.Images, null);

        Assert.Equal(Path.GetFileNameWithoutExtension(file), split.Name);
        Assert.Equal((PopeExcerpts.ItemsPerFile, PopeExcerpts.ItemsPerFile), (split.Items.Count, split.TotalItems));
        Assert.Equal(Enumerable.Range(1, PopeExcerpts.ItemsPerFile), split.Items.Select(i => i.QuestionId.GetInt32()));
        Assert.Equal(labels.Select(c => c == 'y' ? "yes" : "no"), split.Items.Select(i => i.Label));
        Assert.All(split.Items, i => Assert.Equal((ItemKind.YesNo, i.Label, null), (i.Kind, i.Expected, i.Category)));
        Assert.Equal((firstText, firstImage), (split.Items[0].Question, split.Items[0].Image));
        Assert.Equal((lastText, lastImage), (split.Items[^1].Question, split.Items[^1].Image));
        Assert.All(split.Items, i => Assert.Equal(Path.Combine(PopeExcerpts.Images, i.Image), i.ImagePath));

        // Each element starts a line: a line each in JSON lines; "[" then 6 lines each in POPE's arrays.
        Assert.Equal(Enumerable.Range(0, PopeExcerpts.ItemsPerFile).Select(i => array ? 2 + (6 * i) : 1 + i), split.Items.Select(i => i.Line));

        // Every field as the file has it, read here without PopeData.
        using JsonDocument whole = array ? JsonDocument.Parse(File.ReadAllBytes(file)) : JsonDocument.Parse("[" + string.Join(',', File.ReadAllLines(file)) + "]");
        JsonElement[] expected = [.. whole.RootElement.EnumerateArray()];
        Assert.Equal(PopeExcerpts.ItemsPerFile, expected.Length);
        Assert.Equal(
            expected.Select(e => (e.GetProperty("question_id").GetInt32(), e.GetProperty("image").GetString(), e.GetProperty("text").GetString(), e.GetProperty("label").GetString())),
            split.Items.Select(i => (i.QuestionId.GetInt32(), (string?)i.Image, (string?)i.Question, (string?)i.Label)));
    }

    [Fact]
    public void The_pope_excerpt_folders_and_one_folder_of_both_layouts_give_every_split_by_name()
    {
        string both = Directory.CreateDirectory(Path.Combine(_folder, "both")).FullName;
        foreach (string folder in PopeExcerpts.DataFolders)
        {
            foreach (string file in Directory.EnumerateFiles(folder))
            {
                File.Copy(file, Path.Combine(both, Path.GetFileName(file)));
            }
        }

        IReadOnlyList<PopeSplit> byFolder = PopeData.Load(PopeExcerpts.DataFolders, PopeExcerpts.Images, limit: 5);
        IReadOnlyList<PopeSplit> together = PopeData.Load([both], PopeExcerpts.Images, null);

        Assert.Equal(PopeExcerpts.SplitNames, byFolder.Select(s => s.Name));
        Assert.All(byFolder, s => Assert.Equal((5, PopeExcerpts.ItemsPerFile), (s.Items.Count, s.TotalItems)));
        Assert.Equal(PopeExcerpts.SplitNames.Order(StringComparer.Ordinal), together.Select(s => s.Name));
        Assert.All(together, s => Assert.Equal(PopeExcerpts.ItemsPerFile, s.Items.Count));
        Assert.Equal(PopeExcerpts.SplitNames.Count * PopeExcerpts.ItemsPerFile, together.SelectMany(s => s.Items).Count());
    }

    [Fact]
    public void The_layout_comes_from_the_content_not_the_file_name()
    {
        string lines = Path.Combine(_folder, "lines.json");
        string array = Path.Combine(_folder, "array.jsonl");
        string other = Path.Combine(_folder, "any-name.txt");
        File.Copy(PopeExcerpts.PathOf("coco/coco_pope_popular.json"), lines);   // JSON lines, CR LF
        File.Copy(PopeExcerpts.PathOf("seem/gqa/gqa_pope_seem_popular.json"), array);
        File.Copy(PopeExcerpts.PathOf("seem/aokvqa/aokvqa_pope_seem_popular.json"), other);

        IReadOnlyList<PopeSplit> splits = PopeData.Load([lines, array, other], PopeExcerpts.Images, null);

        Assert.Equal(["lines", "array", "any-name"], splits.Select(s => s.Name));
        Assert.All(splits, s => Assert.Equal(PopeExcerpts.ItemsPerFile, s.Items.Count));
        Assert.Equal(Enumerable.Range(1, PopeExcerpts.ItemsPerFile), splits[0].Items.Select(i => i.Line));
        Assert.Equal(Enumerable.Range(0, PopeExcerpts.ItemsPerFile).Select(i => 2 + (6 * i)), splits[1].Items.Select(i => i.Line));
        Assert.Equal("Is there a bird in the image?", splits[1].Items[0].Question);
        Assert.Equal("Is there a building in the image?", splits[2].Items[0].Question);
        Assert.Equal(
            $"--data: {lines} and {Path.Combine(_folder, "lines.jsonl")} both make a split named 'lines'; rename one.",
            Assert.Throws<ArgumentException>(() => PopeData.Load([lines, Copy(lines, "lines.jsonl")], PopeExcerpts.Images, null)).Message);
    }

    [Theory]
    [InlineData("seem/gqa/gqa_pope_seem_random.json", 27, "\"question_id\": 5,", "\"question_id\": null,", 26, "'question_id' must be a number or a string, got null.")]
    [InlineData("seem/gqa/gqa_pope_seem_random.json", 54, "\"label\":", "\"answer\":", 50, "missing field 'label'.")]
    [InlineData("seem/aokvqa/aokvqa_pope_seem_adversarial.json", 70, "COCO_val2014_000000377368.jpg", "COCO_val2014_000000000001.jpg", 68, "image not found: ")]
    [InlineData("seem/aokvqa/aokvqa_pope_seem_adversarial.json", 8, "{", "\"oops\", {", 8, "expected a JSON object, got a string.")]
    [InlineData("seem/gqa/gqa_pope_seem_popular.json", 16, ".jpg\",", ".jpg\"", 17, "not JSON ('\"' is invalid after a value. Expected either ',', '}', or ']'); a file starting with '[' is read as one JSON array of question objects.")]
    [InlineData("seem/gqa/gqa_pope_seem_popular.json", 43, "},", "}", 44, "not JSON (")]
    [InlineData("coco/coco_pope_popular.json", 7, "\"label\":", "\"labels\":", 7, "missing field 'label'.")]
    [InlineData("coco/coco_pope_adversarial.json", 12, "}", "", 12, "not JSON (")]
    public void A_bad_copy_of_a_pope_excerpt_names_the_line_of_its_bad_item(string relative, int line, string find, string replace, int expectedLine, string expected)
    {
        // The copy keeps the original's line endings (CR LF in coco_pope_popular and coco_pope_adversarial).
        string[] lines = File.ReadAllText(PopeExcerpts.PathOf(relative)).Split('\n');
        Assert.Contains(find, lines[line - 1], StringComparison.Ordinal);
        lines[line - 1] = lines[line - 1].Replace(find, replace, StringComparison.Ordinal);
        string file = Path.Combine(_folder, Path.GetFileName(relative));
        File.WriteAllText(file, string.Join('\n', lines));

        var e = Assert.Throws<InvalidDataException>(() => PopeData.Load([file], PopeExcerpts.Images, null));

        Assert.StartsWith($"{file}:{expectedLine}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    private string Copy(string file, string name)
    {
        string path = Path.Combine(_folder, name);
        File.Copy(file, path);
        return path;
    }

    private string Write(string name, params string[] lines)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, string.Join('\n', lines) + (lines.Length > 0 ? "\n" : string.Empty));
        return path;
    }
}
