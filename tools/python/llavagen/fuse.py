"""Rebuilds an exported decoder_model_merged.onnx as a fused graph for ONNX Runtime's CPU provider.

The exporter's decoder (torch.onnx, standard ops) runs about 2,600 nodes per step: shape arithmetic,
rotary embedding per layer, the causal mask, and `repeat_kv` as an Expand that copies every layer's
whole K and V cache from Hkv to H heads on every step. This module reads that graph's weights and
writes the same model as about 12 nodes per layer, with ONNX Runtime's contrib operators:

    x = inputs_embeds                                                       [B, S, D]
    per layer i:
      h     = SimplifiedLayerNormalization(x, input_layernorm)  (layer 0; later layers get it
              from the previous layer's SkipSimplifiedLayerNormalization)
      qkv   = MatMul(h, [Wq | Wk | Wv])                                     [B, S, (H + 2 Hkv) hd]
      a, present.i.key, present.i.value
            = GroupQueryAttention(qkv, past_key_values.i.key, .value, seqlens_k, total_length,
                                  cos_cache, sin_cache; do_rotary)          [B, S, H hd]
      h, x  = SkipSimplifiedLayerNormalization(MatMul(a, Wo), x, post_attention_layernorm)
      g, u  = Split(MatMul(h, [Wgate | Wup]))                               [B, S, I] each
      m     = MatMul(g * Sigmoid(g) * u, Wdown)                             [B, S, D]
      the next layer's h, x = SkipSimplifiedLayerNormalization(m, x, next input_layernorm)
    logits = MatMul(last k positions of the final norm, Wlm)                [B, k, V]

The interface is the model-folder spec's decoder, less `position_ids`: GroupQueryAttention takes
the positions from the cache (P, P+1, ..., P+S-1), which is what the library feeds. What it does not
take, and the exported graph does: left padding (a 0 in attention_mask before a 1) and, with a past,
more than one row. The library always runs one row with a mask of ones.

The arithmetic is the reference module's (llavagen/arch.py): RMS norm with the graph's epsilon,
rotate-half rotary embedding from the graph's own inverse frequencies, 1/sqrt(hd) scaled softmax
attention with a causal mask, SiLU-gated MLP. Float32 graphs only (fuse before quantising).
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import npyio
from .onnxio import copy_folder, read_initializer, save_graph

DECODER = "decoder_model_merged.onnx"
CHECKS = os.path.join("references", "checks.json")

MS_DOMAIN = "com.microsoft"
OPSET = 17


class FuseError(ValueError):
    """The source graph is not one this module knows how to rebuild."""


def read_decoder(path, num_layers):
    """The weights and constants of an exported fp32 decoder, by the exporter's node names."""
    base = os.path.dirname(os.path.abspath(path))
    model = onnx.load(path, load_external_data=False)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes = {n.name: n for n in graph.node}
    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}

    def constant_value(output):
        node = constants.get(output)
        return None if node is None else numpy_helper.to_array(node.attribute[0].t)

    def weight(node_name):
        node = nodes.get(node_name)
        if node is None and f"{node_name}_Q" in nodes:  # quantize.py renames the MatMuls it rewrites
            raise FuseError(f"{path}: '{node_name}' was quantised to MatMulNBits; fuse the float32 export, then quantise")
        if node is None:
            raise FuseError(f"{path}: no node '{node_name}'; this is not a decoder written by llavagen's exporter "
                            "(generate.py, export_llava.py)")
        if node.op_type != "MatMul" or node.input[1] not in inits:
            raise FuseError(f"{path}: '{node_name}' is a {node.op_type}, not a MatMul by a float32 weight "
                            "(a quantised or float16 graph?); fuse the float32 export, then quantise")
        init = inits[node.input[1]]
        if init.data_type != TensorProto.FLOAT:
            raise FuseError(f"{path}: '{node.input[1]}' is {TensorProto.DataType.Name(init.data_type)}; only float32 decoders are fused")
        return read_initializer(init, base).astype(np.float32, copy=False)

    def norm(parameter, node_prefix):
        scale = f"{parameter}.weight"
        if scale not in inits:
            raise FuseError(f"{path}: no initializer '{scale}'")
        add = nodes.get(f"{node_prefix}/Add")  # RmsNorm: x * 1/sqrt(mean(x^2) + eps)
        eps = None if add is None else constant_value(add.input[1])
        if eps is None:
            raise FuseError(f"{path}: cannot find the epsilon of '{parameter}' ({node_prefix}/Add)")
        return read_initializer(inits[scale], base).astype(np.float32), float(eps)

    layers = []
    for i in range(num_layers):
        p = f"/decoder/layers.{i}"
        layers.append({
            "q": weight(f"{p}/self_attn/q_proj/MatMul"), "k": weight(f"{p}/self_attn/k_proj/MatMul"),
            "v": weight(f"{p}/self_attn/v_proj/MatMul"), "o": weight(f"{p}/self_attn/o_proj/MatMul"),
            "gate": weight(f"{p}/gate_proj/MatMul"), "up": weight(f"{p}/up_proj/MatMul"),
            "down": weight(f"{p}/down_proj/MatMul"),
            "input_norm": norm(f"decoder.layers.{i}.input_layernorm", f"{p}/input_layernorm"),
            "post_norm": norm(f"decoder.layers.{i}.post_attention_layernorm", f"{p}/post_attention_layernorm"),
        })
    if nodes.get(f"/decoder/layers.{num_layers}/self_attn/q_proj/MatMul") is not None:
        raise FuseError(f"{path}: the graph has more than num_hidden_layers = {num_layers} layers")
    rotary = nodes.get("/decoder/Mul")
    inv_freq = None if rotary is None else constant_value(rotary.input[1])
    if inv_freq is None or inv_freq.ndim != 1:
        raise FuseError(f"{path}: cannot find the rotary inverse frequencies (the constant of /decoder/Mul)")
    inputs = {v.name: v for v in graph.input}
    keep = inputs.get("num_logits_to_keep")
    return {
        "layers": layers,
        "norm": norm("decoder.norm", "/decoder/norm"),
        "lm_head": weight("/decoder/lm_head/MatMul"),
        "inv_freq": inv_freq.astype(np.float32),
        "keep_rank": None if keep is None else len(keep.type.tensor_type.shape.dim),
    }


