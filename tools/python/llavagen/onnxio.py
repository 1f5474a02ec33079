"""Writing ONNX graphs into a model folder (no torch needed, so the quantiser can use it too)."""

import os
import shutil

import numpy as np
import onnx
from onnx import numpy_helper


def save_graph(proto, path, external):
    """Writes a graph to `path`; with `external`, its weights go to one `<name>.onnx.data` file beside it.

    Any earlier graph and data file at those paths are unlinked first, so a hard-linked copy of another
    folder's file is replaced, never written through."""
    data = os.path.basename(path) + ".data"
    for old in (path, os.path.join(os.path.dirname(path), data)):
        if os.path.lexists(old):
            os.unlink(old)
    if external:
        onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data, size_threshold=1024)
    else:
        onnx.save_model(proto, path)


def read_initializer(init, base_dir):
    """The array of an initializer, reading external data by offset (one at a time)."""
    if init.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in init.external_data}
        path = os.path.join(base_dir, info["location"])
        offset = int(info.get("offset", 0))
        count = int(np.prod(init.dims)) if init.dims else 1
        dtype = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[init.data_type]  # onnx 1.12
        arr = np.fromfile(path, dtype=dtype, count=count, offset=offset)
        return arr.reshape(tuple(init.dims))
    return numpy_helper.to_array(init)


def link_or_copy(src, dst, link=True):
    if os.path.lexists(dst):
        os.unlink(dst)
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copy2(src, dst)


def copy_folder(src, out, rewritten, link=True):
    """Everything in src except the graphs to rewrite (and their .data files): hard links where it
    can (link=True), else copies."""
    skip = set(rewritten) | {g + ".data" for g in rewritten}
    for root, _dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target = os.path.join(out, rel) if rel != "." else out
        os.makedirs(target, exist_ok=True)
        for f in files:
            if rel == "." and f in skip:
                continue
            link_or_copy(os.path.join(root, f), os.path.join(target, f), link)
