using SkiaSharp;

namespace AttAnchor.Visualization;

/// <summary>
/// A small bitmap font drawn as filled squares, so that images carry readable labels on machines where
/// SkiaSharp has no typeface: AttAnchor.OnnxRuntime ships <c>SkiaSharp.NativeAssets.Linux.NoDependencies</c>,
/// which has no fontconfig, and there <see cref="SKTypeface.Default"/> has no glyphs and <see cref="SKFont"/>
/// draws nothing. <see cref="AnchorMap"/> and <see cref="ChartCanvas"/> write with it.
/// </summary>
/// <remarks>
/// <para>Every printable ASCII character (32–126) has a glyph, and so do <c>τ</c>, <c>×</c> and <c>·</c>. A glyph
/// is 5 pixels wide and 7 tall above the baseline; <c>g j p q y , ;</c> reach 2 rows below it. Characters
/// without a glyph are drawn as a hollow box. The glyphs were designed for this file.</para>
/// <para>Sizes are in font pixels times <c>scale</c>: a character advances <see cref="Advance"/> × scale and a
/// line takes <see cref="LineHeight"/> × scale. Drawing is not anti-aliased, so every set pixel has exactly the
/// colour asked for.</para>
/// </remarks>
internal static class PixelFont
{
    /// <summary>The width of a glyph, in font pixels.</summary>
    public const int GlyphWidth = 5;

    /// <summary>The height of a capital or digit, in font pixels (rows 0–6, the baseline under row 6).</summary>
    public const int CapHeight = 7;

    /// <summary>How far one character moves the pen: the glyph and one pixel of space.</summary>
    public const int Advance = GlyphWidth + 1;

    /// <summary>The height of a line: the cap height, two descender rows and one row of space.</summary>
    public const int LineHeight = CapHeight + 3;

    private const int Rows = CapHeight + 2;