def rotary_cache(inv_freq, max_positions):
    """cos and sin [max_positions, hd/2] exactly as the reference computes them: float32 position x
    float32 inverse frequency, then cos/sin in float32."""
    freqs = np.arange(max_positions, dtype=np.float32)[:, None] * inv_freq[None, :]
    return np.cos(freqs).astype(np.float32), np.sin(freqs).astype(np.float32)


ATTENTION = ("gqa", "matmul")


def build(weights, heads, kv_heads, head_dim, max_positions, attention="gqa"):
    """The fused decoder as an onnx.ModelProto (weights inline). attention="gqa": GroupQueryAttention;
    "matmul": grouped attention in standard operators (below)."""
    if attention not in ATTENTION:
        raise FuseError(f"attention must be one of {ATTENTION}, not {attention!r}")
    layers = weights["layers"]
    d = layers[0]["q"].shape[0]
    inter = layers[0]["gate"].shape[1]
    vocab = weights["lm_head"].shape[1]
    if layers[0]["q"].shape[1] != heads * head_dim or layers[0]["k"].shape[1] != kv_heads * head_dim:
        raise FuseError(f"q/k widths {layers[0]['q'].shape[1]}/{layers[0]['k'].shape[1]} do not match "
                        f"{heads} heads and {kv_heads} KV heads of {head_dim}")
    if weights["inv_freq"].shape[0] * 2 != head_dim:
        raise FuseError(f"{weights['inv_freq'].shape[0]} rotary frequencies for head_dim {head_dim}")
    nodes, inits, written = [], [], {}

    def init(name, array):
        if name in written:  # a constant shared by several parts is written once, and must be the same each time
            if not np.array_equal(written[name], array):
                raise AssertionError(f"two different initializers named {name}")
            return name
        written[name] = array
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, outputs, name, domain="", **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, name=name, domain=domain, **attrs))
        return outputs

    cos, sin = rotary_cache(weights["inv_freq"], max_positions)
    init("cos_cache", cos)
    init("sin_cache", sin)
    init("one_i64", np.array(1, dtype=np.int64))
    init("axis_1", np.array([1], dtype=np.int64))
    init("index_1", np.array(1, dtype=np.int64))

    node("Shape", ["attention_mask"], ["mask_shape"], "mask_shape")
    node("Gather", ["mask_shape", "index_1"], ["total_i64"], "total_length", axis=0)
    if attention == "gqa":
        # seqlens_k [B] int32 = (ones in the mask) - 1; total_sequence_length int32 scalar = mask width
        node("ReduceSum", ["attention_mask", "axis_1"], ["mask_count"], "mask_count", keepdims=0)
        node("Sub", ["mask_count", "one_i64"], ["seqlens_i64"], "seqlens_minus_one")
        node("Cast", ["seqlens_i64"], ["seqlens_k"], "seqlens_k", to=TensorProto.INT32)
        node("Cast", ["total_i64"], ["total_sequence_length"], "total_sequence_length", to=TensorProto.INT32)
    else:
        _attention_bias(node, init, heads // kv_heads)

    x = "inputs_embeds"
    w, eps = layers[0]["input_norm"]
    h = node("SimplifiedLayerNormalization", [x, init("layers.0.input_layernorm", w)], ["layers.0.h"],
             "layers.0/input_layernorm", axis=-1, epsilon=eps, stash_type=1)[0]
    for i, layer in enumerate(layers):
        p = f"layers.{i}"
        qkv = np.concatenate([layer["q"], layer["k"], layer["v"]], axis=1)      # [D, (H + 2 Hkv) hd]
        node("MatMul", [h, init(f"{p}.qkv_proj", qkv)], [f"{p}.qkv"], f"{p}/qkv_proj")
        if attention == "gqa":
            node("GroupQueryAttention",
                 [f"{p}.qkv", "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value",
                  "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"],
                 [f"{p}.attn", f"present.{i}.key", f"present.{i}.value"], f"{p}/attention", domain=MS_DOMAIN,
                 num_heads=heads, kv_num_heads=kv_heads, do_rotary=1, rotary_interleaved=0)
        else:
            _grouped_attention(node, init, i, heads, kv_heads, head_dim)
        node("MatMul", [f"{p}.attn", init(f"{p}.o_proj", layer["o"])], [f"{p}.o"], f"{p}/o_proj")
        w, eps = layer["post_norm"]
        node("SkipSimplifiedLayerNormalization", [f"{p}.o", x, init(f"{p}.post_attention_layernorm", w)],
             [f"{p}.h2", "", "", f"{p}.x1"], f"{p}/post_attention_layernorm", domain=MS_DOMAIN, epsilon=eps)
        gate_up = np.concatenate([layer["gate"], layer["up"]], axis=1)           # [D, 2I]
        node("MatMul", [f"{p}.h2", init(f"{p}.gate_up_proj", gate_up)], [f"{p}.gu"], f"{p}/gate_up_proj")
        node("Split", [f"{p}.gu", init(f"{p}.split", np.array([inter, inter], dtype=np.int64))],
             [f"{p}.g", f"{p}.u"], f"{p}/split", axis=-1)
        node("Sigmoid", [f"{p}.g"], [f"{p}.sig"], f"{p}/sigmoid")
        node("Mul", [f"{p}.g", f"{p}.sig"], [f"{p}.silu"], f"{p}/silu")
        node("Mul", [f"{p}.silu", f"{p}.u"], [f"{p}.act"], f"{p}/gated")
        node("MatMul", [f"{p}.act", init(f"{p}.down_proj", layer["down"])], [f"{p}.m"], f"{p}/down_proj")
        last = i == len(layers) - 1
        w, eps = weights["norm"] if last else layers[i + 1]["input_norm"]
        nxt = "norm" if last else f"layers.{i + 1}"
        h = f"{nxt}.h"
        node("SkipSimplifiedLayerNormalization", [f"{p}.m", f"{p}.x1", init(f"{nxt}.norm_weight", w)],
             [h, "", "", "" if last else f"{nxt}.x"], f"{nxt}/norm", domain=MS_DOMAIN, epsilon=eps)
        x = f"{nxt}.x"

    inputs = [helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch", "sequence_length", d]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "total_sequence_length"])]
    if attention == "matmul":
        inputs.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "sequence_length"]))
    if weights["keep_rank"] is not None:
        # logits for the last k positions only: Slice(h, -k, end) along the sequence
        inputs.append(helper.make_tensor_value_info("num_logits_to_keep", TensorProto.INT64, [1] * weights["keep_rank"]))
        keep = "num_logits_to_keep"
        if weights["keep_rank"] == 0:
            node("Unsqueeze", [keep, init("axis_0", np.array([0], dtype=np.int64))], ["keep_1d"], "keep_1d")
            keep = "keep_1d"
        node("Neg", [keep], ["keep_start"], "keep_start")
        node("Slice", [h, "keep_start", init("keep_end", np.array([np.iinfo(np.int64).max], dtype=np.int64)), "axis_1"],
             ["kept"], "keep_last")
        h = "kept"
    node("MatMul", [h, init("lm_head", weights["lm_head"])], ["logits"], "lm_head")
    kv = ["batch", kv_heads, "past_sequence_length", head_dim]
    present = ["batch", kv_heads, "total_sequence_length", head_dim]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "logits_length", vocab])]
    for i in range(len(layers)):
        for part in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{part}", TensorProto.FLOAT, kv))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{part}", TensorProto.FLOAT, present))
    graph = helper.make_graph(nodes, "decoder_fused", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)],
                              producer_name="llavagen.fuse")
    model.ir_version = 8
    return model, {"layers": len(layers), "nodes": len(nodes), "hidden": d, "intermediate": inter, "vocab": vocab}


