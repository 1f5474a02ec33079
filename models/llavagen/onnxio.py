"""Writing ONNX graphs into a model folder (no torch needed, so the quantiser can use it too)."""

import os

import onnx


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
