#!/usr/bin/python3
"""Derives the real-photograph fixtures in models/fixtures/photos/ from photos Debian ships.

    /usr/bin/python3 tools/python/make_photos.py [--root /] [--out models/fixtures/photos]

The sources are public-domain and CC0 photographs from three Debian 12 packages (their licences
are in models/fixtures/photos/README.md): python3-skimage (chelsea.png, coffee.png, astronaut.png,
camera.png, rocket.jpg) and lomiri-wallpapers-16.04 (seeding_by_Clements_Engelhardt.jpg). --root
is where the packages are installed (or unpacked with dpkg -x). Every variant is the photograph
re-encoded with Pillow, or with the small PNG writer below where Pillow cannot write the PNG
(16-bit colour, 16-bit grey with alpha, Adam7 interlacing). Running it again with the same
Pillow writes the same bytes. The references are made from the committed files by
tools/python/make_photo_references.py.
"""
import argparse
import os

from PIL import Image

from llavagen import photos


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="/", help="where the Debian packages are installed or unpacked (default /)")
    parser.add_argument("--out", default=photos.FOLDER)
    args = parser.parse_args()
    names = photos.derive(args.root, args.out)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in names)
    for name in names:
        with Image.open(os.path.join(args.out, name)) as image:
            print(f"{name}: {image.format} {image.mode} {image.size[0]}x{image.size[1]}, {os.path.getsize(os.path.join(args.out, name)):,} bytes")
    print(f"{len(names)} photos, {total:,} bytes in all")


if __name__ == "__main__":
    main()
