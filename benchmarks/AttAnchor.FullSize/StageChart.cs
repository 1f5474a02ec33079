using System.Globalization;
using SkiaSharp;

namespace AttAnchor.FullSize;

/// <summary>The PNG beside the table: one horizontal bar per system and setting, its median stages stacked left to right.</summary>
internal static class StageChart
{
    private const int Right = 150;          // room for the total after the longest bar
    private const int RowHeight = 44;
    private const int BarHeight = 28;

    private static readonly SKColor[] Colors =
    [
        new(0x8d, 0xa0, 0xcb), // preprocess
        new(0x66, 0xc2, 0xa5), // vision
        new(0xa6, 0xd8, 0x54), // projector
        new(0xe5, 0xc4, 0x94), // embed
        new(0xe7, 0x8a, 0xc3), // AttAnchor
        new(0xfc, 0x8d, 0x62), // prefill
        new(0x4f, 0x6d, 0xaa), // decode
    ];

    public static void Save(IReadOnlyList<Row> rows, string path, string title)
    {
        string[] labels = [.. Row.Stages.Select(s => s.Label), "decode (all steps)"];
        double[][] segments = [.. rows.Select(Segments)];
        using var chart = new ChartFrame(title, [.. labels.Zip(Colors)], rows.Count, RowHeight, Right, segments.Select(s => s.Sum()).DefaultIfEmpty(1).Max());
        chart.DrawAxis(tick => Label(tick, chart.Axis), chart.Axis >= 10_000 ? "seconds" : "milliseconds");

        for (int r = 0; r < rows.Count; r++)
        {
            float y = ChartFrame.Top + (r * RowHeight) + ((RowHeight - BarHeight) / 2f);
            chart.DrawRowName(rows[r].DisplayName, y + 7);
            float at = ChartFrame.Left;
            for (int s = 0; s < segments[r].Length; s++)
            {
                float w = chart.Scaled(segments[r][s]);
                chart.Canvas.Fill(at, y, w, BarHeight, Colors[s]);
                at += w;
            }

            chart.Canvas.Text(Label(segments[r].Sum(), chart.Axis), at + 8, y + 7, ChartFrame.Scale, ChartFrame.Ink);
        }

        chart.Save(path);
    }

    /// <summary>The median of each stage, then the decode steps in all (ms per token × steps); absent stages are 0.</summary>
    private static double[] Segments(Row row) =>
        [.. Row.Stages.Select(s => row.Median(s.Key)).Append(row.DecodeTotal).Select(v => double.IsFinite(v) && v > 0 ? v : 0)];

    private static string Label(double ms, double axis) => axis >= 10_000
        ? (ms / 1000).ToString(ms % 1000 == 0 ? "F0" : "F1", CultureInfo.InvariantCulture) + (ms == 0 ? string.Empty : " s")
        : ms.ToString(ms < 10 ? "0.##" : "F0", CultureInfo.InvariantCulture);
}
