"""Weight-only block quantisation of MatMul weights to ONNX Runtime's com.microsoft.MatMulNBits.

Written with `onnx` and NumPy only (Python's onnxruntime is not on these machines).

The operator (ONNX Runtime, contrib domain com.microsoft, version 1):

    Y = A @ dequant(B)            A: float [..., K], Y: float [..., N]
    attributes  K, N, bits (4 or 8 here), block_size (power of 2, >= 16), accuracy_level
    B           uint8 [N, k_blocks, blob_size]; k_blocks = ceil(K / block_size),
                blob_size = block_size * bits / 8. Block b of row n holds the block_size
                consecutive K-elements W[b*bs : (b+1)*bs, n] of the [K, N] weight, quantised;
                4-bit codes two to a byte, the first element in the LOW nibble.
    scales      float [N, k_blocks]   (ONNX Runtime also accepts [N * k_blocks])
    zero_points uint8 [N, ceil(k_blocks * bits / 8)], packed like B, each row n byte-aligned;
                absent: 2^(bits-1) for every block.
    dequant     (q - zero_point) * scale

Default here: asymmetric (a zero point per block; min/max of the block, widened to include 0,
mapped onto 0 .. 2^bits - 1), the format ONNX Runtime's own quantiser writes by default, and
more accurate than symmetric at 4 bits because it uses all 16 codes on a block's actual range.
`symmetric=True` writes no zero points (scale = max|w| / (2^(bits-1) - 1), zero point
2^(bits-1)).
"""
import math
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .onnxio import read_initializer, save_graph

MS_DOMAIN = "com.microsoft"


# ---------------------------------------------------------------------------------- tensors
def quantize_weight(w, bits=4, block_size=32, symmetric=False):
    """Quantises a float [K, N] weight block-wise along K.

    Returns (packed B uint8 [N, k_blocks, blob], scales float32 [N, k_blocks],
    zero_points uint8 [N, ceil(k_blocks*bits/8)] or None, codes uint8 [N, k_blocks, bs],
    zp uint8 [N, k_blocks]); the last two are unpacked, for checks.
    """
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    K, N = w.shape
    if K % block_size:
        raise ValueError(f"K = {K} is not a multiple of the block size {block_size}")
    kb = K // block_size
    qmax = (1 << bits) - 1
    # [N, kb, bs]: row n, block b, element i = W[b*bs + i, n]
    blocks = np.ascontiguousarray(w.T, dtype=np.float32).reshape(N, kb, block_size)
    if symmetric:
        half = 1 << (bits - 1)
        amax = np.abs(blocks).max(axis=2)
        scales = (amax / np.float32(half - 1)).astype(np.float32)
        scales[scales == 0] = np.float32(1)
        zp = np.full((N, kb), half, dtype=np.uint8)
    else:
        lo = np.minimum(blocks.min(axis=2), np.float32(0))
        hi = np.maximum(blocks.max(axis=2), np.float32(0))
        scales = ((hi - lo) / np.float32(qmax)).astype(np.float32)
        scales[scales == 0] = np.float32(1)
        zp = np.clip(np.rint(-lo / scales), 0, qmax).astype(np.uint8)
    codes = np.rint(blocks / scales[:, :, None]) + zp[:, :, None].astype(np.float32)
    codes = np.clip(codes, 0, qmax).astype(np.uint8)
    del blocks
    packed = pack(codes, bits)
    zero_points = None if symmetric else pack_zero_points(zp, bits)
    return packed, scales, zero_points, codes, zp


def pack(codes, bits):
    """[N, kb, bs] codes -> [N, kb, bs*bits/8] bytes, first element in the low bits."""
    if bits == 8:
        return codes.copy()
    return (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)


def unpack(packed, bits, block_size):
    if bits == 8:
        return packed.copy()
    N, kb, _ = packed.shape
    out = np.empty((N, kb, block_size), dtype=np.uint8)
    out[:, :, 0::2] = packed & 0x0F
    out[:, :, 1::2] = packed >> 4
    return out


def pack_zero_points(zp, bits):
    """[N, kb] -> [N, ceil(kb*bits/8)], packed like B, each row byte-aligned."""
    if bits == 8:
        return zp.copy()
    N, kb = zp.shape
    if kb % 2:
        zp = np.concatenate([zp, np.zeros((N, 1), np.uint8)], axis=1)
    return (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)


