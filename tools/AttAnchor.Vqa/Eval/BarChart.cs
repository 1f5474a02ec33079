using System.Globalization;
using AttAnchor.Visualization;
using SkiaSharp;

namespace AttAnchor.Vqa.Eval;

/// <summary>One run's bars: its label in the legend and one value (0–100, null for no bar) per group.</summary>
/// <param name="Label">The legend's text.</param>
/// <param name="Values">One value per group, in percent; null draws no bar and a dash.</param>
internal sealed record BarSeries(string Label, IReadOnlyList<double?> Values);

/// <summary>
/// A grouped bar chart drawn on a <see cref="ChartCanvas"/> with its <see cref="PixelFont"/>: groups along the x axis, one bar per
/// series in each group in the series' colour, a y axis from 0 to 100 %, the value above each bar, a title and a
/// legend. The width grows with the number of bars, so every value label fits its bar at full size
/// (<see cref="WidthFor"/>); the height grows with the legend (<see cref="HeightFor"/>).
/// </summary>
/// <param name="title">The title above the plot.</param>
/// <param name="groups">The group names under the x axis.</param>
/// <param name="series">The series; each has one value per group.</param>
internal sealed class BarChart(string title, IReadOnlyList<string> groups, IReadOnlyList<BarSeries> series)
{
    /// <summary>The least image width in pixels.</summary>
    public const int MinWidth = 1000;

    private const int BarSlot = 68;         // room per bar for a value such as "100.0" at scale 2 (the bars fill 80 % of a group)

    private const int Top = 80;             // the title sits above this, and a value label above a full bar below it
    private const int PlotHeight = 360;
    private const int Left = 76;            // room for "100%" at scale 2
    private const int Right = 24;
    private const int AxisLabels = 44;      // under the plot: the group names
    private const int LegendRow = 24;
    private const int Bottom = 16;

    private static readonly SKColor Ink = ChartCanvas.Ink;

    // Distinct, readable colours, chosen for this chart; more series cycle the hue (ColorOf).
    private static readonly SKColor[] Palette =
    [
        new(0x3B, 0x6E, 0xC4), new(0xE0, 0x7A, 0x1F), new(0x3A, 0xA6, 0x5B), new(0xC8, 0x3E, 0x4D), new(0x8A, 0x5C, 0xC2),
        new(0x8C, 0x6D, 0x4F), new(0xD9, 0x5F, 0xB0), new(0x5F, 0x6B, 0x73), new(0xB5, 0xB3, 0x2A), new(0x2A, 0xB3, 0xC0),
    ];

    /// <summary>The title.</summary>
    public string Title { get; } = title ?? throw new ArgumentNullException(nameof(title));

    /// <summary>The group names.</summary>
    public IReadOnlyList<string> Groups { get; } = groups ?? throw new ArgumentNullException(nameof(groups));

    /// <summary>The series.</summary>
    public IReadOnlyList<BarSeries> Series { get; } = series ?? throw new ArgumentNullException(nameof(series));

    /// <summary>The image width for <paramref name="groupCount"/> groups of <paramref name="seriesCount"/> bars.</summary>
    public static int WidthFor(int groupCount, int seriesCount) =>
        Math.Max(MinWidth, Left + Right + (int)Math.Ceiling(Math.Max(groupCount, 1) * Math.Max(seriesCount, 1) * BarSlot / 0.8));

    /// <summary>The image height for <paramref name="seriesCount"/> series: the title, the plot, the group names and one legend row per series.</summary>
    public static int HeightFor(int seriesCount) => Top + PlotHeight + AxisLabels + (Math.Max(seriesCount, 1) * LegendRow) + Bottom;

    /// <summary>The colour of series <paramref name="index"/>: ten fixed colours, then hues spread by the golden angle.</summary>
    public static SKColor ColorOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return index < Palette.Length ? Palette[index] : SKColor.FromHsv((float)((index * 137.508) % 360), 65, 75);
    }

    /// <summary>Draws the chart and writes it as a PNG file.</summary>
    public void SavePng(string path)
    {
        using var chart = new ChartCanvas(WidthFor(Groups.Count, Series.Count), HeightFor(Series.Count));
        Draw(chart);
        chart.SavePng(path);
    }

    private void Draw(ChartCanvas chart)
    {
        int Width = chart.Width;
        chart.CenteredText(PixelFont.Fit(Title, Width - 20, 2), Width / 2f, 18, 2, Ink);

        // Grid lines and y labels every 20 %.
        int plotWidth = Width - Left - Right;
        int baseline = Top + PlotHeight;
        for (int percent = 0; percent <= 100; percent += 20)
        {
            float y = baseline - (percent * PlotHeight / 100f);
            chart.Fill(Left, y, plotWidth, 1, percent == 0 ? Ink : ChartCanvas.GridLine);
            string label = percent.ToString(CultureInfo.InvariantCulture) + "%";
            chart.Text(label, Left - 8 - PixelFont.MeasureWidth(label, 2), y - PixelFont.CapHeight, 2, Ink);
        }

        chart.Fill(Left, Top, 1, PlotHeight, Ink);

        if (Groups.Count > 0 && Series.Count > 0)
        {
            float groupWidth = plotWidth / (float)Groups.Count;
            float barWidth = groupWidth * 0.8f / Series.Count;
            for (int g = 0; g < Groups.Count; g++)
            {
                float groupLeft = Left + (g * groupWidth) + (groupWidth * 0.1f);
                for (int s = 0; s < Series.Count; s++)
                {
                    float x = groupLeft + (s * barWidth);
                    double? value = g < Series[s].Values.Count ? Series[s].Values[g] : null;
                    string text = value is double v ? v.ToString("F1", CultureInfo.InvariantCulture) : "-";
                    float barHeight = value is double h ? (float)(Math.Clamp(h, 0, 100) * PlotHeight / 100) : 0;
                    if (barHeight > 0)
                    {
                        chart.Fill(x + 1, baseline - barHeight, Math.Max(barWidth - 2, 1), barHeight, ColorOf(s));
                    }

                    int scale = PixelFont.MeasureWidth(text, 2) <= barWidth ? 2 : 1;
                    chart.CenteredText(text, x + (barWidth / 2), baseline - barHeight - ((PixelFont.CapHeight + 3) * scale), scale, Ink);
                }

                int groupScale = PixelFont.MeasureWidth(Groups[g], 2) <= groupWidth ? 2 : 1;
                string name = PixelFont.Fit(Groups[g], (int)groupWidth - 4, groupScale);
                chart.CenteredText(name, Left + (g * groupWidth) + (groupWidth / 2), baseline + 12, groupScale, Ink);
            }
        }

        // The legend: a swatch and the label, one series per row.
        for (int s = 0; s < Series.Count; s++)
        {
            int y = baseline + AxisLabels + (s * LegendRow);
            chart.Swatch(Left, y, ColorOf(s));
            chart.Text(PixelFont.Fit(Series[s].Label, Width - Left - 28 - Right, 2), Left + 26, y + 1, 2, Ink);
        }
    }
}
