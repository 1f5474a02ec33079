"""The test images the pixel references are computed from, drawn deterministically.

Each covers one case of the image path: square, wide, tall, tiny (smaller than any crop),
large, grayscale, RGBA (colour kept under transparent pixels), and a JPEG whose EXIF
orientation rotates it (stored 4:4:4 at quality 95, so chroma upsampling does not matter).
"""
import io
import os

import numpy as np
from PIL import Image, ImageDraw

EXIF_ORIENTATION = 0x0112


def _scene(width, height, seed):
    """Smooth gradients with a few hard-edged shapes and thin lines: both bicubic regimes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    fx, fy = rng.uniform(1, 4, size=2)
    r = 128 + 100 * np.sin(2 * np.pi * fx * x / width + rng.uniform(0, 6))
    g = 128 + 100 * np.cos(2 * np.pi * fy * y / height + rng.uniform(0, 6))
    b = 255 * (x + y) / (width + height)
    image = Image.fromarray(np.stack([r, g, b], axis=-1).round().clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
        s = rng.uniform(0.08, 0.2) * min(width, height)
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse([cx - s, cy - s, cx + s, cy + s], fill=color)
        elif kind == 1:
            draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=color)
        else:
            draw.polygon([(cx, cy - s), (cx - s, cy + s), (cx + s, cy + s)], fill=color)
    for i in range(3):
        draw.line([(0, (i + 1) * height // 4), (width, (3 - i) * height // 4)], fill=(0, 0, 0), width=1)
    return image


def make(out_dir):
    """Writes the images into out_dir and returns their file names in a fixed order."""
    os.makedirs(out_dir, exist_ok=True)
    names = []

    def save(name, image, **options):
        image.save(os.path.join(out_dir, name), **options)
        names.append(name)

    save("square.png", _scene(400, 400, 1))
    save("wide.png", _scene(640, 360, 2))
    save("tall.png", _scene(300, 500, 3))
    save("tiny.png", _scene(40, 30, 4))
    save("large.png", _scene(1600, 1200, 5))
    save("gray.png", _scene(320, 240, 6).convert("L"))
    rgba = _scene(256, 320, 7).convert("RGBA")
    alpha = np.zeros((320, 256), dtype=np.uint8)
    alpha[:, 64:] = np.linspace(0, 255, 192).astype(np.uint8)[None, :]
    rgba.putalpha(Image.fromarray(alpha, "L"))
    save("rgba.png", rgba)
    # Stored 360 x 240; orientation 6 means "rotate 90 degrees clockwise to display", so the
    # reference loader sees 240 x 360.
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    save("exif_rotated.jpg", _scene(360, 240, 8), quality=95, subsampling=0, exif=exif.tobytes())
    return names
