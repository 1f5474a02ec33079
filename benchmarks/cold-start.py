#!/usr/bin/env python3
"""Cold one-shot runs of the published console (tools/AttAnchor.Vqa), one process per answer.

Publishes the console in each variant, then runs every variant once per round, rounds interleaved and the
order rotated each round, and prints medians of: process wall time (start to exit), the model's open time,
the answer's total and its AttAnchor stage (from --json's timings_ms), and the stage's share of the total;
with and without AttAnchor (--no-anchor). See docs/benchmarks.md, "Cold start".

    python3 benchmarks/cold-start.py                      # jit, r2r and the runtime-setting variants, 9 rounds
    python3 benchmarks/cold-start.py --before HEAD~3      # adds "before": the console at that commit, default build
    python3 benchmarks/cold-start.py --before old=v0.1 --before new=HEAD~1
    python3 benchmarks/cold-start.py --variants jit,r2r,aot --runs 11
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = "tools/AttAnchor.Vqa"
IMAGE = "models/shapes/example.png"
MODEL = "models/shapes/attanchor"
QUESTION = "What color is the circle?"

# name -> (publish arguments, environment of each run); variants with the same publish arguments share one folder
# (the console's csproj publishes with Native AOT; the other variants turn it off)
PUBLISH = {
    "jit": ["-p:PublishAot=false"],
    "r2r": ["-p:PublishAot=false", "-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true"],
    "aot": ["-p:PublishAot=true"],
}
VARIANTS = {
    "jit": ("jit", {}),
    "jit-pgo-off": ("jit", {"DOTNET_TieredPGO": "0"}),
    "jit-loops-opt": ("jit", {"DOTNET_TC_QuickJitForLoops": "0"}),
    "jit-tc-off": ("jit", {"DOTNET_TieredCompilation": "0"}),
    "r2r": ("r2r", {}),
    "r2r-pgo-off": ("r2r", {"DOTNET_TieredPGO": "0"}),
    "aot": ("aot", {}),
}


def cpu():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile"]
    shown = " ".join(f"{w}:{'yes' if w in flags else 'no'}" for w in wanted)
    return f"{model}, {os.cpu_count()} logical cores; {shown}"


def publish(source, kind, out):
    args = ["dotnet", "publish", "-c", "Release", os.path.join(source, PROJECT), "-o", out, "--nologo", "-v", "q"] + PUBLISH[kind]
    print(f"publishing {kind} from {source} -> {out}", file=sys.stderr)
    done = subprocess.run(args, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout[-4000:]}")


def checkout(rev, into):
    """The console's sources at a commit, without a worktree: git archive of what the build needs."""
    paths = ["src", "tools", "Directory.Build.props", "Directory.Packages.props", "global.json"]
    paths += [p for p in ["NuGet.config", "nuget.config"] if os.path.exists(os.path.join(ROOT, p))]
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "--"] + paths, check=True, stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)


def run_once(folder, env, anchor):
    exe = os.path.join(folder, "AttAnchor.Vqa")
    args = [exe, "--model", MODEL, "--image", IMAGE, "--question", QUESTION, "--device", "cpu", "--json"]
    if not anchor:
        args.append("--no-anchor")
    start = time.perf_counter_ns()
    done = subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    wall = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != 0:
        raise RuntimeError(f"{exe} exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    t = json.loads(done.stdout)["timings_ms"]
    return {"wall": wall, "open": t["model_open"], "total": t["total"], "anchor": t["anchor"], "share": 100 * t["anchor"] / t["total"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="rounds; every variant runs once per round (default 9)")
    parser.add_argument("--variants", default="jit,jit-pgo-off,jit-loops-opt,r2r", help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--before", metavar="[NAME=]REV", action="append", default=[],
                        help="also measure the default build of the console at this commit, as NAME (default 'before'); repeatable")
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "attanchor-cold-start"), help="where the publishes go")
    parser.add_argument("--no-publish", action="store_true", help="reuse the folders under --out")
    args = parser.parse_args()

    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    plan = {v: (os.path.join(args.out, VARIANTS[v][0]), VARIANTS[v][1]) for v in names}
    revisions = dict(b.split("=", 1) if "=" in b else ("before", b) for b in args.before)
    plan = {**{name: (os.path.join(args.out, name), {}) for name in revisions}, **plan}

    if not args.no_publish:
        os.makedirs(args.out, exist_ok=True)
        for kind in sorted({VARIANTS[v][0] for v in names}):
            publish(ROOT, kind, os.path.join(args.out, kind))
        for name, rev in revisions.items():
            with tempfile.TemporaryDirectory(prefix="attanchor-before-") as source:
                checkout(rev, source)
                shutil.rmtree(os.path.join(args.out, name), ignore_errors=True)
                publish(source, "jit", os.path.join(args.out, name))

    print(f"CPU: {cpu()}")
    print(f"dotnet {subprocess.run(['dotnet', '--version'], stdout=subprocess.PIPE, text=True, check=False).stdout.strip()}; "
          f"{args.runs} rounds, variants interleaved, order rotated each round; ms, medians")
    cases = [(v, anchor) for v in plan for anchor in (True, False)]
    samples = {c: [] for c in cases}
    for _ in range(2):  # unmeasured: page cache and disk
        for v, anchor in cases:
            run_once(plan[v][0], plan[v][1], anchor)
    for r in range(args.runs):
        for k in range(len(cases)):
            v, anchor = cases[(k + r) % len(cases)]
            samples[(v, anchor)].append(run_once(plan[v][0], plan[v][1], anchor))
        print(f"round {r + 1}/{args.runs} done", file=sys.stderr)

    print(f"{'variant':<16}{'anchor':>8}{'wall':>9}{'open':>9}{'answer':>9}{'AttAnchor':>11}{'share':>9}")
    for v, anchor in cases:
        s = samples[(v, anchor)]
        m = {key: statistics.median(x[key] for x in s) for key in s[0]}
        print(f"{v:<16}{'on' if anchor else 'off':>8}{m['wall']:>9.0f}{m['open']:>9.0f}{m['total']:>9.1f}{m['anchor']:>11.2f}{m['share']:>8.1f}%")


if __name__ == "__main__":
    main()
