"""The fused decoders: each committed fused folder made again from its source folder, byte for byte
(onnx and NumPy only)."""
import os

import pytest

from llavagen import fixtures, fuse, paths


@pytest.mark.parametrize("source, attention, committed", [
    (os.path.join(paths.FIXTURES, "tiny-336-gqa"), "gqa", os.path.join(paths.FIXTURES, "tiny-336-gqa-fused")),
    (os.path.join(paths.FIXTURES, "tiny-336-gqa"), "matmul", os.path.join(paths.FIXTURES, "tiny-336-gqa-fused-matmul")),
    (os.path.join(paths.SHAPES, "attanchor"), "gqa", os.path.join(paths.SHAPES, "attanchor-fused")),
], ids=["fixture-gqa", "fixture-matmul", "shapes-gqa"])
def test_fusing_makes_the_committed_folder_again(tmp_path, source, attention, committed):
    out = str(tmp_path / "fused")
    summary, dropped = fuse.fuse_folder(source, out, attention, link=False)
    assert fixtures.compare(committed, out) == []
    # GroupQueryAttention takes a mask of ones: only the left-padded reference case is left out.
    assert [name.split(" (")[1] for name in dropped] == (["padding: GroupQueryAttention takes a mask of ones)"]
                                                         if attention == "gqa" else [])
    assert summary["external"] is False


def test_a_quantised_decoder_is_refused(tmp_path):
    src = os.path.join(paths.SHAPES, "attanchor-q4")
    with pytest.raises(fuse.FuseError, match="fuse the float32 export, then quantise"):
        fuse.fuse_folder(src, str(tmp_path / "fused"))