def unpack_zero_points(zero_points, bits, kb):
    if bits == 8:
        return zero_points.copy()
    N = zero_points.shape[0]
    out = np.empty((N, zero_points.shape[1] * 2), np.uint8)
    out[:, 0::2] = zero_points & 0x0F
    out[:, 1::2] = zero_points >> 4
    return out[:, :kb]


def dequantize(packed, scales, zero_points, K, N, bits, block_size):
    """What MatMulNBits reads back: float32 [K, N], from the packed tensors alone."""
    kb = K // block_size
    codes = unpack(packed, bits, block_size).astype(np.float32)
    zp = (np.full((N, kb), 1 << (bits - 1), np.float32) if zero_points is None
          else unpack_zero_points(zero_points, bits, kb).astype(np.float32))
    w = (codes - zp[:, :, None]) * scales[:, :, None]
    return np.ascontiguousarray(w.reshape(N, K).T)


def intended(codes, zp, scales, K, N):
    """The weights the codes stand for, computed from the unpacked codes and zero points: float32 [K, N]."""
    return ((codes.astype(np.float32) - zp[:, :, None].astype(np.float32)) * scales[:, :, None]).reshape(N, K).T


def check_roundtrip(w, bits, block_size, symmetric):
    """Unit check: the packed tensors dequantise exactly to the intended weights. Returns the
    relative Frobenius error of the quantised weight against the float one."""
    K, N = w.shape
    packed, scales, zero_points, codes, zp = quantize_weight(w, bits, block_size, symmetric)
    kb = K // block_size
    assert packed.shape == (N, kb, block_size * bits // 8) and packed.dtype == np.uint8
    assert scales.shape == (N, kb) and scales.dtype == np.float32
    if zero_points is not None:
        assert zero_points.shape == (N, math.ceil(kb * bits / 8))
    assert codes.max() < (1 << bits)
    back = dequantize(packed, scales, zero_points, K, N, bits, block_size)
    if not np.array_equal(back, intended(codes, zp, scales, K, N)):
        raise AssertionError("packed tensors do not dequantise to the intended weights")
    # asymmetric: the grid spans [min, max] up to the rounding of the zero point, so every
    # weight is within one step of its code (half a step inside the range)
    if not symmetric:
        bound = np.repeat(scales, block_size, axis=1).T * np.float32(1.0001)
        if not np.all(np.abs(back - w) <= bound + 1e-12):
            raise AssertionError("a quantised weight is further than half a step from its value")
    return float(np.linalg.norm(back - w) / max(np.linalg.norm(w), 1e-30))


def check_packing():
    """Small synthetic cases, including an odd block count (zero-point padding) and K = 352, and the
    documented layout by hand; AssertionError when the packing is wrong. `quantize.py --check` runs it
    before the real graphs (tests/test_quantize.py holds the same cases one by one)."""
    rng = np.random.default_rng(0)
    for (K, N) in [(64, 3), (96, 5), (352, 128), (128, 7)]:
        for bits in (4, 8):
            for sym in (False, True):
                w = rng.standard_normal((K, N)).astype(np.float32)
                w[:32, 0] = 0  # an all-zero block
                check_roundtrip(w, bits, 32, sym)
    # the documented layout, by hand: K = 32, N = 1, codes 0..15,0..15
    w = np.concatenate([np.arange(16), np.arange(16)]).astype(np.float32)[:, None]
    packed, scales, zps, codes, zp = quantize_weight(w, 4, 32, False)
    assert scales[0, 0] == 1 and zp[0, 0] == 0 and zps[0, 0] == 0
    assert packed[0, 0, 0] == 0x10 and packed[0, 0, 1] == 0x32  # low nibble first


# ---------------------------------------------------------------------------------- graphs
def _inline_external(init, base_dir):
    if init.data_location != onnx.TensorProto.EXTERNAL:
        return
    arr = read_initializer(init, base_dir)
    init.ClearField("external_data")
    init.data_location = onnx.TensorProto.DEFAULT
    init.raw_data = np.ascontiguousarray(arr).tobytes()


def quantize_graph(src_path, dst_path, bits=4, block_size=32, symmetric=False,
                   accuracy_level=4, log=print, check=False, external_threshold=1 << 30,
                   fake=False):
    """Rewrites every MatMul whose second input is a constant 2-D float32 initializer [K, N]
    (K a multiple of block_size) into MatMulNBits. Returns a summary dict.

    fake=True keeps the plain MatMul and writes the dequantised float32 weights instead (for
    verifying a MatMulNBits graph against the same weights in ONNX Runtime)."""
    base_dir = os.path.dirname(os.path.abspath(src_path))
    model = onnx.load(src_path, load_external_data=False)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    uses = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    new_nodes, skipped, done = [], [], []
    removed = set()
    errs = []
    n_params = 0
    for node in graph.node:
        if node.op_type != "MatMul" or node.domain not in ("", "ai.onnx"):
            new_nodes.append(node)
            continue
        bname = node.input[1]
        init = inits.get(bname)
        if init is None:
            new_nodes.append(node)  # activation x activation (attention)
            continue
        why = None
        if init.data_type != onnx.TensorProto.FLOAT:
            why = f"type {onnx.TensorProto.DataType.Name(init.data_type)}"
        elif len(init.dims) != 2:
            why = f"rank {len(init.dims)}"
        elif init.dims[0] % block_size:
            why = f"K = {init.dims[0]} not a multiple of {block_size}"
        elif uses.get(bname, 0) != 1:
            why = "weight shared with another node"
        if why:
            skipped.append((node.name or bname, list(init.dims), why))
            new_nodes.append(node)
            continue
        w = read_initializer(init, base_dir).astype(np.float32, copy=False)
        K, N = w.shape
        packed, scales, zero_points, codes, zp = quantize_weight(w, bits, block_size, symmetric)
        back = dequantize(packed, scales, zero_points, K, N, bits, block_size) if check or fake else None
        if check:
            if not np.array_equal(back, intended(codes, zp, scales, K, N)):
                raise AssertionError(f"{bname}: packed tensors do not dequantise as intended")
            errs.append((float(np.sum((back - w).astype(np.float64) ** 2)),
                         float(np.sum(w.astype(np.float64) ** 2)), bname))
        del codes, zp, w
        if fake:
            t = numpy_helper.from_array(back, bname)
            init.CopyFrom(t)
            new_nodes.append(node)
            done.append((bname, K, N))
            n_params += K * N
            continue
        del back
        base = bname.replace("/", "_")
        names = [f"{base}_Q{bits}", f"{base}_scales"]
        tensors = [numpy_helper.from_array(packed, names[0]),
                   numpy_helper.from_array(scales, names[1])]
        inputs = [node.input[0], names[0], names[1]]
        if zero_points is not None:
            names.append(f"{base}_zp")
            tensors.append(numpy_helper.from_array(zero_points, names[2]))
            inputs.append(names[2])
        graph.initializer.extend(tensors)
        removed.add(bname)
        attrs = dict(K=K, N=N, bits=bits, block_size=block_size)
        if accuracy_level:
            attrs["accuracy_level"] = accuracy_level
        new_nodes.append(helper.make_node(
            "MatMulNBits", inputs, list(node.output),
            name=(node.name or bname) + "_Q", domain=MS_DOMAIN, **attrs))
        done.append((bname, K, N))
        n_params += K * N
    # drop the float weights, inline the other external tensors
    keep = [i for i in graph.initializer if i.name not in removed]
    for i in keep:
        _inline_external(i, base_dir)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    del graph.node[:]
    graph.node.extend(new_nodes)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))

    total = sum(len(i.raw_data) for i in graph.initializer)
    name = os.path.basename(dst_path)
    external = total > external_threshold
    save_graph(model, dst_path, external)  # unlinks first: never writes through a hard link to the source folder
    summary = dict(graph=name, quantized=len(done), params=n_params, skipped=skipped,
                   external=external)
    if errs:
        se = sum(e[0] for e in errs)
        sw = sum(e[1] for e in errs)
        worst = max(errs, key=lambda e: e[0] / max(e[1], 1e-30))
        summary["rel_error"] = math.sqrt(se / sw)
        summary["worst"] = (worst[2], math.sqrt(worst[0] / max(worst[1], 1e-30)))
    return summary
