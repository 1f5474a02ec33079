using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttAnchor.OnnxRuntime;

namespace AttAnchor.FullSize;

/// <summary>
/// <c>run</c>: the benchmark's one command. Generates the full-size preset when its folder is absent, then runs
/// each <c>measure</c> in its own child process (so each peak working set is its own), in the order pytorch,
/// plain-ort, ours, and writes <c>benchmarks-fullsize.md</c>, <c>.json</c> and <c>.png</c>.
/// </summary>
internal static class FullRun
{
    public static async Task<int> RunAsync(RunArgs args)
    {
        string folder = args.Model is null ? Repo.DefaultModel : Repo.Resolve(args.Model);
        (int runs, int warmup, int threads) = (args.Runs, args.Warmup, args.Threads);
        string output = Repo.Resolve(args.Out);
        bool skipPytorch = args.SkipPytorch;
        (int sixRuns, int sixNewTokens) = (args.SixRuns, args.SixNewTokens);
        var notes = new List<string>();

        // The default full-size model is generated when absent. Our pipeline runs on its fused decoder (tools/python/fuse.py,
        // the "-fused" sibling) and the 4-bit rows on that folder's "-q4" sibling; both are made here too when absent.
        // Another --model must exist; its siblings are measured when they exist.
        bool isDefault = Path.GetFullPath(folder) == Path.GetFullPath(Repo.DefaultModel);
        if (!isDefault && !Directory.Exists(folder))
        {
            throw new ArgumentException($"{folder}: no such model folder");
        }

        string fused = folder + "-fused";
        string fourBit = fused + "-q4";
        if (isDefault
            && !(await DeriveAsync(folder, ["tools/python/generate.py", "--preset", "tinyllava-v1"], "full-size model (about 4 min)", notes)
                && await DeriveAsync(fused, ["tools/python/fuse.py", folder, fused], "fused decoder", notes)
                && await DeriveAsync(fourBit, ["tools/python/quantize.py", fused, fourBit, "--block-size", "128"], "4-bit (block 128) copy of the fused folder", notes)))
        {
            return 1;
        }

        string primary = Directory.Exists(fused) ? fused : folder;
        string runsText = runs.ToString(CultureInfo.InvariantCulture);
        string warmupText = warmup.ToString(CultureInfo.InvariantCulture);
        var lines = new List<JsonObject>();
        if (!skipPytorch)
        {
            await MeasureAsync("pytorch", ["--model", folder, "--runs", runsText, "--warmup", warmupText], lines, notes);
        }

        await MeasureAsync("plain-ort", ["--model", folder, "--runs", runsText, "--warmup", warmupText], lines, notes);
        string threadsText = threads.ToString(CultureInfo.InvariantCulture);
        await MeasureAsync("ours", ["--model", primary, "--runs", runsText, "--warmup", warmupText, "--threads", threadsText], lines, notes);
        if (primary != folder)
        {
            await MeasureAsync("ours", ["--model", folder, "--label", "exported graph", "--settings", "off", "--runs", runsText, "--warmup", warmupText, "--threads", threadsText], lines, notes);
        }

        if (Directory.Exists(fourBit))
        {
            await MeasureAsync("ours", ["--model", fourBit, "--label", "4-bit", "--settings", "off", "--runs", runsText, "--warmup", warmupText, "--threads", threadsText], lines, notes);
        }

        // Six questions about one image, from scratch and from one ImageSession, on ours' folder.
        var six = new List<JsonObject>();
        if (!args.SkipSix)
        {
            await MeasureAsync("six", ["--model", primary, "--runs", sixRuns.ToString(CultureInfo.InvariantCulture), "--warmup", warmupText, "--threads", threadsText, "--new-tokens", sixNewTokens.ToString(CultureInfo.InvariantCulture)], six, notes);
        }

        Directory.CreateDirectory(output);
        var rows = lines.Select(l => new Row(l)).ToList();
        string[] runArguments = [.. Environment.GetCommandLineArgs().SkipWhile(a => a != "run").Skip(1)];
        string command = "dotnet run -c Release --project benchmarks/AttAnchor.FullSize -- run" + (runArguments.Length == 0 ? string.Empty : " " + string.Join(' ', runArguments));
        string markdown = Markdown(rows, folder, runs, warmup, threads, command, notes);
        string sixSection = SixMeasure.Markdown(six, sixRuns, warmup);
        if (sixSection.Length > 0)
        {
            markdown += Environment.NewLine + sixSection;
        }

        await File.WriteAllTextAsync(Path.Combine(output, "benchmarks-fullsize.md"), markdown);
        var all = new JsonObject
        {
            ["command"] = command,
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["machine"] = Machine(),
            ["question"] = Repo.Question,
            ["image"] = "models/fixtures/images/square.png",
            ["systems"] = new JsonArray([.. lines.Select(l => l.DeepClone())]),
            ["six_questions"] = new JsonArray([.. six.Select(l => l.DeepClone())]),
        };
        await File.WriteAllTextAsync(Path.Combine(output, "benchmarks-fullsize.json"), all.ToJsonString(new JsonSerializerOptions(Repo.Json) { WriteIndented = true }));
        StageChart.Save(rows, Path.Combine(output, "benchmarks-fullsize.png"), $"{Path.GetFileName(folder)}: median stages, {runs} run{(runs == 1 ? string.Empty : "s")}, greedy, {Repo.NewTokens} new tokens");
        if (six.Count > 0)
        {
            SixChart.Save(six, Path.Combine(output, SixMeasure.ChartFile), $"{Path.GetFileName((string?)six[0]["model"])}: six questions about one image, {sixRuns} run{(sixRuns == 1 ? string.Empty : "s")}, greedy, {sixNewTokens} new tokens");
        }

        Console.WriteLine(markdown);
        Console.Error.WriteLine($"wrote {output}/benchmarks-fullsize.md, .json and .png");
        return rows.Count > 0 ? 0 : 1;
    }