    // Each glyph: up to 9 rows of 5 columns, top to bottom, separated by '/'; '#' is ink, '.' is paper.
    private static readonly (char Character, string Rows)[] Designs =
    [
        (' ', "...../...../...../...../...../...../....."),
        ('!', "..#../..#../..#../..#../..#../...../..#.."),
        ('"', ".#.#./.#.#./...../...../...../...../....."),
        ('#', ".#.#./.#.#./#####/.#.#./#####/.#.#./.#.#."),
        ('$', "..#../.####/#.#../.###./..#.#/####./..#.."),
        ('%', "##..#/##..#/...#./..#../.#.../#..##/#..##"),
        ('&', ".##../#..#./#.#../.#.../#.#.#/#..#./.##.#"),
        ('\'', "..#../..#../...../...../...../...../....."),
        ('(', "...#./..#../.#.../.#.../.#.../..#../...#."),
        (')', ".#.../..#../...#./...#./...#./..#../.#..."),
        ('*', "...../..#../#.#.#/.###./#.#.#/..#../....."),
        ('+', "...../..#../..#../#####/..#../..#../....."),
        (',', "...../...../...../...../...../.##../.##../..#../.#..."),
        ('-', "...../...../...../#####/...../...../....."),
        ('.', "...../...../...../...../...../.##../.##.."),
        ('/', "....#/....#/...#./..#../.#.../#..../#...."),
        ('0', ".###./#...#/#..##/#.#.#/##..#/#...#/.###."),
        ('1', "..#../.##../..#../..#../..#../..#../.###."),
        ('2', ".###./#...#/....#/...#./..#../.#.../#####"),
        ('3', "#####/...#./..#../...#./....#/#...#/.###."),
        ('4', "...#./..##./.#.#./#..#./#####/...#./...#."),
        ('5', "#####/#..../####./....#/....#/#...#/.###."),
        ('6', "..##./.#.../#..../####./#...#/#...#/.###."),
        ('7', "#####/....#/...#./..#../.#.../.#.../.#..."),
        ('8', ".###./#...#/#...#/.###./#...#/#...#/.###."),
        ('9', ".###./#...#/#...#/.####/....#/...#./.##.."),
        (':', "...../.##../.##../...../.##../.##../....."),
        (';', "...../.##../.##../...../.##../.##../..#../.#..."),
        ('<', "...#./..#../.#.../#..../.#.../..#../...#."),
        ('=', "...../...../#####/...../#####/...../....."),
        ('>', ".#.../..#../...#./....#/...#./..#../.#..."),
        ('?', ".###./#...#/....#/...#./..#../...../..#.."),
        ('@', ".###./#...#/....#/.##.#/#.#.#/#.#.#/.###."),
        ('A', ".###./#...#/#...#/#####/#...#/#...#/#...#"),
        ('B', "####./#...#/#...#/####./#...#/#...#/####."),
        ('C', ".###./#...#/#..../#..../#..../#...#/.###."),
        ('D', "###../#..#./#...#/#...#/#...#/#..#./###.."),
        ('E', "#####/#..../#..../####./#..../#..../#####"),
        ('F', "#####/#..../#..../####./#..../#..../#...."),
        ('G', ".###./#...#/#..../#.###/#...#/#...#/.####"),
        ('H', "#...#/#...#/#...#/#####/#...#/#...#/#...#"),
        ('I', ".###./..#../..#../..#../..#../..#../.###."),
        ('J', "..###/...#./...#./...#./...#./#..#./.##.."),
        ('K', "#...#/#..#./#.#../##.../#.#../#..#./#...#"),
        ('L', "#..../#..../#..../#..../#..../#..../#####"),
        ('M', "#...#/##.##/#.#.#/#.#.#/#...#/#...#/#...#"),
        ('N', "#...#/#...#/##..#/#.#.#/#..##/#...#/#...#"),
        ('O', ".###./#...#/#...#/#...#/#...#/#...#/.###."),
        ('P', "####./#...#/#...#/####./#..../#..../#...."),
        ('Q', ".###./#...#/#...#/#...#/#.#.#/#..#./.##.#"),
        ('R', "####./#...#/#...#/####./#.#../#..#./#...#"),
        ('S', ".####/#..../#..../.###./....#/....#/####."),
        ('T', "#####/..#../..#../..#../..#../..#../..#.."),
        ('U', "#...#/#...#/#...#/#...#/#...#/#...#/.###."),
        ('V', "#...#/#...#/#...#/#...#/#...#/.#.#./..#.."),
        ('W', "#...#/#...#/#...#/#.#.#/#.#.#/#.#.#/.#.#."),
        ('X', "#...#/#...#/.#.#./..#../.#.#./#...#/#...#"),
        ('Y', "#...#/#...#/.#.#./..#../..#../..#../..#.."),
        ('Z', "#####/....#/...#./..#../.#.../#..../#####"),
        ('[', ".###./.#.../.#.../.#.../.#.../.#.../.###."),
        ('\\', "#..../#..../.#.../..#../...#./....#/....#"),
        (']', ".###./...#./...#./...#./...#./...#./.###."),
        ('^', "..#../.#.#./#...#/...../...../...../....."),
        ('_', "...../...../...../...../...../...../#####"),
        ('`', ".#.../..#../...../...../...../...../....."),
        ('a', "...../...../.###./....#/.####/#...#/.####"),
        ('b', "#..../#..../#.##./##..#/#...#/#...#/####."),
        ('c', "...../...../.###./#..../#..../#...#/.###."),
        ('d', "....#/....#/.##.#/#..##/#...#/#...#/.####"),
        ('e', "...../...../.###./#...#/#####/#..../.###."),
        ('f', "..##./.#..#/.#.../###../.#.../.#.../.#..."),
        ('g', "...../...../.####/#...#/#...#/#...#/.####/....#/.###."),
        ('h', "#..../#..../#.##./##..#/#...#/#...#/#...#"),
        ('i', "..#../...../.##../..#../..#../..#../.###."),
        ('j', "...#./...../..##./...#./...#./...#./...#./#..#./.##.."),
        ('k', "#..../#..../#..#./#.#../##.../#.#../#..#."),
        ('l', ".##../..#../..#../..#../..#../..#../.###."),
        ('m', "...../...../##.#./#.#.#/#.#.#/#.#.#/#.#.#"),
        ('n', "...../...../#.##./##..#/#...#/#...#/#...#"),
        ('o', "...../...../.###./#...#/#...#/#...#/.###."),
        ('p', "...../...../####./#...#/#...#/#...#/####./#..../#...."),
        ('q', "...../...../.####/#...#/#...#/#...#/.####/....#/....#"),
        ('r', "...../...../#.##./##..#/#..../#..../#...."),
        ('s', "...../...../.####/#..../.###./....#/####."),
        ('t', ".#.../.#.../###../.#.../.#.../.#..#/..##."),
        ('u', "...../...../#...#/#...#/#...#/#..##/.##.#"),
        ('v', "...../...../#...#/#...#/#...#/.#.#./..#.."),
        ('w', "...../...../#...#/#...#/#.#.#/#.#.#/.#.#."),
        ('x', "...../...../#...#/.#.#./..#../.#.#./#...#"),
        ('y', "...../...../#...#/#...#/#...#/#...#/.####/....#/.###."),
        ('z', "...../...../#####/...#./..#../.#.../#####"),
        ('{', "...#./..#../..#../.#.../..#../..#../...#."),
        ('|', "..#../..#../..#../..#../..#../..#../..#.."),
        ('}', ".#.../..#../..#../...#./..#../..#../.#..."),
        ('~', "...../...../.#.../#.#.#/...#./...../....."),
        ('τ', "...../...../#####/..#../..#../..#.#/...#."),
        ('×', "...../#...#/.#.#./..#../.#.#./#...#/....."),
        ('·', "...../...../...../..#../...../...../....."),
    ];

