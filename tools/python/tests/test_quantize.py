"""MatMulNBits packing (the cases quantize.py --self-test ran) and the committed 4-bit shapes model
made again byte for byte (onnx and NumPy only)."""
import os

import numpy as np
import pytest

from llavagen import paths, quantize


@pytest.mark.parametrize("symmetric", [False, True], ids=["asymmetric", "symmetric"])
@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("K, N", [(64, 3), (96, 5), (352, 128), (128, 7)])
def test_packed_weights_dequantise_to_the_intended_ones(K, N, bits, symmetric):
    """Includes an odd block count (zero-point padding), K = 352 and an all-zero block;
    check_roundtrip raises AssertionError on any mismatch."""
    rng = np.random.default_rng(K * N + bits)
    w = rng.standard_normal((K, N)).astype(np.float32)
    w[:32, 0] = 0  # an all-zero block
    error = quantize.check_roundtrip(w, bits, 32, symmetric)
    assert 0 < error < (0.2 if bits == 4 else 0.02)


def test_the_documented_layout_by_hand():
    """K = 32, N = 1, codes 0..15,0..15: scale 1, zero point 0, the first code in the low nibble."""
    w = np.concatenate([np.arange(16), np.arange(16)]).astype(np.float32)[:, None]
    packed, scales, zps, codes, zp = quantize.quantize_weight(w, 4, 32, False)
    assert scales[0, 0] == 1 and zp[0, 0] == 0 and zps[0, 0] == 0
    assert packed[0, 0, 0] == 0x10 and packed[0, 0, 1] == 0x32  # low nibble first


def test_the_check_quantize_py_runs_first_passes():
    quantize.check_packing()


def test_the_shapes_model_quantises_to_the_committed_4_bit_decoder(tmp_path):
    """models/shapes/attanchor-q4 is quantize.py's default (4-bit, block 32, asymmetric, accuracy_level 4)."""
    graph = "decoder_model_merged.onnx"
    out = tmp_path / graph
    summary = quantize.quantize_graph(os.path.join(paths.SHAPES, "attanchor", graph), str(out))
    assert summary["quantized"] == 29
    with open(os.path.join(paths.SHAPES, "attanchor-q4", graph), "rb") as committed:
        assert out.read_bytes() == committed.read()
