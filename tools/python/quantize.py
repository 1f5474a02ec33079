#!/usr/bin/python3
"""Weight-only quantisation of a model folder to ONNX Runtime's MatMulNBits.

    /usr/bin/python3 tools/python/quantize.py SRC_DIR OUT_DIR [--bits 4|8] [--block-size 32]
                                              [--symmetric] [--accuracy-level 4] [--vision] [--check]

Copies the model folder SRC_DIR to OUT_DIR (hard links where it can, copies otherwise; the
references stay the fp32 ones) and rewrites decoder_model_merged.onnx (and, with --vision,
vision_encoder.onnx): every MatMul whose second input is a constant 2-D float32 initializer
[K, N] with K a multiple of the block size becomes a com.microsoft MatMulNBits node; the others
are listed and left alone. A rewritten graph over 1 GiB keeps its weights in <name>.onnx.data.
--check dequantises every packed tensor back with NumPy, checks it equals the intended weights
exactly and prints the relative weight error. Format and choices: models/README.md,
"Weight-only quantisation", and llavagen/quantize.py.
"""
import argparse
import os
import sys
import time

from llavagen import quantize
from llavagen.onnxio import copy_folder

DECODER = "decoder_model_merged.onnx"
VISION = "vision_encoder.onnx"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--bits", type=int, choices=(4, 8), default=4)
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--symmetric", action="store_true",
                    help="no zero points (default: asymmetric, a uint8 zero point per block)")
    ap.add_argument("--accuracy-level", type=int, default=4, choices=(0, 1, 2, 3, 4),
                    help="MatMulNBits accuracy_level (4: int8 compute on the CPU; 0: leave unset)")
    ap.add_argument("--vision", action="store_true", help="also rewrite vision_encoder.onnx")
    ap.add_argument("--check", action="store_true",
                    help="dequantise back with NumPy: exact check and relative weight error")
    ap.add_argument("--fake-quant", action="store_true",
                    help="write the dequantised weights as plain float MatMuls (verification)")
    a = ap.parse_args(argv)
    bs = a.block_size
    if bs < 16 or bs & (bs - 1):
        ap.error("--block-size must be a power of 2 and >= 16")
    src, out = os.path.abspath(a.src), os.path.abspath(a.out)
    if src == out:
        ap.error("OUT_DIR must differ from SRC_DIR")
    if not os.path.isfile(os.path.join(src, DECODER)):
        ap.error(f"{a.src}: no {DECODER}")
    if a.check:
        quantize.check_packing()
    graphs = [DECODER] + ([VISION] if a.vision else [])
    os.makedirs(out, exist_ok=True)
    copy_folder(src, out, graphs)
    fmt = ("fake-quant (float MatMuls), " if a.fake_quant else "") + (f"{a.bits}-bit, block {bs}, {'symmetric' if a.symmetric else 'asymmetric'}, "
           f"accuracy_level {a.accuracy_level or 'unset'}")
    print(f"{a.src} -> {a.out}: {fmt}")
    for g in graphs:
        t0 = time.time()
        s = quantize.quantize_graph(os.path.join(src, g), os.path.join(out, g), bits=a.bits,
                                    block_size=bs, symmetric=a.symmetric,
                                    accuracy_level=a.accuracy_level, check=a.check,
                                    fake=a.fake_quant)
        size = sum(os.path.getsize(os.path.join(out, f)) for f in (g, g + ".data")
                   if os.path.exists(os.path.join(out, f)))
        print(f"  {g}: {s['quantized']} MatMuls ({s['params'] / 1e6:.1f} M weights) -> "
              f"{'dequantised MatMul' if a.fake_quant else 'MatMulNBits'}, {size / 1e6:.1f} MB{' (external data)' if s['external'] else ''}, "
              f"{time.time() - t0:.1f} s")
        for name, dims, why in s["skipped"]:
            print(f"    skipped {name} {dims}: {why}")
        if "rel_error" in s:
            print(f"    check: packed tensors dequantise exactly to the intended weights; relative "
                  f"weight error {s['rel_error']:.4f} (worst {s['worst'][0]}: {s['worst'][1]:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
