#!/usr/bin/python3
"""Writes models/fixtures/photos/references.json: what Pillow makes of every committed photo.

    /usr/bin/python3 tools/python/make_photo_references.py            # rewrite references.json
    /usr/bin/python3 tools/python/make_photo_references.py --check    # recompute and compare with the committed file

For each photo and each EXIF mode:
  apply   Image.open, ImageOps.exif_transpose, convert("RGB")  (transformers' load_image; llavagen.imageproc.load_image)
  ignore  Image.open, convert("RGB")                           (an image processor given Image.open's image)
it records the size and the SHA-256 of the RGB bytes, then the CLIP preprocessing of that image
with llavagen.imageproc.process at 336 px, shortest_edge_center_crop, CLIP's mean and std: the
SHA-256 of the uint8 crop and of the float32 pixel_values (little-endian, [3, 336, 336]), the
per-channel float64 sums and a few values. Row and column digests (the first 4 bytes of the SHA-256
of each row's and each column's bytes, concatenated, base64) let a test name the first row and
column that differ. Needs Debian's python3-pil and python3-numpy; the Pillow version is recorded.
"""
import argparse
import os
import sys

import PIL

from llavagen import photo_references as refs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed references.json instead of writing it")
    args = parser.parse_args()
    text = refs.dumps(refs.build(refs.FOLDER))
    path = os.path.join(refs.FOLDER, refs.FILE)
    if args.check:
        with open(path, encoding="utf-8") as f:
            committed = f.read()
        if committed != text:
            print(f"{path} differs from what Pillow {PIL.__version__} makes now", file=sys.stderr)
            sys.exit(1)
        print(f"{path}: the same as Pillow {PIL.__version__} makes now")
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{path}: {len(text):,} bytes")


if __name__ == "__main__":
    main()
