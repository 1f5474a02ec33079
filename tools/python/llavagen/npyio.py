"""Deterministic tensor files: NumPy's .npy format (version 1.0), gzip-compressed.

The gzip header carries no file name and a zero timestamp, so the same array always gives the
same bytes. A reader needs only gzip and the 10-byte-plus-header .npy layout: magic
"\\x93NUMPY", version 1.0, a little-endian uint16 header length, a Python-literal dict with
'descr' ('<f4', '<i8', '|u1', '<f2'), 'fortran_order' (always False here) and 'shape', then the
raw C-order data.
"""
import gzip
import io

import numpy as np

_ALLOWED = {np.dtype("<f4"), np.dtype("<f2"), np.dtype("<i8"), np.dtype("|u1")}


def save(path, array):
    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = array.copy(order="C")   # (np.ascontiguousarray would turn a 0-d array into shape (1,))
    if array.dtype not in _ALLOWED:
        raise ValueError(f"{path}: dtype {array.dtype} is not one of float32, float16, int64, uint8")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=(1, 0), allow_pickle=False)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(buffer.getvalue())


def load(path):
    """An array written by save (gzip-compressed), or a plain .npy file."""
    if not path.endswith(".gz"):
        return np.load(path, allow_pickle=False)
    with gzip.open(path, "rb") as gz:
        return np.lib.format.read_array(io.BytesIO(gz.read()), allow_pickle=False)
