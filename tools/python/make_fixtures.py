#!/usr/bin/python3
"""Regenerates the committed test fixtures and their PyTorch references.

    /usr/bin/python3 models/make_fixtures.py            # rewrite models/fixtures/
    /usr/bin/python3 models/make_fixtures.py --check    # regenerate into a temporary folder and
                                                        # compare byte for byte with models/fixtures/

Needs Debian's python3-torch, python3-onnx, python3-pil, python3-sentencepiece (models/README.md).
models/fixtures/llama-tokenizer/ and models/fixtures/photos/ are left as they are and not compared:
other scripts make them (models/README.md).
"""
import argparse
import dataclasses
import filecmp
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from llavagen import arch, config, export, parity, paths, references, testimages, tokenizer  # noqa: E402
from fuse import main as fuse_main  # noqa: E402

# Fixture folders that other scripts make (models/llama_tokenizer.py and llama_tokenizer_reference.py, from
# an npm package; make_photos.py and make_photo_references.py, from Debian's photographs): this script
# neither deletes nor compares them.
KEPT = ("llama-tokenizer", "photos")


def generate(root):
    torch.set_num_threads(1)             # one thread: the same bits on any core count
    image_dir = os.path.join(root, "images")
    names = testimages.make(image_dir)
    cases = parity.write(os.path.join(root, "regroup-parity.json"))
    print(f"regroup-parity.json: {cases} cases, PyTorch's training rule equal to NumPy's on every one")
    spm_model = tokenizer.train(tokenizer.VOCAB_SIZE)
    for cfg in config.FIXTURES:
        folder = os.path.join(root, cfg.name)
        model = arch.build(cfg)
        export.export_folder(model, cfg, folder, spm_model)
        ptok = tokenizer.PromptTokenizer(spm_model, cfg.prompt_template, cfg.bos_token_id)
        references.write(model, cfg, ptok, folder, image_dir, names, seed=cfg.seed + 1)
        print(f"{cfg.name}: written to {os.path.relpath(folder)}")
        if cfg in config.FP16_FIXTURES:
            # The same weights rounded to float16, exported with float16 weights, inputs and
            # outputs; its references are the graph checks, plans and token ids (no greedy runs).
            half = dataclasses.replace(cfg, name=cfg.name + "-fp16")
            export.round_weights_to_float16(model)
            folder = os.path.join(root, half.name)
            export.export_folder(model, half, folder, spm_model, dtype="fp16")
            references.write(model, half, ptok, folder, image_dir, names, seed=cfg.seed + 1, light=True, fp16=True)
            print(f"{half.name}: written to {os.path.relpath(folder)}")
        if cfg in config.FUSED_FIXTURES:
            # The same folder with its decoder rebuilt by models/fuse.py (GroupQueryAttention &c.);
            # every reference but the graph check it cannot take (left padding) still holds.
            # "-fused-matmul": the same with the attention in standard operators; it takes every reference.
            for suffix, attention in (("-fused", "gqa"), ("-fused-matmul", "matmul")):
                fused = os.path.join(root, cfg.name + suffix)
                fuse_folder(os.path.join(root, cfg.name), fused, attention)
                print(f"{cfg.name}{suffix}: written to {os.path.relpath(fused)}")


def fuse_folder(src, out, attention):
    """models/fuse.py SRC OUT, with real copies (the fixtures are committed files, not links)."""
    if fuse_main([src, out, "--copy", "--attention", attention]) != 0:
        raise RuntimeError(f"models/fuse.py failed on {src}")


def compare(a, b, top=True):
    diff = filecmp.dircmp(a, b, ignore=filecmp.DEFAULT_IGNORES + (list(KEPT) if top else []))
    problems = [os.path.join(a, n) for n in diff.left_only + diff.right_only + diff.funny_files]
    _, mismatch, errors = filecmp.cmpfiles(a, b, diff.common_files, shallow=False)
    problems += [os.path.join(a, n) for n in mismatch + errors]
    for sub in diff.common_dirs:
        problems += compare(os.path.join(a, sub), os.path.join(b, sub), top=False)
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=paths.FIXTURES, help="where to write (default models/fixtures)")
    parser.add_argument("--check", action="store_true", help="regenerate elsewhere and compare with --out byte for byte")
    args = parser.parse_args()
    if not args.check:
        if os.path.isdir(args.out):
            for name in os.listdir(args.out):
                path = os.path.join(args.out, name)
                if name in KEPT:
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
        generate(args.out)
        return 0
    scratch = tempfile.mkdtemp()
    try:
        generate(scratch)
        problems = compare(args.out, scratch)
    finally:
        shutil.rmtree(scratch)
    for p in problems:
        print(f"differs: {os.path.relpath(p)}")
    print("fixtures regenerate byte-identically" if not problems else f"{len(problems)} files differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
