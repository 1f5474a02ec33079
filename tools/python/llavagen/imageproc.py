"""The reference image processing, with PIL, as transformers does it for LLaVA.

load_image: PIL.Image.open, EXIF orientation applied (ImageOps.exif_transpose), convert("RGB")
(alpha dropped without compositing, grayscale replicated), as transformers' load_image does.

process(image, cfg) per `resize_mode`:
- shortest_edge_center_crop (CLIPImageProcessor): bicubic resize so the shorter side is
  image_size and the longer int(image_size * long / short) (truncated), then a centre crop of
  image_size x image_size at top = (h - size) // 2, left = (w - size) // 2;
- pad_to_square (LLaVA's expand2square first): paste the image centred onto a square of side
  max(w, h) filled with tuple(int(255 * m) for m in image_mean), at offset (side - w) // 2,
  (side - h) // 2; then as above;
- stretch (SigLIP): bicubic straight to image_size x image_size.
The resize is PIL's Image.resize(..., Image.BICUBIC) on the 8-bit image, so the crop is uint8.
Then rescale (float64 multiply by 1/255, stored as float32) and normalise ((x - mean) / std in
float32), channels first.
"""
import numpy as np
from PIL import Image, ImageOps

RESCALE = 1 / 255
MODES = ("shortest_edge_center_crop", "pad_to_square", "stretch")


def load_image(path):
    image = Image.open(path)
    image = ImageOps.exif_transpose(image)
    return image.convert("RGB")


def shortest_edge_size(width, height, size):
    """(width, height) after the shortest-edge resize, as transformers computes it."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(size * long / short)
    return (size, new_long) if width <= height else (new_long, size)


def expand_to_square(image, mean):
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    fill = tuple(int(x * 255) for x in mean)
    result = Image.new(image.mode, (side, side), fill)
    result.paste(image, ((side - width) // 2, (side - height) // 2))
    return result


def resize_and_crop(image, size, mode):
    """uint8 [size, size, 3]: what the model sees, before rescale and normalisation."""
    if mode not in MODES:
        raise ValueError(f"unknown resize_mode {mode!r}; expected one of {MODES}")
    if mode == "stretch":
        return np.asarray(image.resize((size, size), Image.BICUBIC), dtype=np.uint8)
    resized = image.resize(shortest_edge_size(*image.size, size), Image.BICUBIC)
    pixels = np.asarray(resized, dtype=np.uint8)
    top, left = (pixels.shape[0] - size) // 2, (pixels.shape[1] - size) // 2
    return pixels[top:top + size, left:left + size]


def normalize(crop, mean, std):
    """uint8 [H, W, 3] -> float32 [3, H, W]."""
    x = (crop.astype(np.float64) * RESCALE).astype(np.float32)
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def process(image, size, mean, std, mode):
    """(crop uint8 [size, size, 3], pixel_values float32 [3, size, size])."""
    if mode == "pad_to_square":
        image = expand_to_square(image, mean)
    crop = resize_and_crop(image, size, mode)
    return crop, normalize(crop, mean, std)
