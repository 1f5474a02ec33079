"""The real-photograph fixtures: Pillow's references.json made again, and the small PNG writer that
make_photos.py uses where Pillow cannot write the layout (Pillow and NumPy only)."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from llavagen import photo_references, photos


def test_photo_references_regenerate_byte_for_byte():
    """What `make_photo_references.py --check` does."""
    with open(os.path.join(photo_references.FOLDER, photo_references.FILE), encoding="utf-8") as f:
        committed = f.read()
    assert photo_references.dumps(photo_references.build(photo_references.FOLDER)) == committed


@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize("channels, color_type, bit_depth, mode", [
    (3, 2, 8, "RGB"), (1, 0, 8, "L"), (1, 0, 16, "I"), (4, 6, 8, "RGBA"),
])
def test_the_png_writer_round_trips_through_pillow(channels, color_type, bit_depth, mode, interlace):
    rng = np.random.default_rng(channels * 100 + bit_depth)
    high = 65536 if bit_depth == 16 else 256
    samples = rng.integers(0, high, size=(37, 29, channels)).astype(np.uint16 if bit_depth == 16 else np.uint8)
    if channels == 1:
        samples = samples[:, :, 0]
    data = photos.png(samples, color_type, bit_depth, interlace=interlace)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert (image.size, image.info.get("interlace", 0)) == ((29, 37), int(interlace))
        back = np.asarray(image.convert(mode) if image.mode != mode and mode != "I" else image)
    assert np.array_equal(back.astype(np.int64), samples.astype(np.int64))


def test_alpha_gradient_runs_corner_to_corner():
    alpha = photos.alpha_gradient(5, 3)
    assert alpha.shape == (3, 5) and alpha[0, 0] == 0 and alpha[-1, -1] == 255
