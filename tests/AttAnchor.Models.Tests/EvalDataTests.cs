using System.Text.Json;
using AttAnchor.Vqa.Eval;

namespace AttAnchor.Models.Tests;

/// <summary>
/// Reading POPE-format JSONL: the fields, image paths beside the file or under --images, blank lines, --limit,
/// folders of splits, and an error naming the file and line for every kind of bad input.
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

    [Fact]
    public void A_missing_image_is_an_error_naming_the_line_and_the_resolved_path()
    {
        string file = Write("missing.jsonl", GoodLine, """{"question_id": 2, "image": "sub/none.png", "text": "Is it?", "label": "no"}""");

        var e = Assert.Throws<InvalidDataException>(() => PopeData.ReadSplit(file, null, null));

        Assert.Equal($"{file}:2: image not found: {Path.Combine(_folder, "sub", "none.png")}", e.Message);
    }

    [Theory]
    [InlineData]
    [InlineData("", "   ", "")]
    public void A_file_without_items_is_an_error(params string[] lines)
    {
        string file = Write("empty.jsonl", lines);

        var e = Assert.Throws<InvalidDataException>(() => PopeData.ReadSplit(file, null, null));

        Assert.Equal($"{file}: no items (the file is empty or holds only blank lines).", e.Message);
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

        Assert.Equal("coco_pope_random", split.Name);
        Assert.Equal(Path.Combine(images, "COCO_val2014_000000000042.jpg"), split.Items[0].ImagePath);
        Assert.Contains(Path.Combine(data, "COCO_val2014_000000000042.jpg"), e.Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryNotFoundException>(() => PopeData.Load([file], Path.Combine(_folder, "no-such-folder"), null));
    }

    [Fact]
    public void A_folder_gives_one_split_per_jsonl_file_sorted()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_folder, "splits")).FullName;
        File.Copy(Path.Combine(_folder, "a.png"), Path.Combine(folder, "a.png"));
        Write(Path.Combine("splits", "popular.jsonl"), GoodLine, GoodLine);
        Write(Path.Combine("splits", "adversarial.jsonl"), GoodLine);
        Write(Path.Combine("splits", "notes.txt"), "not a split");
        Write(Path.Combine("splits", "random.json"), "not a split either");
        string single = Write("single.jsonl", GoodLine, GoodLine, GoodLine);

        IReadOnlyList<PopeSplit> splits = PopeData.Load([folder, single], null, null);

        Assert.Equal(["adversarial", "popular", "single"], splits.Select(s => s.Name));
        Assert.Equal([1, 2, 3], splits.Select(s => s.Items.Count));
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
        Assert.Contains("holds no *.jsonl", empty.Message, StringComparison.Ordinal);
        Assert.Contains("both make a split named 'same'", clash.Message, StringComparison.Ordinal);
    }

    private string Write(string name, params string[] lines)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, string.Join('\n', lines) + (lines.Length > 0 ? "\n" : string.Empty));
        return path;
    }
}
