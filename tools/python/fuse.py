#!/usr/bin/python3
"""Rewrites a model folder's decoder as a fused graph for ONNX Runtime's CPU provider.

    /usr/bin/python3 models/fuse.py SRC_DIR OUT_DIR

Copies the model folder SRC_DIR to OUT_DIR (hard links where it can, copies otherwise) and writes
OUT_DIR/decoder_model_merged.onnx rebuilt from SRC_DIR's float32 decoder: fused Q/K/V and
gate/up projections, GroupQueryAttention with rotary embedding (no per-step copy of the cache to
all heads), skip-add RMS norms and logits for the kept positions only (llavagen/fuse.py says
exactly what). The vision encoder, projector and embeddings are unchanged. The result still meets
the model-folder spec, without `position_ids` (positions come from the cache), for one row with a
mask of ones, which is how the library runs it. GroupQueryAttention has no float32 CUDA kernel:
the fused folder is for the CPU; keep the exported one for CUDA.

It also rewrites references/checks.json so that GraphCheck compares the fused decoder with the same
PyTorch references: the cases it can take, without their position_ids input. Fuse first, then
quantise: `models/quantize.py OUT_DIR OUT_DIR-q4`.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from llavagen import fuse, npyio  # noqa: E402
from llavagen.onnxio import copy_folder  # noqa: E402

DECODER = "decoder_model_merged.onnx"
CHECKS = os.path.join("references", "checks.json")


def fused_checks(src_checks, dst_checks, keep_positions=False):
    """GroupQueryAttention: the decoder cases the fused graph can take (a mask of ones), without
    position_ids; every other case as it was. keep_positions (the matmul attention): every case as it
    was. Returns the names of the cases left out."""
    with open(src_checks, encoding="utf-8") as f:
        doc = json.load(f)
    base = os.path.dirname(src_checks)

    kept, dropped = [], []
    for case in doc["cases"]:
        if case["graph"] != DECODER:
            kept.append(case)
            continue
        if keep_positions:
            kept.append(case)
            continue
        mask = npyio.load(os.path.join(base, case["inputs"]["attention_mask"]["file"]))
        if not mask.all():
            dropped.append(case["name"] + " (padding: GroupQueryAttention takes a mask of ones)")
            continue
        case = dict(case, inputs={k: v for k, v in case["inputs"].items() if k != "position_ids"})
        kept.append(case)
    doc["cases"] = kept
    if os.path.lexists(dst_checks):
        os.unlink(dst_checks)  # a hard link to the source folder's file: replace it, never write through
    with open(dst_checks, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return dropped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--copy", action="store_true", help="copy the unchanged files instead of hard-linking them")
    ap.add_argument("--attention", choices=fuse.ATTENTION, default="gqa",
                    help="gqa: com.microsoft GroupQueryAttention; matmul: grouped attention in standard operators")
    a = ap.parse_args(argv)
    src, out = os.path.abspath(a.src), os.path.abspath(a.out)
    if src == out:
        ap.error("OUT_DIR must differ from SRC_DIR")
    for need in (DECODER, "attanchor.json"):
        if not os.path.isfile(os.path.join(src, need)):
            ap.error(f"{a.src}: no {need}; SRC_DIR must be a model folder")
    with open(os.path.join(src, "attanchor.json"), encoding="utf-8") as f:
        config = json.load(f)
    os.makedirs(out, exist_ok=True)
    copy_folder(src, out, [DECODER], link=not a.copy)
    t0 = time.time()
    try:
        s = fuse.fuse_decoder(os.path.join(src, DECODER), os.path.join(out, DECODER), config, attention=a.attention)
    except fuse.FuseError as e:
        print(f"fuse.py: {e}", file=sys.stderr)
        return 2
    size = sum(os.path.getsize(os.path.join(out, f)) for f in (DECODER, DECODER + ".data")
               if os.path.exists(os.path.join(out, f)))
    print(f"{a.src} -> {a.out}: {DECODER} fused: {s['layers']} layers, {s['nodes']} nodes, "
          f"{size / 1e6:.1f} MB{' (external data)' if s['external'] else ''}, {time.time() - t0:.1f} s")
    checks = os.path.join(src, CHECKS)
    if os.path.isfile(checks):
        for name in fused_checks(checks, os.path.join(out, CHECKS), keep_positions=a.attention == "matmul"):
            print(f"  references: left out '{name}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