    /// <summary>Makes a derived model folder with a models/ script when it is absent; false when the script failed.</summary>
    private static async Task<bool> DeriveAsync(string target, string[] script, string what, List<string> notes)
    {
        if (Directory.Exists(target))
        {
            return true;
        }

        string command = $"/usr/bin/python3 {string.Join(' ', script.Select(a => Path.IsPathRooted(a) ? Path.GetRelativePath(Repo.Root, a) : a))}";
        Console.Error.WriteLine($"{target} is absent: making the {what} with {command}");
        long start = Stopwatch.GetTimestamp();
        int code = await ChildAsync("/usr/bin/python3", script, null);
        if (code != 0)
        {
            Console.Error.WriteLine($"{script[0]} failed (exit {code})");
            return false;
        }

        string note = string.Create(CultureInfo.InvariantCulture, $"`{Path.GetRelativePath(Repo.Root, target)}` was absent: the {what} was made first (`{command}`, {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s).");
        Console.Error.WriteLine(note);
        notes.Add(note);
        return true;
    }

    /// <summary>Runs <c>measure <paramref name="system"/></c> as a child process of this same program and collects its JSON lines.</summary>
    private static async Task MeasureAsync(string system, string[] arguments, List<JsonObject> lines, List<string> notes)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var prefix = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            prefix.Add(Assembly.GetExecutingAssembly().Location);   // run as `dotnet AttAnchor.FullSize.dll`
        }

        Console.Error.WriteLine($"measure {system} …");
        var output = new StringBuilder();
        long start = Stopwatch.GetTimestamp();
        int code = await ChildAsync(self, [.. prefix, "measure", system, .. arguments], output);
        Console.Error.WriteLine($"measure {system}: exit {code} after {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s");
        int before = lines.Count;
        foreach (string line in output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('{'))
            {
                try
                {
                    if (JsonNode.Parse(line) is JsonObject json)
                    {
                        lines.Add(json);
                    }
                }
                catch (JsonException e)
                {
                    Console.Error.WriteLine($"measure {system}: not JSON ({e.Message}): {line}");
                }
            }
        }

        if (code != 0 || lines.Count == before)
        {
            notes.Add($"`measure {system}` failed (exit {code}, {lines.Count - before} results); see its stderr.");
        }
    }

    /// <summary>Runs a child process in the repository root; its stderr goes to ours, its stdout to <paramref name="output"/> (or ours).</summary>
    private static async Task<int> ChildAsync(string file, IEnumerable<string> arguments, StringBuilder? output)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Repo.Root, RedirectStandardOutput = output is not null };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        if (output is not null)
        {
            output.Append(await child.StandardOutput.ReadToEndAsync());
        }

        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    private static string Markdown(List<Row> rows, string folder, int runs, int warmup, int threads, string command, List<string> notes)
    {
        var md = new StringBuilder();
        void Line(FormattableString text) => md.AppendLine(text.ToString(CultureInfo.InvariantCulture));
        string model = Path.GetRelativePath(Repo.Root, folder);
        Line($"## The pipeline at full size: ours, a plain ONNX Runtime loop and PyTorch eager");
        Line($"");
        string shapes = File.Exists(Path.Combine(folder, ModelConfig.FileName)) ? ModelConfig.Load(folder).Describe() : "?";
        Line($"`{model}` ({shapes}; \"ours\" runs its decoder as rebuilt by `tools/python/fuse.py` when the folder has a `-fused` sibling, \"ours (exported graph)\" the exported decoder, \"ours (4-bit)\" the fused folder after `tools/python/quantize.py --block-size 128`), `models/fixtures/images/square.png` and \"{Repo.Question}\", greedy, {Repo.NewTokens} new tokens, CPU. Each system runs in its own process ({runs} measured run{(runs == 1 ? string.Empty : "s")} after {warmup} warm-up; PyTorch as its script does); ours interleaves its three settings run by run.");
        Line($"");
        JsonObject machine = Machine();
        Line($"- Machine: {machine["cpu"]}, {machine["cores"]} cores, {machine["memory_gib"]} GiB memory, {RuntimeInformation.OSDescription}.");
        Line($"- Date: {DateTime.UtcNow:yyyy-MM-dd}.");
        Line($"- Command: `{command}`.");
        Line($"- Versions: {Versions(rows)}.");
        Row? pytorch = rows.FirstOrDefault(r => r.System.StartsWith("pytorch", StringComparison.Ordinal));
        string torchThreads = pytorch is null ? "not run" : $"{pytorch.Json["threads"]?.ToString() ?? "?"} (`torch.set_num_threads`)";
        Line($"- Threads: ours {threads} intra-op threads; plain-ort ONNX Runtime's default session options; PyTorch {torchThreads}.");
        foreach (string note in notes)
        {
            Line($"- {note}");
        }

        Line($"");
        Line($"| system | L | preprocess | vision | projector | AttAnchor | prefill | decode / token | total | peak working set |");
        Line($"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (Row row in rows)
        {
            string name = row.DisplayName;
            string anchor = row.System == "ours" ? Cell(row, "anchor_ms") : "—";   // only ours has an AttAnchor stage
            Line($"| {name} | {row.Positions} | {Cell(row, "preprocess_ms")} | {Cell(row, "vision_ms")} | {Cell(row, "projector_ms")} | {anchor} | {Cell(row, "prefill_ms")} | {Cell(row, "decode_ms_per_token")} | {Cell(row, "total_ms")} | {Bytes(row.PeakWorkingSet)} |");
        }

        Line($"");
        Line($"Milliseconds, median (min–max) over the runs. L: the prefill positions. \"AttAnchor\": the planning stage (similarities, plan and the regrouped sequence; with anchoring off only the sequence). Decode / token: one decode step. Total: from the call to the last token. Peak working set: the process's, at its end (ours: one process for its three settings).");
        Line($"");

        Row? off = rows.FirstOrDefault(r => r.IsOursOff);
        Row? plain = rows.FirstOrDefault(r => r.System == "plain-ort");
        Row? torch = rows.FirstOrDefault(r => r.System.StartsWith("pytorch", StringComparison.Ordinal));
        if (off is not null)
        {
            Line($"What the targets need:");
            Line($"");
            foreach (Row? peer in new[] { plain, torch })
            {
                if (peer is null)
                {
                    continue;
                }

                Line($"- Decode, ours (off) against {peer.Name}: {Ms(off.Median("decode_ms_per_token"))} against {Ms(peer.Median("decode_ms_per_token"))} ms/token, **{Ratio(peer.Median("decode_ms_per_token"), off.Median("decode_ms_per_token"))} faster**; prefill {Ms(off.Median("prefill_ms"))} against {Ms(peer.Median("prefill_ms"))} ms ({Ratio(peer.Median("prefill_ms"), off.Median("prefill_ms"))}); total {Ms(off.Median("total_ms"))} against {Ms(peer.Median("total_ms"))} ms ({Ratio(peer.Median("total_ms"), off.Median("total_ms"))}).");
            }

            foreach (Row on in rows.Where(r => r.IsOursAnchored))
            {
                double[] shares = [.. on.Runs.Select(r => (double?)r?["anchor_ms"] / (double?)r?["total_ms"] ?? double.NaN).Where(double.IsFinite).Order()];
                double planning = on.Median("anchor_ms");
                double extraPrefill = on.Median("prefill_ms") - off.Median("prefill_ms");
                int extra = on.Positions - off.Positions;
                Line($"- AttAnchor {on.Setting}: planning {Ms(planning)} ms (off: {Ms(off.Median("anchor_ms"))} ms), **{Stats.Median(shares) * 100:F2} %** of the end-to-end time; the {extra} extra prefill position{(extra == 1 ? string.Empty : "s")} ({off.Positions} → {on.Positions}) cost {Ms(extraPrefill)} ms of prefill (median prefill with it − without it; {(extra > 0 ? $"{extraPrefill / extra:F2} ms a position" : "no extra positions")}); total {Ms(on.Median("total_ms") - off.Median("total_ms"))} ms over off.");
            }

            foreach (Row variant in rows.Where(r => r.System.StartsWith("ours (", StringComparison.Ordinal)))
            {
                Line($"- {variant.Name}: decode {Ms(variant.Median("decode_ms_per_token"))} ms/token, prefill {Ms(variant.Median("prefill_ms"))} ms, total {Ms(variant.Median("total_ms"))} ms (ours off: {Ms(off.Median("decode_ms_per_token"))}, {Ms(off.Median("prefill_ms"))}, {Ms(off.Median("total_ms"))}).");
            }

            foreach (Row row in rows.Where(r => r.DecoderBytes > 0 && (r.IsOursOff || r.System.StartsWith("ours (", StringComparison.Ordinal))))
            {
                double gbPerSecond = row.DecoderBytes / (row.Median("decode_ms_per_token") / 1000) / 1e9;
                Line($"- {row.Name}: the decoder's weights are {row.DecoderBytes / 1e9:F2} GB on disk, read once a step: {gbPerSecond:F1} GB/s effective at the median decode step.");
            }

            Line($"- Greedy tokens: {Agreement(off, plain, torch)}");
            Line($"");
        }

        Line($"![Median stages per system](benchmarks-fullsize.png)");
        return md.ToString();
    }

    private static string Agreement(Row off, Row? plain, Row? torch)
    {
        int[] ours = off.Tokens.Count > 0 ? off.Tokens[0] : [];
        var parts = new List<string>();
        foreach (Row? peer in new[] { plain, torch })
        {
            if (peer is null || peer.Tokens.Count == 0)
            {
                continue;
            }

            int[] theirs = peer.Tokens[0];
            int common = Math.Min(ours.Length, theirs.Length);
            if (theirs.AsSpan().SequenceEqual(ours))
            {
                parts.Add($"{peer.Name} = ours (off)");
            }
            else if (theirs.AsSpan(0, common).SequenceEqual(ours.AsSpan(0, common)))
            {
                // One side stopped at EOS and the other went on: the same tokens as far as both go.
                parts.Add($"{peer.Name} = ours (off) for the first {common} tokens ({theirs.Length} against {ours.Length}: one stopped at EOS)");
            }
            else
            {
                int at = 0;
                while (at < ours.Length && at < theirs.Length && ours[at] == theirs[at])
                {
                    at++;
                }

                parts.Add($"{peer.Name} ≠ ours (off) from token {at} ([{string.Join(", ", theirs)}] against [{string.Join(", ", ours)}])");
            }
        }

        var unstable = new[] { off, plain, torch }.Where(r => r is not null && r.Tokens.Distinct(new TokenComparer()).Count() > 1).Select(r => r!.Name).ToList();
        string same = unstable.Count == 0 ? "every run of each system gave the same tokens" : $"runs differ within {string.Join(", ", unstable)}";
        return $"{string.Join("; ", parts)} ({ours.Length} tokens: [{string.Join(", ", ours)}]; {same}).";
    }

    private static string Versions(List<Row> rows)
    {
        var versions = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["dotnet"] = RuntimeInformation.FrameworkDescription };
        foreach (Row row in rows)
        {
            if (row.Json["versions"] is JsonObject object_)
            {
                foreach (var (key, value) in object_)
                {
                    versions[key] = value?.ToString() ?? "?";
                }
            }

            foreach (string key in new[] { "torch", "torch_version", "blas", "openblas", "python" })
            {
                if (row.Json[key] is JsonValue v)
                {
                    versions[key.Replace("_version", string.Empty, StringComparison.Ordinal)] = v.ToString();
                }
            }
        }

        return string.Join(", ", versions.Select(p => $"{p.Key} {p.Value}"));
    }

    private static JsonObject Machine()
    {
        string cpu = "unknown CPU";
        double memory = double.NaN;
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            string? total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (total is not null)
            {
                memory = long.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
            }
        }
        catch (IOException)
        {
        }

        return new JsonObject
        {
            ["cpu"] = cpu,
            ["cores"] = Environment.ProcessorCount,
            ["memory_gib"] = Math.Round(memory, 1),
            ["os"] = RuntimeInformation.OSDescription,
        };
    }

    private static string Cell(Row row, string key)
    {
        double[] values = row.Values(key);
        return values.Length == 0 ? "—" : $"{Ms(Stats.Median(values))} ({Ms(values[0])}–{Ms(values[^1])})";
    }

    private static string Ms(double ms) => double.IsNaN(ms) ? "—"
        : Math.Abs(ms) < 10 ? ms.ToString("F2", CultureInfo.InvariantCulture)
        : Math.Abs(ms) < 100 ? ms.ToString("F1", CultureInfo.InvariantCulture)
        : ms.ToString("F0", CultureInfo.InvariantCulture);

    private static string Ratio(double theirs, double ours) => double.IsFinite(theirs / ours) ? $"{theirs / ours:F2}x" : "—";

    private static string Bytes(long? bytes) => bytes is not { } b ? "—"
        : b >= 1L << 30 ? string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 30):F2} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 20):F0} MiB");

    private sealed class TokenComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] obj) => obj.Length == 0 ? 0 : HashCode.Combine(obj.Length, obj[0], obj[^1]);
    }
}
