using System.Globalization;
using AttAnchor.OnnxRuntime;
using AttAnchor.Skia;
using SkiaSharp;

namespace AttAnchor.Visualization;

/// <summary>
/// Draws where AttAnchor anchored an answer: a PNG of the image exactly as the model saw it (the square crop
/// after resizing, before normalisation), scaled up, with the patch grid, every anchored patch highlighted and
/// labelled with its word and similarity, and a legend listing every anchor.
/// </summary>
/// <remarks>
/// <para><b>The image.</b> The <see cref="ModelConfig.ImageSize"/>² crop the vision encoder takes (the model's
/// <see cref="ModelConfig.ResizeMode"/>, bit for bit), each pixel drawn as a factor × factor square (nearest
/// neighbour). The factor is the smallest whole number that makes a patch cell at least 96 pixels wide, but no more
/// than keeps the image within 1400 pixels (and at least 1): a 224-pixel model with 32-pixel patches is drawn ×3
/// (96-pixel cells), a 336-pixel model with 14-pixel patches ×4 (56-pixel cells). Column numbers run along the
/// top and row numbers down the left side; 1-pixel grey lines separate the cells.</para>
/// <para><b>Anchored patches.</b> Each patch that at least one anchor names gets a 4-pixel amber frame with black
/// edges inside its cell and a 30 % amber tint. In the cell's top-left corner, on a dark plate, white text (font
/// pixels 2 × 2 in cells of 96 pixels or more, else 1 × 1) gives two lines per anchor: the word, then the similarity to three decimals without the leading zero (<c>circle</c>,
/// <c>.175</c>); several anchors on one patch stack in sequence order, and those that do not fit are counted on a
/// last line (<c>+2</c>). Words are shown without SentencePiece's word-start mark <c>▁</c> (<c>▁circle</c> is
/// drawn <c>circle</c>, a lone <c>▁</c> as <c>_</c>), line breaks and tabs as <c>\n</c> and <c>\t</c>, and a word
/// too long for the cell is cut and ended with <c>-</c>. Characters the built-in 5 × 7 pixel font lacks (it has
/// printable ASCII, <c>τ</c>, <c>×</c> and <c>·</c>) are drawn as hollow boxes. Cells too small for a label
/// keep only the frame and tint. In image-into-text mode the anchors are patches copied next to words; the
/// map is the same: the patch is highlighted and named by its word.</para>
/// <para><b>The legend</b>, below the image, at twice the font's size: the count (<c>AttAnchor: 4 anchors</c>, or <c>AttAnchor: no
/// anchors (τ = 0.164)</c>, or <c>AttAnchor: off, no anchors</c>), the direction and τ, what the direction copies
/// where, a sample of an anchored cell, then one row per anchor in sequence order: word, similarity to four
/// decimals, patch index and (row, column); last, the crop's size, the factor and the grid.</para>
/// <para>Nothing is anti-aliased and the tints are blended in integer arithmetic, so the same image and anchors
/// give the same pixels on every machine.</para>
/// </remarks>
/// <example>
/// <code>
/// using var model = VisionLanguageModel.Open("models/shapes/attanchor");
/// ModelImage image = model.LoadImage("models/shapes/example.png");
/// VqaResult result = await model.AnswerAsync(image, "What color is the circle?");
/// AnchorMap.Save(model, image, result, "anchor-map.png");
/// using SKBitmap map = SKBitmap.Decode("anchor-map.png");
/// Console.WriteLine($"{result.Text} {result.Anchors.Count} anchors, {map.Width} × {map.Height} px");
/// // Red. 4 anchors, 721 × 1029 px
/// </code>
/// The PNG shows the 224-pixel crop ×3 with its 7 × 7 grid; patch 4 (row 0, column 4, on the circle) is framed
/// and labelled <c>the .198 circle .175</c>, patch 6 <c>color .182</c> and patch 47 <c>What .174</c>.
/// </example>
public static class AnchorMap
{
    /// <summary>The smallest cell the scale factor aims for, in map pixels.</summary>
    internal const int MinimumCell = 96;

    /// <summary>The largest image side the scale factor allows, in map pixels.</summary>
    internal const int MaximumImageSide = 1400;

    /// <summary>The white margin around everything.</summary>
    internal const int Margin = 16;

