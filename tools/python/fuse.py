#!/usr/bin/python3
"""Rewrites a model folder's decoder as a fused graph for ONNX Runtime's CPU provider.

    /usr/bin/python3 tools/python/fuse.py SRC_DIR OUT_DIR

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
quantise: `tools/python/quantize.py OUT_DIR OUT_DIR-q4`.
"""
import argparse
import os
import sys
import time

from llavagen import fuse


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
    for need in (fuse.DECODER, "attanchor.json"):
        if not os.path.isfile(os.path.join(src, need)):
            ap.error(f"{a.src}: no {need}; SRC_DIR must be a model folder")
    t0 = time.time()
    try:
        s, dropped = fuse.fuse_folder(src, out, a.attention, link=not a.copy)
    except fuse.FuseError as e:
        print(f"fuse.py: {e}", file=sys.stderr)
        return 2
    size = sum(os.path.getsize(os.path.join(out, f)) for f in (fuse.DECODER, fuse.DECODER + ".data")
               if os.path.exists(os.path.join(out, f)))
    print(f"{a.src} -> {a.out}: {fuse.DECODER} fused: {s['layers']} layers, {s['nodes']} nodes, "
          f"{size / 1e6:.1f} MB{' (external data)' if s['external'] else ''}, {time.time() - t0:.1f} s")
    for name in dropped:
        print(f"  references: left out '{name}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