    private static readonly Dictionary<char, ushort[]> Glyphs = Designs.ToDictionary(d => d.Character, d => Parse(d.Character, d.Rows));

    private static readonly ushort[] Missing = Parse('\0', "#####/#...#/#...#/#...#/#...#/#...#/#####");

    /// <summary>Whether <paramref name="character"/> has a glyph of its own (others are drawn as a box).</summary>
    public static bool Has(char character) => Glyphs.ContainsKey(character);

    /// <summary>The ink of one glyph: row <c>r</c> (0 at the top, 7 and 8 below the baseline), column <c>c</c> (0 at the left).</summary>
    public static bool IsInk(char character, int row, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ushort[] glyph = Glyphs.GetValueOrDefault(character) ?? Missing;
        return row < Rows && column < GlyphWidth && (glyph[row] & (1 << (GlyphWidth - 1 - column))) != 0;
    }

    /// <summary>The width of <paramref name="text"/> drawn at <paramref name="scale"/>, without the space after its last character.</summary>
    public static int MeasureWidth(string text, int scale)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        return text.Length == 0 ? 0 : ((text.Length * Advance) - 1) * scale;
    }

    /// <summary>
    /// <paramref name="text"/> as it is when it fits in <paramref name="maxWidth"/> pixels at
    /// <paramref name="scale"/>, else cut short and ended with <c>...</c>.
    /// </summary>
    public static string Fit(string text, int maxWidth, int scale)
    {
        if (MeasureWidth(text, scale) <= maxWidth)
        {
            return text;
        }

        int characters = ((maxWidth / scale) + 1) / Advance;
        return characters <= 3 ? text[..Math.Max(0, characters)] : string.Concat(text.AsSpan(0, characters - 3), "...");
    }

    /// <summary>
    /// Draws <paramref name="text"/> on one line with its top-left corner (the top of the capitals) at
    /// (<paramref name="left"/>, <paramref name="top"/>), each font pixel a <paramref name="scale"/> × <paramref name="scale"/> square.
    /// </summary>
    public static void Draw(SKCanvas canvas, string text, float left, float top, int scale, SKColor color)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        using var paint = new SKPaint { Color = color, IsAntialias = false, Style = SKPaintStyle.Fill };
        float x = left;
        foreach (char character in text)
        {
            ushort[] glyph = Glyphs.GetValueOrDefault(character) ?? Missing;
            for (int row = 0; row < Rows; row++)
            {
                // One rectangle per horizontal run of ink.
                int column = 0;
                while (column < GlyphWidth)
                {
                    if ((glyph[row] & (1 << (GlyphWidth - 1 - column))) == 0)
                    {
                        column++;
                        continue;
                    }

                    int start = column;
                    while (column < GlyphWidth && (glyph[row] & (1 << (GlyphWidth - 1 - column))) != 0)
                    {
                        column++;
                    }

                    canvas.DrawRect(x + (start * scale), top + (row * scale), (column - start) * scale, scale, paint);
                }
            }

            x += Advance * scale;
        }
    }

    /// <summary>Draws <paramref name="text"/> centred on <paramref name="centerX"/>, its top at <paramref name="top"/>.</summary>
    public static void DrawCentered(SKCanvas canvas, string text, float centerX, float top, int scale, SKColor color) =>
        Draw(canvas, text, centerX - (MeasureWidth(text, scale) / 2f), top, scale, color);

    private static ushort[] Parse(char character, string design)
    {
        string[] rows = design.Split('/');
        if (rows.Length is < CapHeight or > Rows || rows.Any(r => r.Length != GlyphWidth || r.Any(c => c is not ('#' or '.'))))
        {
            throw new InvalidOperationException($"The glyph of '{character}' is not {CapHeight} to {Rows} rows of {GlyphWidth} '#' or '.'.");
        }

        var bits = new ushort[Rows];
        for (int row = 0; row < rows.Length; row++)
        {
            for (int column = 0; column < GlyphWidth; column++)
            {
                if (rows[row][column] == '#')
                {
                    bits[row] |= (ushort)(1 << (GlyphWidth - 1 - column));
                }
            }
        }

        return bits;
    }
}