    /// <summary>Between the axis numbers and the image.</summary>
    internal const int AxisGap = 6;

    /// <summary>Between the image and the legend below it.</summary>
    internal const int LegendGap = 24;

    /// <summary>The side of the legend's sample of an anchored cell.</summary>
    internal const int SwatchSide = 18;

    /// <summary>From the sample's left edge to its line's text.</summary>
    internal const int SwatchIndent = SwatchSide + 10;

    /// <summary>The frame's width inside an anchored cell: 1 black, 2 amber, 1 black.</summary>
    internal const int FrameWidth = 4;

    /// <summary>How far the label's plate sits from the cell's edge.</summary>
    internal const int LabelInset = FrameWidth + 1;

    /// <summary>The plate's padding around the label text.</summary>
    internal const int PlatePadding = 2;

    /// <summary>The legend's font scale.</summary>
    internal const int LegendScale = 2;

    /// <summary>The tint's opacity over an anchored cell, out of 255 (30 %).</summary>
    internal const byte TintAlpha = 77;

    /// <summary>The label plate's opacity, out of 255.</summary>
    internal const byte PlateAlpha = 176;

    /// <summary>The page behind the image and the legend.</summary>
    internal static readonly SKColor Background = SKColors.White;

    /// <summary>The legend's text.</summary>
    internal static readonly SKColor Ink = new(0x20, 0x20, 0x20);

    /// <summary>Axis numbers, the legend's header and notes.</summary>
    internal static readonly SKColor Muted = new(0x66, 0x66, 0x66);

    /// <summary>The lines between cells.</summary>
    internal static readonly SKColor GridLine = new(0xB4, 0xB4, 0xB4);

    /// <summary>The line around the image.</summary>
    internal static readonly SKColor Border = new(0x80, 0x80, 0x80);

    /// <summary>The anchored cells' frame and tint.</summary>
    internal static readonly SKColor Highlight = new(0xFF, 0xB3, 0x00);

    /// <summary>The frame's edges.</summary>
    internal static readonly SKColor FrameEdge = SKColors.Black;

    /// <summary>The label plate (blended at <see cref="PlateAlpha"/>).</summary>
    internal static readonly SKColor Plate = SKColors.Black;

    /// <summary>The label text on the plate.</summary>
    internal static readonly SKColor LabelInk = SKColors.White;

    /// <summary>Renders the anchor map of an answer as PNG bytes.</summary>
    /// <param name="model">The model that answered; only its <see cref="VisionLanguageModel.Config"/> (size, patch grid, resize mode) is used.</param>
    /// <param name="image">The image it answered about.</param>
    /// <param name="result">The answer: its <see cref="VqaResult.Anchors"/> and <see cref="VqaResult.Anchoring"/>.</param>
    /// <returns>The PNG file's bytes.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An anchor is <see langword="null"/>, lies outside the model's patch grid, or does not match the settings (see <see cref="RenderPng(VisionLanguageModel, ModelImage, IReadOnlyList{AnchorInfo}, AttAnchorOptions)"/>).</exception>
    public static byte[] RenderPng(VisionLanguageModel model, ModelImage image, VqaResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return RenderPng(model, image, result.Anchors, result.Anchoring);
    }

    /// <summary>Renders the anchor map of a list of anchors as PNG bytes.</summary>
    /// <param name="model">The model the anchors were planned with; only its <see cref="VisionLanguageModel.Config"/> is used.</param>
    /// <param name="image">The image.</param>
    /// <param name="anchors">The anchors, in sequence order (as <see cref="VqaResult.Anchors"/> lists them); may be empty.</param>
    /// <param name="anchoring">The settings they were planned with: the legend shows the direction and τ.</param>
    /// <returns>The PNG file's bytes.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// An anchor is <see langword="null"/>; its patch index is outside the model's grid (0 … M − 1) or disagrees with
    /// its row and column; its direction is not <paramref name="anchoring"/>'s; or there are anchors although
    /// <paramref name="anchoring"/> inserts nothing. The message names the anchor.
    /// </exception>
    public static byte[] RenderPng(VisionLanguageModel model, ModelImage image, IReadOnlyList<AnchorInfo> anchors, AttAnchorOptions anchoring)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(anchors);
        ArgumentNullException.ThrowIfNull(anchoring);
        Validate(model.Config, anchors, anchoring);
        using SKBitmap map = Render(model.Config, ImagePreprocessor.GetCrop(image, model.Config), anchors, anchoring);
        using SKData png = map.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>Renders the anchor map of an answer and writes it to a PNG file (replacing one that is there).</summary>
    /// <param name="model">The model that answered.</param>
    /// <param name="image">The image it answered about.</param>
    /// <param name="result">The answer.</param>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a folder, or an anchor is invalid (see <see cref="RenderPng(VisionLanguageModel, ModelImage, IReadOnlyList{AnchorInfo}, AttAnchorOptions)"/>).</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written (no permission, a read-only file system, a full disk); the message names the file.</exception>
    public static void Save(VisionLanguageModel model, ModelImage image, VqaResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        Save(model, image, result.Anchors, result.Anchoring, path);
    }