def _attention_bias(node, init, groups):
    """attention.bias [B, 1, G*S, T]: 0 where query s may see key t (t <= P + s and attention_mask[b, t] = 1),
    float32's lowest value elsewhere, as the reference adds it; its S rows repeated G times, row g*S + s."""
    init("zero_i64", np.array(0, dtype=np.int64))
    init("axis_0", np.array([0], dtype=np.int64))
    init("bias_open", np.array(0.0, dtype=np.float32))
    init("bias_shut", np.array(np.finfo(np.float32).min, dtype=np.float32))
    init("bias_tiles", np.array([1, 1, groups, 1], dtype=np.int64))
    node("Shape", ["inputs_embeds"], ["embeds_shape"], "embeds_shape")
    node("Gather", ["embeds_shape", "index_1"], ["new_length"], "new_length", axis=0)             # S
    node("Sub", ["total_i64", "new_length"], ["past_length"], "past_length")                     # P = T - S
    node("Range", ["zero_i64", "total_i64", "one_i64"], ["key_positions"], "key_positions")      # [T]
    node("Range", ["past_length", "total_i64", "one_i64"], ["query_positions"], "query_positions")  # [S]
    node("Unsqueeze", ["key_positions", "axis_0"], ["key_row"], "key_row")                       # [1, T]
    node("Unsqueeze", ["query_positions", "axis_1"], ["query_column"], "query_column")           # [S, 1]
    node("LessOrEqual", ["key_row", "query_column"], ["causal"], "causal")                       # [S, T]
    node("Greater", ["attention_mask", "zero_i64"], ["key_kept"], "key_kept")                      # [B, T]
    node("Unsqueeze", ["key_kept", "axis_1"], ["kept_rows"], "kept_rows")                            # [B, 1, T]
    node("And", ["causal", "kept_rows"], ["visible"], "visible")                                 # [B, S, T]
    node("Where", ["visible", "bias_open", "bias_shut"], ["bias_bst"], "bias")                   # [B, S, T]
    node("Unsqueeze", ["bias_bst", "axis_1"], ["bias_b1st"], "bias_heads")                       # [B, 1, S, T]
    node("Tile", ["bias_b1st", "bias_tiles"], ["attention.bias"], "bias_groups")                 # [B, 1, G*S, T]


