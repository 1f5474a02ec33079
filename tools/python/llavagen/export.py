"""Exports a Llava module to the model folder of docs/spec/model-folder.md.

Graphs (opset 17, one ONNX Runtime session per role):
  vision_encoder.onnx        pixel_values f32 [B, 3, H, W]        -> image_features [B, M, Dv]
  projector.onnx (optional)  image_features [B, M, Dv]            -> image_embeds [B, M, D]
  embed_tokens.onnx          input_ids i64 [B, S]                 -> inputs_embeds [B, S, D]
  decoder_model_merged.onnx  inputs_embeds [B, S, D], attention_mask i64 [B, P+S],
                             position_ids i64 [B, S] (optional), num_logits_to_keep i64 [] (optional),
                             past_key_values.{i}.key/.value [B, Hkv, P, hd]
                             -> logits [B, S or k, V], present.{i}.key/.value [B, Hkv, P+S, hd]

Graphs whose weights pass 1 GiB keep them in one external data file beside them
(`<graph>.onnx.data`). With dtype="fp16" every float weight and every float input and output is
float16; arithmetic stays float32 inside the graph (casts after the weights and inputs, before
the outputs), so the file is half the size and a consumer must feed and read float16.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
from torch import nn

from .onnxio import save_graph

OPSET = 17
EXTERNAL_DATA_THRESHOLD = 1 << 30  # bytes of weights above which a graph keeps them outside


class VisionGraph(nn.Module):
    def __init__(self, vision):
        super().__init__()
        self.vision = vision

    def forward(self, pixel_values):
        return self.vision(pixel_values)


class EmbedGraph(nn.Module):
    def __init__(self, embed):
        super().__init__()
        self.embed = embed

    def forward(self, input_ids):
        return self.embed(input_ids)


class DecoderGraph(nn.Module):
    """Flat inputs and outputs for the exporter: (embeds, mask, [position_ids], [keep], past...)."""

    def __init__(self, decoder, position_ids, logits_to_keep):
        super().__init__()
        self.decoder, self.position_ids, self.logits_to_keep = decoder, position_ids, logits_to_keep

    def forward(self, inputs_embeds, attention_mask, *rest):
        rest = list(rest)
        position_ids = rest.pop(0) if self.position_ids else None
        keep = rest.pop(0) if self.logits_to_keep else None
        past = [(rest[2 * i], rest[2 * i + 1]) for i in range(len(rest) // 2)]
        logits, presents = self.decoder(inputs_embeds, attention_mask, position_ids, past, keep)
        return (logits, *[t for kv in presents for t in kv])


def decoder_io_names(cfg):
    t = cfg.text
    inputs = ["inputs_embeds", "attention_mask"]
    if cfg.decoder_position_ids:
        inputs.append("position_ids")
    if cfg.decoder_logits_to_keep:
        inputs.append("num_logits_to_keep")
    past = [f"past_key_values.{i}.{kv}" for i in range(t.num_layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(t.num_layers) for kv in ("key", "value")]
    return inputs + past, ["logits"] + present


def decoder_args(cfg, embeds, mask, position_ids, keep, past):
    args = [embeds, mask]
    if cfg.decoder_position_ids:
        args.append(position_ids)
    if cfg.decoder_logits_to_keep:
        args.append(torch.tensor(keep, dtype=torch.int64))
    return args + [t for kv in past for t in kv]


def _torch_export(module, args, path, **options):
    """torch.onnx.export with the TorchScript (tracing) exporter, which torch >= 2.9 no longer
    uses by default; this tooling was written and verified against it (torch 1.13)."""
    import inspect
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False
    torch.onnx.export(module, tuple(args), path, opset_version=OPSET, do_constant_folding=True, **options)


def _export(module, args, path, input_names, output_names, dynamic_axes):
    """Exports with torch.onnx, consolidating any external data into one file beside the graph."""
    weight_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    with torch.no_grad():
        if weight_bytes < EXTERNAL_DATA_THRESHOLD:
            _torch_export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes)
            return
        scratch = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(path)))
        try:
            raw = os.path.join(scratch, "graph.onnx")
            _torch_export(module, args, raw, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes)
            proto = onnx.load(raw)
            save_graph(proto, path, external=True)
        finally:
            shutil.rmtree(scratch)


def set_output_shapes(path, shapes):
    """Writes the output shapes the exporter left symbolic (e.g. M and Dv of image_features), so a
    consumer can check them against attanchor.json. `shapes` maps output name -> dims (int or str)."""
    proto = onnx.load(path, load_external_data=False)
    for value in proto.graph.output:
        if value.name not in shapes:
            continue
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for d in shapes[value.name]:
            dim = dims.add()
            if isinstance(d, int):
                dim.dim_value = d
            else:
                dim.dim_param = d
    onnx.save(proto, path)


@torch.no_grad()
def round_weights_to_float16(model):
    """Rounds every weight to the nearest float16 value (kept as float32), so that PyTorch
    references match what a dtype="fp16" export holds."""
    for p in model.parameters():
        p.copy_(p.half().float())
    return model


def to_float16_io(path):
    """Rewrites a float32 graph so weights and float inputs/outputs are float16 (compute stays float32)."""
    proto = onnx.load(path)
    graph = proto.graph
    nodes = []
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            array = numpy_helper.to_array(init).astype(np.float16)
            name = init.name
            init.CopyFrom(numpy_helper.from_array(array, name + "_fp16"))
            nodes.append(helper.make_node("Cast", [name + "_fp16"], [name], to=TensorProto.FLOAT, name=name + "_to_fp32"))
    for value in graph.input:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16
            renamed = value.name + "_fp32"
            for node in graph.node:
                node.input[:] = [renamed if i == value.name else i for i in node.input]
            nodes.append(helper.make_node("Cast", [value.name], [renamed], to=TensorProto.FLOAT, name=value.name + "_to_fp32"))
    tail = []
    for value in graph.output:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16
            renamed = value.name + "_fp32"
            for node in graph.node:
                node.output[:] = [renamed if o == value.name else o for o in node.output]
                node.input[:] = [renamed if i == value.name else i for i in node.input]
            tail.append(helper.make_node("Cast", [renamed], [value.name], to=TensorProto.FLOAT16, name=value.name + "_to_fp16"))
    old = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + old + tail)
    del graph.value_info[:]
    external = os.path.exists(path + ".data")
    save_graph(proto, path, external)


def export_folder(model, cfg, out_dir, tokenizer_model, dtype="fp32", example=(2, 3, 4)):
    """Writes the four graphs, attanchor.json and tokenizer.model. `example` = (B, S, P) for tracing."""
    if dtype not in ("fp32", "fp16"):
        raise ValueError("dtype must be fp32 or fp16")
    os.makedirs(out_dir, exist_ok=True)
    model = model.float().eval()
    v, t = cfg.vision, cfg.text
    b, s, p = example
    gen = torch.Generator().manual_seed(12345)
    paths = []

    pixels = torch.randn(b, 3, v.image_size, v.image_size, generator=gen)
    path = os.path.join(out_dir, "vision_encoder.onnx")
    _export(VisionGraph(model.vision), [pixels], path, ["pixel_values"], ["image_features"],
            {"pixel_values": {0: "batch"}, "image_features": {0: "batch"}})
    set_output_shapes(path, {"image_features": ["batch", v.num_image_tokens, v.hidden_size]})
    paths.append(path)

    if model.projector is not None:
        features = torch.randn(b, v.num_image_tokens, v.hidden_size, generator=gen)
        path = os.path.join(out_dir, "projector.onnx")
        _export(model.projector, [features], path, ["image_features"], ["image_embeds"],
                {"image_features": {0: "batch", 1: "num_image_tokens"}, "image_embeds": {0: "batch", 1: "num_image_tokens"}})
        set_output_shapes(path, {"image_embeds": ["batch", "num_image_tokens", t.hidden_size]})
        paths.append(path)

    ids = torch.randint(3, t.vocab_size, (b, s), generator=gen)
    path = os.path.join(out_dir, "embed_tokens.onnx")
    _export(EmbedGraph(model.embed_tokens), [ids], path, ["input_ids"], ["inputs_embeds"],
            {"input_ids": {0: "batch", 1: "sequence_length"}, "inputs_embeds": {0: "batch", 1: "sequence_length"}})
    set_output_shapes(path, {"inputs_embeds": ["batch", "sequence_length", t.hidden_size]})
    paths.append(path)

    embeds = torch.randn(b, s, t.hidden_size, generator=gen)
    mask = torch.ones(b, p + s, dtype=torch.int64)
    position_ids = (torch.arange(s) + p).unsqueeze(0).expand(b, s).contiguous()
    past = [(torch.randn(b, t.num_kv_heads, p, t.head_dim, generator=gen),
             torch.randn(b, t.num_kv_heads, p, t.head_dim, generator=gen)) for _ in range(t.num_layers)]
    inputs, outputs = decoder_io_names(cfg)
    axes = {"inputs_embeds": {0: "batch", 1: "sequence_length"},
            "attention_mask": {0: "batch", 1: "total_sequence_length"},
            "position_ids": {0: "batch", 1: "sequence_length"},
            "logits": {0: "batch", 1: "logits_length"}}
    for name in inputs[2:]:
        if name.startswith("past_key_values"):
            axes[name] = {0: "batch", 2: "past_sequence_length"}
    for name in outputs[1:]:
        axes[name] = {0: "batch", 2: "total_sequence_length"}
    axes = {k: a for k, a in axes.items() if k in inputs or k in outputs}
    path = os.path.join(out_dir, "decoder_model_merged.onnx")
    _export(DecoderGraph(model.decoder, cfg.decoder_position_ids, cfg.decoder_logits_to_keep),
            decoder_args(cfg, embeds, mask, position_ids, s, past), path, inputs, outputs, axes)
    kv = ["batch", t.num_kv_heads, "total_sequence_length", t.head_dim]
    set_output_shapes(path, {"logits": ["batch", "logits_length", t.vocab_size], **{o: kv for o in outputs[1:]}})
    paths.append(path)

    if dtype == "fp16":
        for path in paths:
            to_float16_io(path)

    settings = cfg.attanchor_json()
    with open(os.path.join(out_dir, "attanchor.json"), "w", encoding="utf-8") as f:
        json.dump(settings, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out_dir, "tokenizer.model"), "wb") as f:
        f.write(tokenizer_model)
    return paths
