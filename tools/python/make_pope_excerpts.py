#!/usr/bin/python3
"""Cuts the excerpts in models/pope-excerpts/ from POPE's question files and draws their stand-in images.

    /usr/bin/python3 tools/python/make_pope_excerpts.py --pope POPE
    /usr/bin/python3 tools/python/make_pope_excerpts.py --pope POPE --commit 08d957b917e5a378a2f99d35b6293c536a66298b

POPE is a clone of https://github.com/AoiDragon/POPE. Without --commit the files are read from its
work tree; with --commit they are read from that commit (`git -C POPE show COMMIT:PATH`), which
also works on a bare clone. Every excerpt is the first ITEMS items of its file, byte for byte:

- JSON lines (output/coco/*.json): the file's first ITEMS lines, each with its own line ending;
- one JSON array (output/seem/*/*.json): the file's bytes up to the end of its ITEMS-th element
  (the element's closing brace), then the two bytes that end the real file, a line feed and ']'.

Each excerpt is checked to parse to the real file's first ITEMS items. POPE's LICENSE is copied
beside them. The images the excerpts name are drawn as flat-colour 64 x 48 JPEGs in images/:
stand-ins with the real file names, not the COCO or GQA photos.
Needs Python 3 and PIL (Debian's python3-pil).
"""
import argparse
import json
import os
import subprocess
import sys

from PIL import Image

from llavagen import paths

HERE = paths.POPE_EXCERPTS
ITEMS = 12
SPLITS = ("random", "popular", "adversarial")
FILES = ([f"output/coco/coco_pope_{s}.json" for s in SPLITS]
         + [f"output/seem/{d}/{d}_pope_seem_{s}.json" for d in ("gqa", "aokvqa") for s in SPLITS])
# Flat colours for the stand-in images, in the order the excerpts first name them.
COLOURS = [(200, 60, 50), (60, 140, 200), (90, 170, 80), (230, 190, 60), (150, 90, 180), (120, 120, 120),
           (240, 140, 40), (40, 180, 170)]


def read(pope, commit, path):
    if commit is None:
        with open(os.path.join(pope, path), "rb") as f:
            return f.read()
    return subprocess.run(["git", "-C", pope, "show", f"{commit}:{path}"], check=True, capture_output=True).stdout


def cut_lines(data, n):
    """The first n lines, with their own line endings."""
    lines = data.splitlines(keepends=True)
    if len(lines) < n:
        sys.exit(f"only {len(lines)} lines")
    return b"".join(lines[:n])


def cut_array(data, n):
    """The bytes up to the end of the n-th element, then the real file's last two bytes (line feed, ']')."""
    text = data.decode("utf-8")
    if not text.endswith("\n]"):
        sys.exit("the array does not end in a line feed and ']'")
    decoder = json.JSONDecoder()
    at = text.index("[") + 1
    for i in range(n):
        while text[at] in " \t\r\n,":
            at += 1
        _, at = decoder.raw_decode(text, at)
    return (text[:at] + "\n]").encode("utf-8")


def items_of(data):
    text = data.decode("utf-8")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pope", required=True, help="a clone of github.com/AoiDragon/POPE")
    parser.add_argument("--commit", help="read the files from this commit instead of the work tree")
    args = parser.parse_args()
    images = []
    for path in FILES:
        data = read(args.pope, args.commit, path)
        array = data.lstrip().startswith(b"[")
        excerpt = cut_array(data, ITEMS) if array else cut_lines(data, ITEMS)
        if items_of(excerpt) != items_of(data)[:ITEMS]:
            sys.exit(f"{path}: the excerpt does not read as the file's first {ITEMS} items")
        out = os.path.join(HERE, os.path.relpath(path, "output"))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(excerpt)
        for item in items_of(excerpt):
            if item["image"] not in images:
                images.append(item["image"])
        print(f"{os.path.relpath(out, HERE)}: {ITEMS} items ({'JSON array' if array else 'JSON lines'})")
    with open(os.path.join(HERE, "LICENSE"), "wb") as f:
        f.write(read(args.pope, args.commit, "LICENSE"))
    if len(images) > len(COLOURS):
        sys.exit(f"{len(images)} images, {len(COLOURS)} colours")
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    for name, colour in zip(images, COLOURS):
        Image.new("RGB", (64, 48), colour).save(os.path.join(HERE, "images", name), quality=90)
    print(f"images/: {len(images)} stand-ins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
