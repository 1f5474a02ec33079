#!/usr/bin/python3
"""Draws the packages' icon, src/icon.png: 128 x 128 pixels, no text.

    /usr/bin/python3 tools/python/make_icon.py [--out src/icon.png]

A 4 x 4 grid of image patches on a dark tile; one patch is the anchor, orange and framed, with
a word mark (three bars, the text tokens) below the grid pointing at it. Drawn with Pillow
rectangles only, so running it again with the same Pillow writes the same bytes.
"""
import argparse
import os

from PIL import Image, ImageDraw

SIZE = 128
TILE = (28, 42, 68)
PATCH = (120, 150, 190)
ANCHOR = (245, 150, 40)
FRAME = (255, 255, 255)
TEXT = (235, 235, 235)


def draw() -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), TILE)
    pen = ImageDraw.Draw(image)
    side, gap, left, top = 18, 4, 20, 14
    for row in range(4):
        for col in range(4):
            x, y = left + col * (side + gap), top + row * (side + gap)
            if (row, col) == (1, 2):
                pen.rectangle([x - 3, y - 3, x + side + 2, y + side + 2], fill=FRAME)
                pen.rectangle([x, y, x + side - 1, y + side - 1], fill=ANCHOR)
            else:
                pen.rectangle([x, y, x + side - 1, y + side - 1], fill=PATCH)
    bars_top = top + 4 * (side + gap) + 4
    for i, width in enumerate((22, 30, 18)):
        x = left + sum((22, 30, 18)[:i]) + i * 6
        pen.rectangle([x, bars_top, x + width - 1, bars_top + 7], fill=ANCHOR if i == 1 else TEXT)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "..", "src", "icon.png"))
    args = parser.parse_args()
    draw().save(args.out, format="PNG", optimize=True)


if __name__ == "__main__":
    main()
