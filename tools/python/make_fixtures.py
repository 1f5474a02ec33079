#!/usr/bin/python3
"""Regenerates the committed test fixtures and their PyTorch references.

    /usr/bin/python3 tools/python/make_fixtures.py            # rewrite models/fixtures/
    /usr/bin/python3 tools/python/make_fixtures.py --check    # regenerate into a temporary folder and
                                                        # compare with models/fixtures/

--check wants graphs, weights and images byte for byte, and PyTorch's outputs (references/) within
float rounding: they are byte-identical only on a CPU of the same vector extensions as the one that
wrote them (llavagen/fixtures.py says which tolerances).

Needs Debian's python3-torch, python3-onnx, python3-pil, python3-sentencepiece (models/README.md).
models/fixtures/llama-tokenizer/ and models/fixtures/photos/ are left as they are and not compared:
other scripts make them (models/README.md).
"""
import argparse
import os
import shutil
import sys
import tempfile

from llavagen import fixtures, paths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=paths.FIXTURES, help="where to write (default models/fixtures)")
    parser.add_argument("--check", action="store_true", help="regenerate elsewhere and compare with --out")
    args = parser.parse_args()
    if not args.check:
        if os.path.isdir(args.out):
            for name in os.listdir(args.out):
                path = os.path.join(args.out, name)
                if name in fixtures.KEPT:
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
        fixtures.generate(args.out)
        return 0
    scratch = tempfile.mkdtemp()
    try:
        fixtures.generate(scratch)
        rounded = fixtures.compare(args.out, scratch)
        problems = fixtures.differences(args.out, scratch)
    finally:
        shutil.rmtree(scratch)
    for path, why in problems:
        print(f"differs: {os.path.relpath(path)}: {why}")
    if problems:
        print(f"{len({p for p, _ in problems})} files differ")
        return 1
    print("fixtures regenerate: graphs, weights and images byte for byte; "
          + (f"{len(rounded)} PyTorch outputs within float rounding" if rounded else "PyTorch's outputs byte for byte too"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