    /// <summary>Renders the anchor map of a list of anchors and writes it to a PNG file (replacing one that is there).</summary>
    /// <param name="model">The model the anchors were planned with.</param>
    /// <param name="image">The image.</param>
    /// <param name="anchors">The anchors, in sequence order; may be empty.</param>
    /// <param name="anchoring">The settings they were planned with.</param>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a folder, or an anchor is invalid (see <see cref="RenderPng(VisionLanguageModel, ModelImage, IReadOnlyList{AnchorInfo}, AttAnchorOptions)"/>).</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written (no permission, a read-only file system, a full disk); the message names the file.</exception>
    public static void Save(VisionLanguageModel model, ModelImage image, IReadOnlyList<AnchorInfo> anchors, AttAnchorOptions anchoring, string path)
    {
        CheckPath(path);
        byte[] png = RenderPng(model, image, anchors, anchoring);
        try
        {
            File.WriteAllBytes(path, png);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new DirectoryNotFoundException($"Cannot write the anchor map {path}: its folder does not exist. Create the folder first.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"Cannot write the anchor map {path}: permission denied. Choose a writable folder.", e);
        }
        catch (IOException e)
        {
            throw new IOException($"Cannot write the anchor map {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Checks a file path for <see cref="Save(VisionLanguageModel, ModelImage, VqaResult, string)"/> before any
    /// work: not empty, not a folder, in a folder that exists.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or blank, or names an existing folder.</exception>
    /// <exception cref="DirectoryNotFoundException">Its folder does not exist.</exception>
    internal static void CheckPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("The anchor map's path is empty; give a file name such as anchor-map.png.", nameof(path));
        }

        if (Directory.Exists(path))
        {
            throw new ArgumentException($"The anchor map's path {path} is a folder; give a file name such as {Path.Combine(path, "anchor-map.png")}.", nameof(path));
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Cannot write the anchor map {path}: its folder {folder} does not exist. Create the folder first.");
        }
    }

    /// <summary>Where the image goes on the map and how large it is drawn.</summary>
    /// <param name="Factor">Each crop pixel becomes Factor × Factor map pixels.</param>
    /// <param name="Cell">One patch cell's side on the map: PatchSize × Factor.</param>
    /// <param name="GridSide">Patches per row and column.</param>
    /// <param name="ImageLeft">The map column of the crop's pixel (0, 0).</param>
    /// <param name="ImageTop">The map row of the crop's pixel (0, 0).</param>
    /// <param name="ImageSide">The image's side on the map: ImageSize × Factor.</param>
    /// <param name="AxisScale">The font scale of the row and column numbers.</param>
    /// <param name="AxisStep">Every how many rows and columns a number is written.</param>
    /// <param name="LabelScale">The font scale of the labels in the cells.</param>
    internal readonly record struct Geometry(int Factor, int Cell, int GridSide, int ImageLeft, int ImageTop, int ImageSide, int AxisScale, int AxisStep, int LabelScale)
    {
        /// <summary>The legend's left edge: the image's.</summary>
        public int LegendLeft => ImageLeft;

        /// <summary>The legend's top edge, below the image.</summary>
        public int LegendTop => ImageTop + ImageSide + 1 + LegendGap;

        /// <summary>The map column of a patch cell's left edge.</summary>
        public int CellLeft(int column) => ImageLeft + (column * Cell);

        /// <summary>The map row of a patch cell's top edge.</summary>
        public int CellTop(int row) => ImageTop + (row * Cell);
    }

    /// <summary>The geometry of a model's map.</summary>
    internal static Geometry Measure(ModelConfig config)
    {
        int size = config.ImageSize, patch = config.PatchSize, grid = config.PatchGridSide;
        int factor = Math.Max(1, Math.Min((MinimumCell + patch - 1) / patch, MaximumImageSide / size));
        int cell = patch * factor;
        string last = (grid - 1).ToString(CultureInfo.InvariantCulture);
        int axisScale = PixelFont.MeasureWidth(last, 2) + 4 <= cell ? 2 : 1;
        int step = 1;
        while (PixelFont.MeasureWidth(last, axisScale) + 2 > step * cell)
        {
            step++;
        }

        int left = Margin + PixelFont.MeasureWidth(last, axisScale) + AxisGap;
        int top = Margin + (PixelFont.CapHeight * axisScale) + AxisGap;
        int labelScale = cell >= MinimumCell ? 2 : 1;
        return new Geometry(factor, cell, grid, left, top, size * factor, axisScale, step, labelScale);
    }

    /// <summary>A token as the map writes it: without the word-start <c>▁</c>, line breaks and tabs escaped, a blank one as <c>_</c>.</summary>
    internal static string Word(string? token)
    {
        string word = token ?? string.Empty;
        if (word.StartsWith('▁'))
        {
            word = word[1..];
        }

        word = word.Replace('▁', ' ').Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);
        return string.IsNullOrWhiteSpace(word) ? "_" : word;
    }

    /// <summary>A similarity to three decimals without the leading zero: <c>.175</c>, <c>-.120</c>, <c>1.000</c>.</summary>
    internal static string ShortSimilarity(float similarity)
    {
        string text = similarity.ToString("0.000", CultureInfo.InvariantCulture);
        return text.StartsWith("0.", StringComparison.Ordinal) ? text[1..]
            : text.StartsWith("-0.", StringComparison.Ordinal) ? string.Concat("-", text.AsSpan(2))
            : text;
    }

    /// <summary>
    /// The label lines of one anchored cell: word and similarity per anchor, in order, as many as fit, then
    /// <c>+N</c> for the rest; empty when the cell is too small for a label.
    /// </summary>
    internal static IReadOnlyList<string> CellLines(IReadOnlyList<AnchorInfo> onPatch, int cell, int scale)
    {
        int room = cell - (2 * LabelInset) - (2 * PlatePadding);
        int maxLines = (room + scale) / (PixelFont.LineHeight * scale);
        int maxCharacters = (room + scale) / (PixelFont.Advance * scale);
        if (maxLines < 2 || maxCharacters < 4 || onPatch.Count == 0)
        {
            return [];
        }

        int shown = 2 * onPatch.Count <= maxLines ? onPatch.Count : (maxLines - 1) / 2;
        var lines = new List<string>();
        foreach (AnchorInfo anchor in onPatch.Take(shown))
        {
            string word = Word(anchor.Token);
            lines.Add(word.Length <= maxCharacters ? word : string.Concat(word.AsSpan(0, maxCharacters - 1), "-"));
            lines.Add(ShortSimilarity(anchor.Similarity));
        }

        if (shown < onPatch.Count)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"+{onPatch.Count - shown}"));
        }

        return lines;
    }

    /// <summary>One line of the legend.</summary>
    /// <param name="Text">What it says.</param>
    /// <param name="Color">The text's colour.</param>
    /// <param name="Gap">Whether a blank line comes before it.</param>
    /// <param name="Swatch">Whether a sample of an anchored cell comes before the text.</param>
    internal readonly record struct LegendLine(string Text, SKColor Color, bool Gap = false, bool Swatch = false)
    {
        /// <summary>The line's width at the legend's scale, the sample included.</summary>
        public int Width => (Swatch ? SwatchIndent : 0) + PixelFont.MeasureWidth(Text, LegendScale);
    }

    /// <summary>The legend's lines, top to bottom.</summary>
    internal static IReadOnlyList<LegendLine> LegendLines(ModelConfig config, IReadOnlyList<AnchorInfo> anchors, AttAnchorOptions anchoring, int factor)
    {
        var lines = new List<LegendLine>();
        string threshold = anchoring.Threshold.ToString("0.###", CultureInfo.InvariantCulture);
        string direction = AttAnchorOptions.GetDirectionName(anchoring.Direction);
        string count = anchors.Count switch
        {
            0 when anchoring.IsIdentity => "AttAnchor: off, no anchors",
            0 => $"AttAnchor: no anchors (τ = {threshold})",
            1 => "AttAnchor: 1 anchor",
            int n => string.Create(CultureInfo.InvariantCulture, $"AttAnchor: {n} anchors"),
        };
        lines.Add(new(count, Ink));
        if (!anchoring.IsIdentity)
        {
            lines.Add(new($"{direction}, τ = {threshold}", Ink));
            lines.Add(new(anchoring.Direction == AnchorDirection.ImageIntoText
                ? "each patch is copied after its word"
                : "each word is copied after its patch", Muted));
        }

        if (anchors.Count > 0)
        {
            lines.Add(new("an anchored patch, with word and similarity", Muted, Gap: true, Swatch: true));
            const int MaxWord = 14;
            int wordWidth = Math.Clamp(anchors.Max(a => Word(a.Token).Length), 4, MaxWord);
            lines.Add(new($"{"word".PadRight(wordWidth)}  similarity  patch  row, col", Muted, Gap: true));
            foreach (AnchorInfo a in anchors)
            {
                string word = PixelFont.Fit(Word(a.Token), (wordWidth * PixelFont.Advance) - 1, 1).PadRight(wordWidth);
                lines.Add(new(string.Create(CultureInfo.InvariantCulture,
                    $"{word}  {a.Similarity,10:F4}  {a.PatchIndex,5}  {$"{a.PatchRow}, {a.PatchColumn}",8}"), Ink));
            }
        }

        lines.Add(new(string.Create(CultureInfo.InvariantCulture, $"{config.ImageSize}×{config.ImageSize} crop as the model saw it, ×{factor};"), Muted, Gap: true));
        lines.Add(new(string.Create(CultureInfo.InvariantCulture, $"{config.PatchGridSide}×{config.PatchGridSide} patches of {config.PatchSize} px"), Muted));
        return lines;
    }

    /// <summary>Draws the map of a crop (ImageSize² × 3 bytes, RGB) with validated anchors.</summary>
    internal static SKBitmap Render(ModelConfig config, byte[] crop, IReadOnlyList<AnchorInfo> anchors, AttAnchorOptions anchoring)
    {
        Geometry g = Measure(config);
        IReadOnlyList<LegendLine> legend = LegendLines(config, anchors, anchoring, g.Factor);
        int legendWidth = legend.Max(l => l.Width);
        int legendHeight = LegendHeight(legend);
        int width = Math.Max(g.ImageLeft + g.ImageSide + 1, g.LegendLeft + legendWidth) + Margin;
        int height = g.LegendTop + legendHeight + Margin;

        SkiaNative.EnsureLoaded();
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        try
        {
            var pixels = new Pixels(bitmap);
            pixels.Fill(0, 0, width, height, Background, 255);
            DrawCrop(pixels, crop, config.ImageSize, g);

            // Anchors grouped by patch, in sequence order within each.
            var byPatch = anchors.GroupBy(a => a.PatchIndex).OrderBy(p => p.Key).ToList();
            var labels = new List<(int X, int Y, IReadOnlyList<string> Lines)>();
            foreach (var patch in byPatch)
            {
                int x = g.CellLeft(patch.Key % g.GridSide), y = g.CellTop(patch.Key / g.GridSide);
                pixels.Fill(x, y, g.Cell, g.Cell, Highlight, TintAlpha);
                IReadOnlyList<string> lines = CellLines([.. patch], g.Cell, g.LabelScale);
                if (lines.Count > 0)
                {
                    int plateWidth = lines.Max(l => PixelFont.MeasureWidth(l, g.LabelScale)) + (2 * PlatePadding);
                    int plateHeight = (lines.Count * PixelFont.LineHeight * g.LabelScale) - g.LabelScale + (2 * PlatePadding);
                    pixels.Fill(x + LabelInset, y + LabelInset, plateWidth, plateHeight, Plate, PlateAlpha);
                    labels.Add((x + LabelInset + PlatePadding, y + LabelInset + PlatePadding, lines));
                }
            }

            foreach ((LegendLine line, int top) in LegendPlacement(legend, g))
            {
                if (line.Swatch)
                {
                    pixels.Fill(g.LegendLeft, top + (((PixelFont.CapHeight * LegendScale) - SwatchSide) / 2), SwatchSide, SwatchSide, Highlight, TintAlpha);
                }
            }

            using var canvas = new SKCanvas(bitmap);
            using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };

            // Grid lines inside the image, a border around it.
            paint.Color = GridLine;
            for (int i = 1; i < g.GridSide; i++)
            {
                canvas.DrawRect(g.CellLeft(i), g.ImageTop, 1, g.ImageSide, paint);
                canvas.DrawRect(g.ImageLeft, g.CellTop(i), g.ImageSide, 1, paint);
            }

            paint.Color = Border;
            Frame(canvas, paint, g.ImageLeft - 1, g.ImageTop - 1, g.ImageSide + 2, g.ImageSide + 2, 1);

            foreach (var patch in byPatch)
            {
                DrawFrame(canvas, paint, g.CellLeft(patch.Key % g.GridSide), g.CellTop(patch.Key / g.GridSide), g.Cell);
            }

            foreach ((int x, int y, IReadOnlyList<string> lines) in labels)
            {
                for (int i = 0; i < lines.Count; i++)
                {
                    PixelFont.Draw(canvas, lines[i], x, y + (i * PixelFont.LineHeight * g.LabelScale), g.LabelScale, LabelInk);
                }
            }

            // Column numbers above, row numbers to the left.
            for (int i = 0; i < g.GridSide; i += g.AxisStep)
            {
                string number = i.ToString(CultureInfo.InvariantCulture);
                PixelFont.DrawCentered(canvas, number, g.CellLeft(i) + (g.Cell / 2f), g.ImageTop - AxisGap - (PixelFont.CapHeight * g.AxisScale), g.AxisScale, Muted);
                PixelFont.Draw(canvas, number, g.ImageLeft - AxisGap - PixelFont.MeasureWidth(number, g.AxisScale),
                    g.CellTop(i) + ((g.Cell - (PixelFont.CapHeight * g.AxisScale)) / 2), g.AxisScale, Muted);
            }

            foreach ((LegendLine line, int top) in LegendPlacement(legend, g))
            {
                int left = g.LegendLeft;
                if (line.Swatch)
                {
                    DrawFrame(canvas, paint, left, top + (((PixelFont.CapHeight * LegendScale) - SwatchSide) / 2), SwatchSide);
                    left += SwatchIndent;
                }

                PixelFont.Draw(canvas, line.Text, left, top, LegendScale, line.Color);
            }

            canvas.Flush();
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>Each legend line with the map row of its text's top.</summary>
    private static IEnumerable<(LegendLine Line, int Top)> LegendPlacement(IReadOnlyList<LegendLine> legend, Geometry g)
    {
        int top = g.LegendTop;
        foreach (LegendLine line in legend)
        {
            top += line.Gap ? PixelFont.LineHeight * LegendScale : 0;
            yield return (line, top);
            top += PixelFont.LineHeight * LegendScale;
        }
    }

    private static int LegendHeight(IReadOnlyList<LegendLine> legend) =>
        (legend.Count + legend.Count(l => l.Gap)) * PixelFont.LineHeight * LegendScale;

    private static void DrawCrop(Pixels pixels, byte[] crop, int size, Geometry g)
    {
        int factor = g.Factor;
        Span<byte> data = pixels.Data;
        for (int y = 0; y < g.ImageSide; y++)
        {
            int source = 3 * (y / factor) * size;
            Span<byte> row = data.Slice(((g.ImageTop + y) * pixels.RowBytes) + (4 * g.ImageLeft), 4 * g.ImageSide);
            for (int x = 0; x < g.ImageSide; x++)
            {
                int s = source + (3 * (x / factor));
                row[4 * x] = crop[s];
                row[(4 * x) + 1] = crop[s + 1];
                row[(4 * x) + 2] = crop[s + 2];
                row[(4 * x) + 3] = 255;
            }
        }
    }

    /// <summary>The frame of an anchored cell, inside it: 1 px black, 2 px amber, 1 px black (one amber pixel in cells under 16 px).</summary>
    private static void DrawFrame(SKCanvas canvas, SKPaint paint, int x, int y, int cell)
    {
        if (cell < 16)
        {
            paint.Color = Highlight;
            Frame(canvas, paint, x, y, cell, cell, 1);
            return;
        }

        paint.Color = FrameEdge;
        Frame(canvas, paint, x, y, cell, cell, 1);
        paint.Color = Highlight;
        Frame(canvas, paint, x + 1, y + 1, cell - 2, cell - 2, 2);
        paint.Color = FrameEdge;
        Frame(canvas, paint, x + 3, y + 3, cell - 6, cell - 6, 1);
    }

    private static void Frame(SKCanvas canvas, SKPaint paint, int x, int y, int width, int height, int thickness)
    {
        canvas.DrawRect(x, y, width, thickness, paint);
        canvas.DrawRect(x, y + height - thickness, width, thickness, paint);
        canvas.DrawRect(x, y + thickness, thickness, height - (2 * thickness), paint);
        canvas.DrawRect(x + width - thickness, y + thickness, thickness, height - (2 * thickness), paint);
    }

    private static void Validate(ModelConfig config, IReadOnlyList<AnchorInfo> anchors, AttAnchorOptions anchoring)
    {
        int grid = config.PatchGridSide, patches = config.NumImageTokens;
        if (anchoring.IsIdentity && anchors.Count > 0)
        {
            throw new ArgumentException($"{anchors.Count} anchors were given, but the AttAnchor settings insert nothing (off, or τ ≥ 1); pass the settings the anchors were planned with.", nameof(anchoring));
        }

        for (int i = 0; i < anchors.Count; i++)
        {
            AnchorInfo? a = anchors[i] ?? throw new ArgumentException($"anchors[{i}] is null.", nameof(anchors));
            string which = $"anchors[{i}] ({a.Token})";
            if (a.PatchIndex < 0 || a.PatchIndex >= patches)
            {
                throw new ArgumentException(
                    $"{which} is on patch {a.PatchIndex}, outside this model's {grid} × {grid} patch grid (patches 0 … {patches - 1}); were the anchors planned with another model?",
                    nameof(anchors));
            }

            if (a.PatchRow != a.PatchIndex / grid || a.PatchColumn != a.PatchIndex % grid)
            {
                throw new ArgumentException(
                    $"{which} is on patch {a.PatchIndex}, which is row {a.PatchIndex / grid}, column {a.PatchIndex % grid} of this model's {grid} × {grid} grid, but it says row {a.PatchRow}, column {a.PatchColumn}.",
                    nameof(anchors));
            }

            if (a.Direction != anchoring.Direction)
            {
                throw new ArgumentException($"{which} was planned {a.Direction}, but the settings say {anchoring.Direction}; pass the settings the anchors were planned with.", nameof(anchors));
            }
        }
    }

    /// <summary>The bitmap's RGBA bytes, with integer blending.</summary>
    private readonly ref struct Pixels(SKBitmap bitmap)
    {
        public Span<byte> Data { get; } = bitmap.GetPixelSpan();

        public int RowBytes { get; } = bitmap.RowBytes;

        private int Width { get; } = bitmap.Width;

        private int Height { get; } = bitmap.Height;

        /// <summary>Blends <paramref name="color"/> at <paramref name="alpha"/>/255 over a rectangle: (old × (255 − a) + new × a + 127) / 255 per channel.</summary>
        public void Fill(int left, int top, int width, int height, SKColor color, byte alpha)
        {
            int right = Math.Min(Width, left + width), bottom = Math.Min(Height, top + height);
            int keep = 255 - alpha;
            int r = color.Red * alpha, gr = color.Green * alpha, b = color.Blue * alpha;
            for (int y = Math.Max(0, top); y < bottom; y++)
            {
                Span<byte> row = Data.Slice(y * RowBytes, RowBytes);
                for (int x = Math.Max(0, left); x < right; x++)
                {
                    int at = 4 * x;
                    row[at] = (byte)(((row[at] * keep) + r + 127) / 255);
                    row[at + 1] = (byte)(((row[at + 1] * keep) + gr + 127) / 255);
                    row[at + 2] = (byte)(((row[at + 2] * keep) + b + 127) / 255);
                    row[at + 3] = 255;
                }
            }
        }
    }
}
