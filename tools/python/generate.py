#!/usr/bin/python3
"""Generates a LLaVA-architecture model with random weights, exports it, writes references and
checks the exported graphs with ONNX Runtime from .NET.

    /usr/bin/python3 tools/python/generate.py --preset tinyllava-v1              # full size, ~5.3 GB
    /usr/bin/python3 tools/python/generate.py --preset tinyllava-v1 --fp16
    /usr/bin/python3 tools/python/generate.py --preset tiny-336-gqa --set text.num_layers=4 --out /tmp/m

Presets: tiny-336-gqa, tiny-noproj-mha (the committed fixtures' shapes) and tinyllava-v1
(TinyLLaVA v1's exact shapes). --set overrides any field of the configuration
(llavagen/config.py), e.g. vision.image_size=224, text.num_kv_heads=8, projector=false.
The output folder (default models/generated/<name>[-fp16]/, which git ignores) is a model folder
(docs/spec/model-folder.md) with references/ beside the graphs. Unless --no-verify, it then runs
`dotnet run -c Release --project tools/GraphCheck -- <folder>`.
"""
import argparse
import dataclasses
import os
import resource
import shutil
import subprocess
import sys
import time

import torch

from llavagen import arch, config, export, paths, references, tokenizer


def folder_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", required=True, choices=sorted(config.PRESETS))
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a configuration field")
    parser.add_argument("--seed", type=int, help="weight seed (default: the preset's)")
    parser.add_argument("--fp16", action="store_true", help="float16 weights and float inputs/outputs")
    parser.add_argument("--out", help="output folder (default models/generated/<name>[-fp16])")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    parser.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime check from .NET")
    args = parser.parse_args()

    cfg = config.override(config.PRESETS[args.preset], args.set)
    if args.seed is not None:
        cfg = dataclasses.replace(cfg, seed=args.seed)
    out = args.out or os.path.join(paths.GENERATED, cfg.name + ("-fp16" if args.fp16 else ""))
    torch.set_num_threads(args.threads)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)

    timings = {}
    start = time.perf_counter()
    model = arch.build(cfg)
    if args.fp16:
        export.round_weights_to_float16(model)
    params = sum(p.numel() for p in model.parameters())
    timings["build"] = time.perf_counter() - start

    start = time.perf_counter()
    spm_model = tokenizer.train(tokenizer.VOCAB_SIZE)
    export.export_folder(model, cfg, out, spm_model, dtype="fp16" if args.fp16 else "fp32")
    timings["export"] = time.perf_counter() - start

    start = time.perf_counter()
    image_dir = paths.IMAGES
    ptok = tokenizer.PromptTokenizer(spm_model, cfg.prompt_template, cfg.bos_token_id)
    references.write(model, cfg, ptok, out, image_dir, None, seed=cfg.seed + 1, light=True, fp16=args.fp16)
    timings["references"] = time.perf_counter() - start
    del model

    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{cfg.name}: {params / 1e6:.1f} M parameters, {folder_size(out) / 2**30:.2f} GiB on disk in {os.path.relpath(out)}")
    print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()) + f"; peak memory {peak_gib:.1f} GiB")

    if args.no_verify:
        return 0
    if shutil.which("dotnet") is None:
        print("dotnet not found: verify later with  dotnet run -c Release --project tools/GraphCheck -- " + out)
        return 0
    start = time.perf_counter()
    result = subprocess.run(["dotnet", "run", "-c", "Release", "--project", paths.GRAPH_CHECK, "--", out])
    print(f"verify: {time.perf_counter() - start:.1f} s")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
