"""The real-photograph fixtures (models/fixtures/photos/) derived from public-domain and CC0 photos
that Debian packages ship, and the small PNG writer for the layouts Pillow cannot write (16-bit
colour, 16-bit grey with alpha, Adam7). make_photos.py is the command; its docstring names the
sources. The same Pillow writes the same bytes."""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

from . import paths

FOLDER = os.path.join(paths.FIXTURES, "photos")
SKIMAGE = "usr/lib/python3/dist-packages/skimage/data"
LOMIRI = "usr/share/backgrounds"
EXIF_ORIENTATION = 0x0112


def source(root, folder, name):
    path = os.path.join(root, folder, name)
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: install python3-skimage and lomiri-wallpapers-16.04 "
                         f"(or unpack them with dpkg -x and pass --root).")
    image = Image.open(path)
    image.load()
    return image


def box_average(image, factor):
    """The image shrunk by an integer factor, each output pixel the float64 mean of a factor × factor box (values 0..255, not rounded)."""
    a = np.asarray(image, dtype=np.float64)
    h, w = a.shape[0] // factor, a.shape[1] // factor
    a = a[:h * factor, :w * factor]
    shape = (h, factor, w, factor) + a.shape[2:]
    return a.reshape(shape).mean(axis=(1, 3))


def alpha_gradient(width, height):
    """A diagonal 8-bit alpha ramp: 0 at the top left, 255 at the bottom right."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.round(255 * (x / (width - 1) + y / (height - 1)) / 2).astype(np.uint8)


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif.tobytes()


# The inverse of what exif_transpose does for each orientation: the stored image, turned as a
# camera held that way would store it, so that applying the orientation shows the photo upright.
STORE_FOR = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def png(samples, color_type, bit_depth, interlace=False, trns=None):
    """A PNG from an array [h, w] or [h, w, c] of uint8 or uint16 samples, every row filtered with
    the PNG filter (0-4) whose output has the smallest sum of absolute values; Adam7 when asked."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    height, width, channels = samples.shape
    dtype = ">u2" if bit_depth == 16 else "u1"
    bpp = channels * (2 if bit_depth == 16 else 1)

    def filtered(pass_samples):
        raw = np.ascontiguousarray(pass_samples.astype(dtype)).view(np.uint8).reshape(pass_samples.shape[0], -1).astype(np.int32)
        out = bytearray()
        previous = np.zeros(raw.shape[1], dtype=np.int32)
        for row in raw:
            left = np.concatenate([np.zeros(bpp, dtype=np.int32), row[:-bpp]])
            up_left = np.concatenate([np.zeros(bpp, dtype=np.int32), previous[:-bpp]])
            p = left + previous - up_left
            pa, pb, pc = np.abs(p - left), np.abs(p - previous), np.abs(p - up_left)
            paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, previous, up_left))
            candidates = [row, row - left, row - previous, row - (left + previous) // 2, row - paeth]
            candidates = [(c & 0xFF).astype(np.uint8) for c in candidates]
            costs = [int(np.minimum(c, 256 - c.astype(np.int32)).sum()) for c in candidates]
            best = int(np.argmin(costs))
            out.append(best)
            out += candidates[best].tobytes()
            previous = row
        return bytes(out)

    if interlace:
        data = b""
        for (x0, y0, dx, dy) in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += filtered(sub)
    else:
        data = filtered(samples)

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    chunks = chunk(b"IHDR", header)
    if trns is not None:
        chunks += chunk(b"tRNS", trns)
    return b"\x89PNG\r\n\x1a\n" + chunks + chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b"")


