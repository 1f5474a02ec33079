"""What Pillow makes of every committed photo (models/fixtures/photos/references.json):
make_photo_references.py is the command, and its docstring says what each entry records.
Needs Pillow and NumPy only."""
import base64
import hashlib
import json
import os
import warnings

import numpy as np
import PIL
from PIL import Image, ImageOps

from . import imageproc, paths
from .config import CLIP_MEAN, CLIP_STD

# The (c, y, x) of the values recorded, as llavagen/references.py's PIXEL_SAMPLES (negative: from the end).
PIXEL_SAMPLES = [(0, 0, 0), (1, 7, 11), (2, -1, -1), (0, -1, 0), (1, 0, -1), (2, 100, 50)]

FOLDER = os.path.join(paths.FIXTURES, "photos")
FILE = "references.json"
SIZE = 336
MODE = "shortest_edge_center_crop"
EXTENSIONS = (".jpg", ".png", ".webp")


def load(path, exif):
    image = Image.open(path)
    # convert("RGB") of a palette image with transparency in bytes warns that RGBA would keep it;
    # dropping it is what load_image does.
    warnings.filterwarnings("ignore", "Palette images with Transparency", UserWarning)
    if exif == "apply":
        image = ImageOps.exif_transpose(image)
    return image.convert("RGB")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def digests(pixels):
    """Rows, then columns, of a uint8 [h, w, 3] array: the first 4 bytes of each one's SHA-256, base64."""
    rows = b"".join(hashlib.sha256(np.ascontiguousarray(r).tobytes()).digest()[:4] for r in pixels)
    columns = b"".join(hashlib.sha256(np.ascontiguousarray(pixels[:, x]).tobytes()).digest()[:4] for x in range(pixels.shape[1]))
    return base64.b64encode(rows).decode(), base64.b64encode(columns).decode()


def reference(path, exif):
    image = load(path, exif)
    rgb = np.asarray(image, dtype=np.uint8)
    rows, columns = digests(rgb)
    crop, values = imageproc.process(image, SIZE, CLIP_MEAN, CLIP_STD, MODE)
    crop_rows, crop_columns = digests(crop)
    values = np.ascontiguousarray(values, dtype="<f4")
    samples = []
    for c, y, x in PIXEL_SAMPLES:
        y, x = y % SIZE, x % SIZE
        samples.append({"c": c, "y": y, "x": x, "value": float(values[c, y, x])})
    return {
        "width": image.size[0],
        "height": image.size[1],
        "rgb_sha256": sha256(rgb.tobytes()),
        "rgb_rows": rows,
        "rgb_columns": columns,
        "crop_sha256": sha256(np.ascontiguousarray(crop).tobytes()),
        "crop_rows": crop_rows,
        "crop_columns": crop_columns,
        "pixel_values_sha256": sha256(values.tobytes()),
        "channel_sums": [float(values[c].astype(np.float64).sum()) for c in range(3)],
        "samples": samples,
    }


def build(folder):
    photos = []
    for name in sorted(n for n in os.listdir(folder) if n.endswith(EXTENSIONS)):
        path = os.path.join(folder, name)
        with Image.open(path) as opened:
            stored = {"format": opened.format, "mode": opened.mode, "width": opened.size[0], "height": opened.size[1],
                      "exif_orientation": opened.getexif().get(0x0112)}
        photos.append({"file": name, "stored": stored, "exif": {e: reference(path, e) for e in ("apply", "ignore")}})
    return {
        "format": 1,
        # As the committed references.json records it (the script's path when it was written): kept, so
        # that the file regenerates byte for byte.
        "made_by": "models/make_photo_references.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "exif_modes": {
            "apply": "Image.open, ImageOps.exif_transpose, convert('RGB')",
            "ignore": "Image.open, convert('RGB')",
        },
        "digests": "rows and columns: the first 4 bytes of the SHA-256 of each row's (then each column's) RGB bytes, concatenated, base64",
        "pixel_values": {
            "image_size": SIZE,
            "resize_mode": MODE,
            "image_mean": CLIP_MEAN,
            "image_std": CLIP_STD,
            "dtype": "float32, little-endian, [3, size, size], channels first",
        },
        "photos": photos,
    }


def dumps(document):
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"