def _grouped_attention(node, init, i, heads, kv_heads, head_dim):
    """Causal grouped-query attention in standard operators, with the KV cache read once per KV head:
    the G = H / Hkv query heads of a KV head are stacked as G*S rows of one MatMul against it (head
    h = kv*G + g, as the reference's repeat_kv orders them). Rotary embedding by com.microsoft
    RotaryEmbedding (rotate-half) at position_ids."""
    p = f"layers.{i}"
    g = heads // kv_heads
    if i == 0:
        init("split_qkv", np.array([heads * head_dim, kv_heads * head_dim, kv_heads * head_dim], dtype=np.int64))
        init("shape_bshd", np.array([0, 0, kv_heads, head_dim], dtype=np.int64))      # [B, S, Hkv, hd]
        init("shape_bskgd", np.array([0, 0, kv_heads, g, head_dim], dtype=np.int64))  # [B, S, Hkv, G, hd]
        init("shape_rows", np.array([0, 0, -1, head_dim], dtype=np.int64))           # [B, Hkv, G*S, hd]
        init("shape_kgsd", np.array([0, 0, g, -1, head_dim], dtype=np.int64))         # [B, Hkv, G, S, hd]
        init("shape_bsh", np.array([0, 0, -1], dtype=np.int64))                       # [B, S, H*hd]
        init("attention_scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    node("Split", [f"{p}.qkv", "split_qkv"], [f"{p}.q", f"{p}.k", f"{p}.v"], f"{p}/split_qkv", axis=-1)
    for part in ("q", "k"):
        node("RotaryEmbedding", [f"{p}.{part}", "position_ids", "cos_cache", "sin_cache"], [f"{p}.{part}_rot"],
             f"{p}/rotary_{part}", domain=MS_DOMAIN, interleaved=0)
    for part, src in (("key", f"{p}.k_rot"), ("value", f"{p}.v")):
        node("Reshape", [src, "shape_bshd"], [f"{p}.{part}_bshd"], f"{p}/{part}_heads")
        node("Transpose", [f"{p}.{part}_bshd"], [f"{p}.{part}_new"], f"{p}/{part}_bhsd", perm=[0, 2, 1, 3])
        node("Concat", [f"past_key_values.{i}.{part}", f"{p}.{part}_new"], [f"present.{i}.{part}"],
             f"{p}/{part}_cache", axis=2)                                                    # [B, Hkv, T, hd]
    node("Reshape", [f"{p}.q_rot", "shape_bskgd"], [f"{p}.q5"], f"{p}/q_groups")
    node("Transpose", [f"{p}.q5"], [f"{p}.q_kgsd"], f"{p}/q_kgsd", perm=[0, 2, 3, 1, 4])       # [B, Hkv, G, S, hd]
    node("Reshape", [f"{p}.q_kgsd", "shape_rows"], [f"{p}.q_rows"], f"{p}/q_rows")           # [B, Hkv, G*S, hd]
    node("Transpose", [f"present.{i}.key"], [f"{p}.key_t"], f"{p}/key_t", perm=[0, 1, 3, 2])   # [B, Hkv, hd, T]
    node("MatMul", [f"{p}.q_rows", f"{p}.key_t"], [f"{p}.qk"], f"{p}/qk")                     # [B, Hkv, G*S, T]
    node("Mul", [f"{p}.qk", "attention_scale"], [f"{p}.scores"], f"{p}/scale")
    node("Add", [f"{p}.scores", "attention.bias"], [f"{p}.masked"], f"{p}/mask")
    node("Softmax", [f"{p}.masked"], [f"{p}.probs"], f"{p}/softmax", axis=-1)
    node("MatMul", [f"{p}.probs", f"present.{i}.value"], [f"{p}.o_rows"], f"{p}/pv")          # [B, Hkv, G*S, hd]
    node("Reshape", [f"{p}.o_rows", "shape_kgsd"], [f"{p}.o5"], f"{p}/o_groups")
    node("Transpose", [f"{p}.o5"], [f"{p}.o_bskgd"], f"{p}/o_bskgd", perm=[0, 3, 1, 2, 4])     # [B, S, Hkv, G, hd]
    node("Reshape", [f"{p}.o_bskgd", "shape_bsh"], [f"{p}.attn"], f"{p}/o_heads")             # [B, S, H*hd]


def fuse_decoder(src_path, dst_path, config, external_threshold=1 << 30, attention="gqa"):
    """Reads src_path (an exported fp32 decoder), writes the fused decoder to dst_path. `config` is
    the folder's attanchor.json as a dict. Returns a summary dict."""
    weights = read_decoder(src_path, config["num_hidden_layers"])
    model, summary = build(weights, config["num_attention_heads"], config["num_key_value_heads"],
                           config["head_dim"], config["max_position_embeddings"], attention)
    total = sum(len(i.raw_data) for i in model.graph.initializer)
    summary["external"] = total > external_threshold
    save_graph(model, dst_path, summary["external"])
    return summary


def fuse_folder(src, out, attention="gqa", link=True):
    """Copies the model folder `src` to `out` (hard links where it can with `link`, copies otherwise)
    with its decoder fused, and rewrites references/checks.json when there is one (fused_checks).
    Returns (fuse_decoder's summary, the names of the reference cases left out)."""
    with open(os.path.join(src, "attanchor.json"), encoding="utf-8") as f:
        config = json.load(f)
    os.makedirs(out, exist_ok=True)
    copy_folder(src, out, [DECODER], link=link)
    summary = fuse_decoder(os.path.join(src, DECODER), os.path.join(out, DECODER), config, attention=attention)
    checks = os.path.join(src, CHECKS)
    dropped = []
    if os.path.isfile(checks):
        dropped = fused_checks(checks, os.path.join(out, CHECKS), keep_positions=attention == "matmul")
    return summary, dropped


def fused_checks(src_checks, dst_checks, keep_positions=False):
    """GroupQueryAttention: the decoder cases the fused graph can take (a mask of ones), without
    position_ids; every other case as it was. keep_positions (the matmul attention): every case as it
    was. Returns the names of the cases left out."""
    with open(src_checks, encoding="utf-8") as f:
        doc = json.load(f)
    base = os.path.dirname(src_checks)

    kept, dropped = [], []
    for case in doc["cases"]:
        if case["graph"] != DECODER:
            kept.append(case)
            continue
        if keep_positions:
            kept.append(case)
            continue
        mask = npyio.load(os.path.join(base, case["inputs"]["attention_mask"]["file"]))
        if not mask.all():
            dropped.append(case["name"] + " (padding: GroupQueryAttention takes a mask of ones)")
            continue
        case = dict(case, inputs={k: v for k, v in case["inputs"].items() if k != "position_ids"})
        kept.append(case)
    doc["cases"] = kept
    if os.path.lexists(dst_checks):
        os.unlink(dst_checks)  # a hard link to the source folder's file: replace it, never write through
    with open(dst_checks, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return dropped