def derive(root, out):
    os.makedirs(out, exist_ok=True)
    written = []

    def save(name, image, **options):
        buffer = io.BytesIO()
        image.save(buffer, **options)
        write(name, buffer.getvalue())

    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        written.append(name)

    chelsea = source(root, SKIMAGE, "chelsea.png")         # 451 x 300 RGB
    coffee = source(root, SKIMAGE, "coffee.png")           # 600 x 400 RGB
    astronaut = source(root, SKIMAGE, "astronaut.png")     # 512 x 512 RGB
    camera = source(root, SKIMAGE, "camera.png")           # 512 x 512 L
    with open(os.path.join(root, SKIMAGE, "rocket.jpg"), "rb") as f:
        rocket = f.read()                                  # 640 x 427 JPEG, 4:4:4, ICC profile
    seeding = source(root, LOMIRI, "seeding_by_Clements_Engelhardt.jpg")  # 5312 x 2988 JPEG

    # JPEG: the file as it comes, and Pillow's encodings of an odd-sized crop in each chroma layout.
    write("rocket.jpg", rocket)
    cat = chelsea.crop((0, 0, 449, 299))
    save("chelsea_444.jpg", cat, format="JPEG", quality=90, subsampling=0)
    save("chelsea_422.jpg", cat, format="JPEG", quality=90, subsampling=1)
    save("chelsea_420.jpg", cat, format="JPEG", quality=90, subsampling=2)
    save("chelsea_progressive.jpg", cat, format="JPEG", quality=85, subsampling=2, progressive=True)
    save("camera_gray.jpg", camera.crop((0, 0, 511, 383)), format="JPEG", quality=90)
    cup = coffee.resize((333, 222), Image.Resampling.LANCZOS)
    save("coffee_cmyk.jpg", cup.convert("CMYK"), format="JPEG", quality=90)
    for orientation in (6, 3, 8):
        save(f"coffee_exif{orientation}.jpg", cup.transpose(STORE_FOR[orientation]), format="JPEG", quality=90,
             exif=exif_with_orientation(orientation))
    save("seeding_large.jpg", seeding, format="JPEG", quality=20)

    # PNG, 8-bit: the file as it comes, RGBA and grey+alpha with a real alpha gradient, palette
    # with and without transparency, and an eXIf orientation.
    with open(os.path.join(root, SKIMAGE, "chelsea.png"), "rb") as f:
        write("chelsea.png", f.read())
    face = astronaut.resize((333, 333), Image.Resampling.LANCZOS)
    rgba = face.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha_gradient(333, 333), "L"))
    save("astronaut_rgba.png", rgba, format="PNG", optimize=True)
    gray = camera.resize((301, 301), Image.Resampling.LANCZOS)
    la = gray.convert("LA")
    la.putalpha(Image.fromarray(alpha_gradient(301, 301), "L"))
    save("camera_la.png", la, format="PNG", optimize=True)
    save("coffee_palette.png", cup.quantize(256), format="PNG", optimize=True)
    cup_rgba = cup.convert("RGBA")
    cup_rgba.putalpha(Image.fromarray(alpha_gradient(333, 222), "L"))
    save("coffee_palette_trns.png", cup_rgba.quantize(256, method=Image.Quantize.FASTOCTREE), format="PNG", optimize=True)
    save("coffee_exif6.png", cup.transpose(STORE_FOR[6]), format="PNG", optimize=True, exif=exif_with_orientation(6))

    # PNG, 16-bit, from 4 x 4 (colour) or 2 x 2 (grey) box means of the 8-bit photo in float, so the
    # low byte carries real detail: grey in full range (x 257) and as 10-bit data stored in 16 bits
    # (x 1023 / 255: values both below and above 255), colour, and each with alpha.
    grey_mean = box_average(camera.crop((0, 0, 510, 382)), 2)  # 255 x 191
    full = np.round(grey_mean * 257).astype(np.uint16)
    ten_bit = np.round(grey_mean * 1023 / 255).astype(np.uint16)
    save("camera_gray16.png", Image.fromarray(full, "I;16"), format="PNG")
    save("camera_gray16_10bit.png", Image.fromarray(ten_bit, "I;16"), format="PNG")
    # The same 10-bit data Adam7-interlaced, with a tRNS grey (one value transparent).
    write("camera_gray16_adam7_trns.png", png(ten_bit, 0, 16, interlace=True, trns=struct.pack(">H", int(ten_bit[95, 127]))))
    grey_alpha = np.round(alpha_gradient(255, 191).astype(np.float64) * 257).astype(np.uint16)
    write("camera_la16.png", png(np.stack([full, grey_alpha], axis=-1), 4, 16))
    colour_mean = box_average(astronaut.crop((0, 0, 508, 508)), 4)  # 127 x 127
    colour16 = np.round(colour_mean * 257).astype(np.uint16)
    write("astronaut_rgb16.png", png(colour16, 2, 16))
    alpha16 = np.round(alpha_gradient(127, 127).astype(np.float64) * 257).astype(np.uint16)
    write("astronaut_rgba16.png", png(np.concatenate([colour16, alpha16[:, :, None]], axis=-1), 6, 16))

    # WebP: lossy (with and without an EXIF orientation) and lossless.
    save("astronaut_lossy.webp", face, format="WEBP", quality=80, method=6)
    save("coffee_exif8.webp", cup.transpose(STORE_FOR[8]), format="WEBP", quality=80, method=6, exif=exif_with_orientation(8))
    save("chelsea_lossless.webp", chelsea.resize((301, 200), Image.Resampling.LANCZOS), format="WEBP", lossless=True, method=6)
    return written
