using AttAnchor.OnnxRuntime;
using AttAnchor.TestSupport;
using SkiaSharp;
using Xunit.Abstractions;

namespace AttAnchor.Visualization.Tests;

/// <summary>
/// <see cref="AnchorMap"/> on the shapes model and the fixtures: the map's size, the crop drawn pixel for pixel
/// (nearest neighbour) outside the anchored cells, the frame, tint and label ink of the anchored ones, the legend,
/// argument errors, and the committed docs image of the README example, regenerated and compared pixel for pixel.
/// </summary>
public sealed class AnchorMapTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>The console command that writes the committed docs image.</summary>
    public const string DocsCommand =
        "dotnet run --project tools/AttAnchor.Vqa -c Release -- --image models/shapes/example.png --question \"What color is the circle?\" --anchor-map docs/anchor-map.png";

    private const string Shapes = "shapes";

    private readonly string _folder = Directory.CreateTempSubdirectory("attanchor-map-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The README example's map as the console draws it: <c>docs/anchor-map.png</c>.</summary>
    public static string DocsImage => Path.Combine(Fixtures.RepositoryRoot, "docs", "anchor-map.png");

    /// <summary>A model by short name: <c>shapes</c> (the console's default) or a fixture folder name.</summary>
    internal static VisionLanguageModel Model(string name) =>
        name == Shapes ? ShapesModel.Get(ShapesModel.AttAnchorTrained) : Pipelines.Get(name);

    /// <summary>The image the model's tests use: the README example for the shapes model, else a fixture image.</summary>
    internal static ModelImage Image(VisionLanguageModel model, string name) =>
        model.LoadImage(name == Shapes ? ShapesModel.ExampleImage : Pipelines.ImagePath("square.png"));

    /// <summary>An anchor built by hand on a model's grid.</summary>
    internal static AnchorInfo Anchor(VisionLanguageModel model, string token, int patch, float similarity, AnchorDirection direction = AnchorDirection.TextIntoImage, int textIndex = 0)
    {
        int side = model.Config.PatchGridSide;
        return new AnchorInfo(direction, textIndex, textIndex + 1, 100 + textIndex, token, patch, patch / side, patch % side, similarity);
    }

    /// <summary>The crop the model saw, as the library makes it.</summary>
    internal static byte[] Crop(VisionLanguageModel model, ModelImage image) =>
        ImagePreprocessor.GetCrop(image, model.Config);

    /// <summary>The crop's pixel under map pixel (x, y) of the image.</summary>
    internal static SKColor CropPixel(byte[] crop, int size, AnchorMap.Geometry g, int x, int y)
    {
        int at = 3 * ((((y - g.ImageTop) / g.Factor) * size) + ((x - g.ImageLeft) / g.Factor));
        return new SKColor(crop[at], crop[at + 1], crop[at + 2]);
    }

    /// <summary>
    /// Every pixel of every cell that no anchor names equals the crop's pixel under it, except the 1-pixel grid
    /// lines on the cells' left and top edges (inner cells), which are the grid colour; every anchored cell has
    /// the frame on all four sides.
    /// </summary>
    internal static void AssertCells(SKBitmap map, byte[] crop, ModelConfig config, IEnumerable<int> anchoredPatches)
    {
        AnchorMap.Geometry g = AnchorMap.Measure(config);
        var anchored = anchoredPatches.ToHashSet();
        int side = g.GridSide;
        SKColor[] pixels = map.Pixels;
        SKColor At(int x, int y) => pixels[(y * map.Width) + x];
        for (int patch = 0; patch < side * side; patch++)
        {
            int x0 = g.CellLeft(patch % side), y0 = g.CellTop(patch / side);
            if (anchored.Contains(patch))
            {
                int mid = g.Cell / 2;
                foreach ((int x, int y) in new[] { (x0, y0 + mid), (x0 + g.Cell - 1, y0 + mid), (x0 + mid, y0), (x0 + mid, y0 + g.Cell - 1) })
                {
                    Assert.True(AnchorMap.FrameEdge == At(x, y), $"patch {patch}: frame edge at ({x}, {y}) is {At(x, y)}");
                }

                Assert.Equal(AnchorMap.Highlight, At(x0 + 1, y0 + mid));
                Assert.Equal(AnchorMap.Highlight, At(x0 + 2, y0 + mid));
                Assert.Equal(AnchorMap.FrameEdge, At(x0 + 3, y0 + mid));
                Assert.Equal(AnchorMap.Highlight, At(x0 + g.Cell - 2, y0 + mid));
                Assert.Equal(AnchorMap.Highlight, At(x0 + mid, y0 + g.Cell - 3));
                continue;
            }

            for (int y = y0; y < y0 + g.Cell; y++)
            {
                for (int x = x0; x < x0 + g.Cell; x++)
                {
                    bool gridLine = (x == x0 && patch % side > 0) || (y == y0 && patch / side > 0);
                    SKColor expected = gridLine ? AnchorMap.GridLine : CropPixel(crop, config.ImageSize, g, x, y);
                    SKColor actual = At(x, y);
                    if (actual != expected)
                    {
                        Assert.Fail($"patch {patch} (not anchored): pixel ({x}, {y}) is {actual}, expected {expected}{(gridLine ? " (grid line)" : " (the crop, nearest neighbour)")}");
                    }
                }
            }
        }
    }

    /// <summary>Ink pixels of a line of the pixel font at a scale.</summary>
    internal static int Ink(string text, int scale)
    {
        int ink = 0;
        foreach (char c in text)
        {
            for (int row = 0; row < PixelFont.LineHeight; row++)
            {
                for (int column = 0; column < PixelFont.GlyphWidth; column++)
                {
                    ink += PixelFont.IsInk(c, row, column) ? scale * scale : 0;
                }
            }
        }

        return ink;
    }

    [Theory]
    [InlineData(Shapes, 3, 96, 2)]
    [InlineData("tiny-336-gqa", 4, 56, 1)]
    [InlineData("tiny-noproj-mha", 6, 96, 2)]
    public void The_map_is_the_crop_scaled_by_a_whole_factor_with_axes_and_the_legend_below(string name, int factor, int cell, int labelScale)
    {
        VisionLanguageModel model = Model(name);
        ModelImage image = Image(model, name);
        AttAnchorOptions anchoring = model.Config.Anchoring;
        AnchorInfo[] anchors = [Anchor(model, "▁circle", 4, 0.1747f), Anchor(model, "What", 10, 0.2f, textIndex: 1)];

        using SKBitmap map = PngImages.Decode(AnchorMap.RenderPng(model, image, anchors, anchoring));

        AnchorMap.Geometry g = AnchorMap.Measure(model.Config);
        output.WriteLine($"{name}: {map.Width} × {map.Height}, {g}");
        Assert.Equal((factor, cell, labelScale), (g.Factor, g.Cell, g.LabelScale));
        Assert.Equal(model.Config.ImageSize * factor, g.ImageSide);
        Assert.True(g.ImageSide <= AnchorMap.MaximumImageSide);
        IReadOnlyList<AnchorMap.LegendLine> legend = AnchorMap.LegendLines(model.Config, anchors, anchoring, factor);
        int legendHeight = (legend.Count + legend.Count(l => l.Gap)) * PixelFont.LineHeight * AnchorMap.LegendScale;
        Assert.True(legend.Max(l => l.Width) < g.ImageSide, "the legend is narrower than the image, so the image sets the width");
        Assert.Equal(g.ImageLeft + g.ImageSide + 1 + AnchorMap.Margin, map.Width);
        Assert.Equal(g.ImageTop + g.ImageSide + 1 + AnchorMap.LegendGap + legendHeight + AnchorMap.Margin, map.Height);

        // The border around the image, and the page outside it.
        Assert.Equal(AnchorMap.Border, map.GetPixel(g.ImageLeft - 1, g.ImageTop + 5));
        Assert.Equal(AnchorMap.Border, map.GetPixel(g.ImageLeft + g.ImageSide, g.ImageTop + 5));
        Assert.Equal(AnchorMap.Background, map.GetPixel(0, 0));
        Assert.Equal(AnchorMap.Background, map.GetPixel(map.Width - 1, map.Height - 1));
    }

    [Theory]
    [InlineData(Shapes)]
    [InlineData("tiny-336-gqa")]
    [InlineData("tiny-noproj-mha")]
    public void Cells_without_anchors_are_the_crop_pixel_for_pixel_and_anchored_cells_are_framed(string name)
    {
        VisionLanguageModel model = Model(name);
        ModelImage image = Image(model, name);
        int last = model.Config.NumImageTokens - 1;
        AnchorInfo[] anchors = [Anchor(model, "▁the", 4, 0.1983f), Anchor(model, "▁circle", 4, 0.1747f, textIndex: 1), Anchor(model, "What", last, 0.174f, textIndex: 2)];

        using SKBitmap map = PngImages.Decode(AnchorMap.RenderPng(model, image, anchors, model.Config.Anchoring));

        AssertCells(map, Crop(model, image), model.Config, [4, last]);
    }

    [Fact]
    public void An_anchored_cell_is_tinted_and_labelled_with_each_word_and_its_similarity()
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        AnchorInfo[] anchors = [Anchor(model, "▁the", 4, 0.1983f), Anchor(model, "▁circle", 4, 0.1747f, textIndex: 1), Anchor(model, "▁color", 6, 0.1825f, textIndex: 2)];
        byte[] crop = Crop(model, image);

        using SKBitmap map = PngImages.Decode(AnchorMap.RenderPng(model, image, anchors, model.Config.Anchoring));

        AnchorMap.Geometry g = AnchorMap.Measure(model.Config);
        IReadOnlyList<string> lines = AnchorMap.CellLines([anchors[0], anchors[1]], g.Cell, g.LabelScale);
        Assert.Equal(["the", ".198", "circle", ".175"], lines);

        // The tint: below the label, inside the frame, the crop blended with the highlight at 77/255.
        int x0 = g.CellLeft(4), y0 = g.CellTop(0);
        int x = x0 + g.Cell - AnchorMap.FrameWidth - 1, y = y0 + g.Cell - AnchorMap.FrameWidth - 1;
        SKColor under = CropPixel(crop, model.Config.ImageSize, g, x, y);
        static byte Blend(byte old, byte color) => (byte)(((old * (255 - AnchorMap.TintAlpha)) + (color * AnchorMap.TintAlpha) + 127) / 255);
        Assert.Equal(new SKColor(Blend(under.Red, AnchorMap.Highlight.Red), Blend(under.Green, AnchorMap.Highlight.Green), Blend(under.Blue, AnchorMap.Highlight.Blue)), map.GetPixel(x, y));
        Assert.NotEqual(under, map.GetPixel(x, y));

        // The label: the only pure white in a tinted cell is the text's ink, every pixel of it.
        int white = 0;
        for (int yy = y0; yy < y0 + g.Cell; yy++)
        {
            for (int xx = x0; xx < x0 + g.Cell; xx++)
            {
                white += map.GetPixel(xx, yy) == AnchorMap.LabelInk ? 1 : 0;
            }
        }

        Assert.Equal(lines.Sum(l => Ink(l, g.LabelScale)), white);
        Assert.True(white > 100, $"{white} ink pixels");
    }

    [Fact]
    public void Words_the_font_lacks_are_drawn_as_boxes_and_do_not_fail()
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        AnchorInfo[] anchors = [Anchor(model, "▁日本", 20, 0.3f), Anchor(model, "▁€", 21, 0.25f, textIndex: 1), Anchor(model, "👍", 22, 0.2f, textIndex: 2)];

        using SKBitmap map = PngImages.Decode(AnchorMap.RenderPng(model, image, anchors, model.Config.Anchoring));

        AnchorMap.Geometry g = AnchorMap.Measure(model.Config);
        int x0 = g.CellLeft(20 % 7), y0 = g.CellTop(20 / 7);
        int white = 0;
        for (int y = y0; y < y0 + g.Cell; y++)
        {
            for (int x = x0; x < x0 + g.Cell; x++)
            {
                white += map.GetPixel(x, y) == AnchorMap.LabelInk ? 1 : 0;
            }
        }

        Assert.False(PixelFont.Has('日'));
        Assert.Equal(Ink("日本", g.LabelScale) + Ink(".300", g.LabelScale), white);
        AssertCells(map, Crop(model, image), model.Config, [20, 21, 22]);
    }

    [Theory]
    [InlineData("▁circle", "circle")]
    [InlineData("What", "What")]
    [InlineData("▁", "_")]
    [InlineData("▁▁", "_")]
    [InlineData("?\n", "?\\n")]
    [InlineData("▁\t", "\\t")]
    [InlineData("▁a▁b", "a b")]
    [InlineData("<0x0A>", "<0x0A>")]
    public void Words_drop_the_word_start_mark_and_escape_control_characters(string token, string expected) =>
        Assert.Equal(expected, AnchorMap.Word(token));

    [Theory]
    [InlineData(0.1747f, ".175")]
    [InlineData(0.1983f, ".198")]
    [InlineData(-0.12f, "-.120")]
    [InlineData(1f, "1.000")]
    [InlineData(0f, ".000")]
    [InlineData(float.NaN, "NaN")]
    public void Similarities_in_cells_have_three_decimals_without_the_leading_zero(float similarity, string expected) =>
        Assert.Equal(expected, AnchorMap.ShortSimilarity(similarity));

    [Theory]
    [InlineData(96, 2, 1, "a .100")]
    [InlineData(96, 2, 2, "a .100 b .200")]
    [InlineData(96, 2, 3, "a .100 +2")]
    [InlineData(96, 2, 5, "a .100 +4")]
    [InlineData(56, 1, 2, "a .100 b .200")]
    [InlineData(56, 1, 3, "a .100 +2")]
    [InlineData(48, 1, 2, "a .100 +1")]
    [InlineData(24, 1, 1, "")]
    public void Anchors_on_one_patch_stack_and_those_that_do_not_fit_are_counted(int cell, int scale, int count, string expected)
    {
        AnchorInfo[] onPatch = [.. Enumerable.Range(0, count).Select(i => new AnchorInfo(AnchorDirection.TextIntoImage, i, i, i, "▁" + (char)('a' + i), 0, 0, 0, 0.1f * (i + 1)))];

        IReadOnlyList<string> lines = AnchorMap.CellLines(onPatch, cell, scale);

        Assert.Equal(expected, string.Join(' ', lines));
        int room = cell - (2 * AnchorMap.LabelInset) - (2 * AnchorMap.PlatePadding);
        Assert.True((lines.Count * PixelFont.LineHeight * scale) - scale <= room, "the lines fit the cell");
    }

    [Theory]
    [InlineData(96, 2, "▁elephant", "elepha-")]
    [InlineData(56, 1, "▁elephant", "elepha-")]
    [InlineData(56, 1, "▁circle", "circle")]
    public void A_word_too_long_for_its_cell_is_cut(int cell, int scale, string token, string expected)
    {
        IReadOnlyList<string> lines = AnchorMap.CellLines([new AnchorInfo(AnchorDirection.TextIntoImage, 0, 0, 0, token, 0, 0, 0, 0.2f)], cell, scale);

        Assert.Equal(expected, lines[0]);
        Assert.True(PixelFont.MeasureWidth(lines[0], scale) <= cell - (2 * AnchorMap.LabelInset) - (2 * AnchorMap.PlatePadding));
    }

    [Theory]
    [InlineData(false, 0.164f, "AttAnchor: no anchors (τ = 0.164)")]
    [InlineData(true, 0.164f, "AttAnchor: off, no anchors")]
    [InlineData(false, 1f, "AttAnchor: off, no anchors")]
    public void Without_anchors_the_map_is_the_grid_over_the_crop_and_the_legend_says_so(bool off, float threshold, string title)
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        AttAnchorOptions anchoring = model.Config.Anchoring with { Threshold = threshold, Enabled = !off };

        using SKBitmap map = PngImages.Decode(AnchorMap.RenderPng(model, image, [], anchoring));

        IReadOnlyList<AnchorMap.LegendLine> legend = AnchorMap.LegendLines(model.Config, [], anchoring, 3);
        Assert.Equal(title, legend[0].Text);
        Assert.DoesNotContain(legend, l => l.Swatch);
        Assert.DoesNotContain(AnchorMap.Highlight, map.Pixels);
        AssertCells(map, Crop(model, image), model.Config, []);

        // Below the image, the legend's ink is every pixel of its lines in their colours.
        AnchorMap.Geometry g = AnchorMap.Measure(model.Config);
        SKColor[] below = [.. map.Pixels.Skip(map.Width * g.LegendTop)];
        Assert.Equal(legend.Where(l => l.Color == AnchorMap.Ink).Sum(l => Ink(l.Text, AnchorMap.LegendScale)), below.Count(p => p == AnchorMap.Ink));
        Assert.Equal(legend.Where(l => l.Color == AnchorMap.Muted).Sum(l => Ink(l.Text, AnchorMap.LegendScale)), below.Count(p => p == AnchorMap.Muted));
    }

    [Fact]
    public void The_legend_lists_every_anchor_with_direction_threshold_and_count()
    {
        VisionLanguageModel model = Model(Shapes);
        AnchorInfo[] anchors = [Anchor(model, "▁the", 4, 0.1983f), Anchor(model, "▁circle", 4, 0.1747f, textIndex: 1), Anchor(model, "What", 47, 0.174f, textIndex: 2)];

        string[] text = [.. AnchorMap.LegendLines(model.Config, anchors, model.Config.Anchoring, 3).Select(l => l.Text)];

        output.WriteLine(string.Join('\n', text));
        Assert.Equal(
        [
            "AttAnchor: 3 anchors",
            "text-into-image, τ = 0.164",
            "each word is copied after its patch",
            "an anchored patch, with word and similarity",
            "word    similarity  patch  row, col",
            "the         0.1983      4      0, 4",
            "circle      0.1747      4      0, 4",
            "What        0.1740     47      6, 5",
            "224×224 crop as the model saw it, ×3;",
            "7×7 patches of 32 px",
        ], text);

        AttAnchorOptions mirror = model.Config.Anchoring with { Direction = AnchorDirection.ImageIntoText, Threshold = 0.35f };
        string[] mirrored = [.. AnchorMap.LegendLines(model.Config, [Anchor(model, "▁is", 9, 0.4f, AnchorDirection.ImageIntoText)], mirror, 3).Select(l => l.Text)];
        Assert.Equal(["AttAnchor: 1 anchor", "image-into-text, τ = 0.35", "each patch is copied after its word"], mirrored[..3]);
    }

    public static TheoryData<string, string> BadAnchors => new()
    {
        { "patch -1", "outside this model's 7 × 7 patch grid (patches 0 … 48)" },
        { "patch 49", "outside this model's 7 × 7 patch grid (patches 0 … 48)" },
        { "wrong row", "which is row 1, column 3 of this model's 7 × 7 grid, but it says row 0, column 3" },
        { "wrong direction", "was planned ImageIntoText, but the settings say TextIntoImage" },
        { "anchoring off", "the AttAnchor settings insert nothing" },
        { "null anchor", "anchors[1] is null" },
    };

    [Theory]
    [MemberData(nameof(BadAnchors))]
    public void Anchors_that_do_not_fit_the_model_are_refused_with_a_message_naming_them(string what, string message)
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        AttAnchorOptions anchoring = model.Config.Anchoring;
        AnchorInfo good = Anchor(model, "▁circle", 4, 0.2f);
        AnchorInfo?[] anchors = what switch
        {
            "patch -1" => [good, good with { PatchIndex = -1 }],
            "patch 49" => [good, good with { PatchIndex = 49, PatchRow = 7, PatchColumn = 0 }],
            "wrong row" => [good, good with { PatchIndex = 10, PatchRow = 0, PatchColumn = 3 }],
            "wrong direction" => [good, good with { Direction = AnchorDirection.ImageIntoText }],
            "anchoring off" => [good],
            "null anchor" => [good, null],
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
        if (what == "anchoring off")
        {
            anchoring = AttAnchorOptions.Off;
        }

        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => AnchorMap.RenderPng(model, image, anchors!, anchoring));

        output.WriteLine(e.Message);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        if (what is not ("anchoring off" or "null anchor"))
        {
            Assert.Contains("anchors[1] (▁circle)", e.Message, StringComparison.Ordinal);
        }

        string path = Path.Combine(_folder, "refused.png");
        Assert.ThrowsAny<ArgumentException>(() => AnchorMap.Save(model, image, anchors!, anchoring, path));
        Assert.False(File.Exists(path), "nothing is written for invalid anchors");
    }

    [Fact]
    public void Null_arguments_are_refused()
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        AttAnchorOptions anchoring = model.Config.Anchoring;
        string path = Path.Combine(_folder, "map.png");

        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => AnchorMap.RenderPng(null!, image, [], anchoring)).ParamName);
        Assert.Equal("image", Assert.Throws<ArgumentNullException>(() => AnchorMap.RenderPng(model, null!, [], anchoring)).ParamName);
        Assert.Equal("anchors", Assert.Throws<ArgumentNullException>(() => AnchorMap.RenderPng(model, image, null!, anchoring)).ParamName);
        Assert.Equal("anchoring", Assert.Throws<ArgumentNullException>(() => AnchorMap.RenderPng(model, image, [], null!)).ParamName);
        Assert.Equal("result", Assert.Throws<ArgumentNullException>(() => AnchorMap.RenderPng(model, image, (VqaResult)null!)).ParamName);
        Assert.Equal("result", Assert.Throws<ArgumentNullException>(() => AnchorMap.Save(model, image, (VqaResult)null!, path)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => AnchorMap.Save(model, image, [], anchoring, null!)).ParamName);
    }

    [Theory]
    [InlineData("", typeof(ArgumentException), "path is empty")]
    [InlineData("  ", typeof(ArgumentException), "path is empty")]
    [InlineData("{folder}", typeof(ArgumentException), "is a folder")]
    [InlineData("{folder}/no/such/folder/map.png", typeof(DirectoryNotFoundException), "folder {folder}/no/such/folder does not exist")]
    [InlineData("/dev/full", typeof(IOException), "Cannot write the anchor map /dev/full")]
    [InlineData("/sys/anchor-map.png", typeof(IOException), "Cannot write the anchor map /sys/anchor-map.png: ")]
    public void Paths_that_cannot_be_written_are_refused_with_a_message_naming_them(string path, Type exception, string message)
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        path = path.Replace("{folder}", _folder, StringComparison.Ordinal);

        Exception e = Assert.ThrowsAny<Exception>(() => AnchorMap.Save(model, image, [], model.Config.Anchoring, path));

        output.WriteLine($"{e.GetType().Name}: {e.Message}");
        Assert.IsType(exception, e);
        Assert.Contains(message.Replace("{folder}", _folder, StringComparison.Ordinal), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_writes_the_PNG_that_RenderPng_returns_and_replaces_an_old_file()
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        AnchorInfo[] anchors = [Anchor(model, "▁circle", 4, 0.1747f)];
        string path = Path.Combine(_folder, "map.png");
        File.WriteAllText(path, "an old file, longer than nothing");

        AnchorMap.Save(model, image, anchors, model.Config.Anchoring, path);

        Assert.Equal(AnchorMap.RenderPng(model, image, anchors, model.Config.Anchoring), File.ReadAllBytes(path));
        Assert.Equal(0x89, File.ReadAllBytes(path)[0]);
    }

    public static TheoryData<string, float> FixtureRuns => new()
    {
        { "text-into-image", 0.12f },
        { "image-into-text", 0.35f },
    };

    /// <summary>The 336-pixel fixture, answered both ways: every anchored patch framed, every other cell the crop.</summary>
    [Theory]
    [MemberData(nameof(FixtureRuns))]
    public async Task A_real_answer_of_the_336_pixel_fixture_is_mapped_in_either_direction(string direction, float threshold)
    {
        const string Fixture = "tiny-336-gqa";
        VisionLanguageModel model = Model(Fixture);
        ModelImage image = Image(model, Fixture);
        var anchoring = new AttAnchorOptions
        {
            Threshold = threshold,
            Direction = direction == "image-into-text" ? AnchorDirection.ImageIntoText : AnchorDirection.TextIntoImage,
        };
        VqaResult result = await model.AnswerAsync(image, "What color is the circle?", new GenerationOptions { MaxNewTokens = 3, Anchoring = anchoring });
        Assert.NotEmpty(result.Anchors);

        using SKBitmap map = PngImages.Decode(AnchorMap.RenderPng(model, image, result));

        AnchorMap.Geometry g = AnchorMap.Measure(model.Config);
        output.WriteLine($"{direction}: {result.Anchors.Count} anchors on {result.Anchors.Select(a => a.PatchIndex).Distinct().Count()} patches; {map.Width} × {map.Height}");
        Assert.Equal((4, 336 * 4), (g.Factor, g.ImageSide));
        Assert.Equal(g.ImageLeft + g.ImageSide + 1 + AnchorMap.Margin, map.Width);
        AssertCells(map, Crop(model, image), model.Config, result.Anchors.Select(a => a.PatchIndex));
        Assert.Equal(direction + ", τ = " + threshold.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnchorMap.LegendLines(model.Config, result.Anchors, result.Anchoring, g.Factor)[1].Text);
    }

    /// <summary>
    /// docs/anchor-map.png is the README example's map as the console writes it: the same answer made again here,
    /// drawn again, must give the same pixels, so the image cannot go stale when the drawing or the model changes.
    /// </summary>
    [Fact]
    public async Task The_committed_docs_image_is_the_README_example_map()
    {
        VisionLanguageModel model = Model(Shapes);
        ModelImage image = Image(model, Shapes);
        VqaResult result = await model.AnswerAsync(image, "What color is the circle?", new GenerationOptions { MaxNewTokens = 64 });
        Assert.Equal(4, result.Anchors.Count);

        using SKBitmap expected = PngImages.Decode(AnchorMap.RenderPng(model, image, result));
        Assert.True(File.Exists(DocsImage), $"{DocsImage} is missing; make it with: {DocsCommand}");
        using SKBitmap committed = PngImages.Decode(File.ReadAllBytes(DocsImage));

        string regenerate = $"docs/anchor-map.png is out of date; regenerate it from the repository root with: {DocsCommand}";
        Assert.True((expected.Width, expected.Height) == (committed.Width, committed.Height),
            $"{regenerate} (it is {committed.Width} × {committed.Height}, the map is now {expected.Width} × {expected.Height})");
        SKColor[] now = expected.Pixels, then = committed.Pixels;
        int differ = Enumerable.Range(0, now.Length).Count(i => now[i] != then[i]);
        Assert.True(differ == 0, $"{regenerate} ({differ} of {now.Length} pixels differ)");
    }
}
