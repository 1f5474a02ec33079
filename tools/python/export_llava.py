#!/usr/bin/env python3
"""Exports a Hugging Face LLaVA checkpoint (LlavaForConditionalGeneration) to the model folder
of docs/spec/model-folder.md, and checks the result.

    pip install -r models/requirements.txt
    python models/export_llava.py --model bczhou/tiny-llava-v1-hf --out models/generated/tiny-llava-v1
    python models/export_llava.py --model /path/to/checkpoint-folder --out DIR --fp16
    python models/export_llava.py --random-small --out /tmp/llava-small   # no download: a tiny random
                                                                         # checkpoint, the whole path
    python models/export_llava.py --self-test                            # no transformers needed

Options: --fp16 (float16 weights and float I/O, float32 arithmetic), --prompt-template
(default "USER: <image>\\n{question}\\nASSISTANT:"), --threshold (AttAnchor default, 0.12),
--revision, --references (also references/references.json, as models/generate.py writes it), -v.

How: HF modules are never traced. The checkpoint is loaded with transformers, its config is
checked and turned into a llavagen ModelConfig, the weights are copied by name into
llavagen.arch.Llava (which keeps only the vision layers the feature layer needs), and that
module is exported with llavagen.export. Checks, each failing the run above its tolerance:
  1. PyTorch vs PyTorch: HF's vision features, projector output, logits and greedy tokens
     against ours, on models/fixtures/images/square.png;
  2. ONNX vs PyTorch (when onnxruntime is installed): every graph on the inputs of
     references/checks.json, and greedy decoding through the four graphs.
It always writes references/checks.json (+ tensors) for `dotnet run --project models/GraphCheck`
and tokenizer_check.json (whole prompts as the checkpoint's HF tokenizer gives them, <image> as
its added token). attanchor.json records the tokenizer's convention after <image> ("legacy" in
tokenizer_config.json, as tokenizer_legacy) and config.json's image_token_index.
"""
import argparse
import dataclasses
import gc
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import numpy as np
    import torch
    from llavagen import arch, config as lconfig, export, imageproc, npyio, paths, references, tokenizer as ltok
except ImportError as e:
    sys.exit(f"error: {e}: run `pip install -r models/requirements.txt`")

IMAGES = paths.IMAGES
QUESTION = "What is in the image?"
TOKENIZER_PROMPTS = ["What is in the image?", "Is there a dog?", "Describe the café: 猫 🐈"]
GREEDY_STEPS = 8
TOLERANCE = 1e-3            # PyTorch vs PyTorch, relative to max(1, the largest |value|)


class ExportError(Exception):
    """A one-line problem with what to do about it (exit status 2)."""


class CheckFailed(Exception):
    """A verification above its tolerance (exit status 1)."""


# TinyLLaVA v1's preprocessor_config.json (CLIPImageProcessor, 336 px).
TINY_PP = {"crop_size": {"height": 336, "width": 336}, "do_center_crop": True, "do_normalize": True, "do_rescale": True,
           "do_resize": True, "image_mean": lconfig.CLIP_MEAN, "image_std": lconfig.CLIP_STD, "resample": 3,
           "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336}}


# --- config --------------------------------------------------------------------------------

def _get(obj, name, default=None):
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def _unsupported(what, value, fix):
    raise ExportError(f"unsupported checkpoint: {what} = {value!r}: {fix}; this exporter covers LLaVA-1.5-style "
                      "CLIP ViT + Llama checkpoints, anything else needs models/llavagen/arch.py extended first")


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _image_settings(pp, image_size):
    """(mean, std, resize_mode) from a CLIPImageProcessor config dict."""
    if pp.get("resample", 3) != 3:
        _unsupported("image processor resample", pp["resample"], "only bicubic (3) is implemented")
    if not pp.get("do_resize", True) or not pp.get("do_normalize", True):
        _unsupported("image processor do_resize/do_normalize", False, "both must be true")
    if pp.get("do_rescale", True) and abs(pp.get("rescale_factor", 1 / 255) - 1 / 255) > 1e-9:
        _unsupported("image processor rescale_factor", pp["rescale_factor"], "only 1/255 is implemented")
    size = pp.get("size", {"shortest_edge": image_size})
    if pp.get("do_center_crop", True):   # CLIPImageProcessor's default
        crop = pp.get("crop_size", image_size)
        crop = (crop["height"], crop["width"]) if isinstance(crop, dict) else (crop, crop)
        edge = size if isinstance(size, int) else size.get("shortest_edge")
        if crop != (image_size, image_size) or edge != image_size:
            _unsupported("image processor crop_size/size", (pp.get("crop_size"), size),
                         f"the shortest edge and the crop must both be the vision tower's image_size {image_size}")
        mode = "shortest_edge_center_crop"
    else:
        if not isinstance(size, dict) or (size.get("height"), size.get("width")) != (image_size, image_size):
            _unsupported("image processor size without centre crop", size, f"expected height = width = {image_size}")
        mode = "stretch"
    return list(pp.get("image_mean", lconfig.CLIP_MEAN)), list(pp.get("image_std", lconfig.CLIP_STD)), mode


def build_config(hf, pp, name, template, threshold):
    """llavagen ModelConfig from a LlavaConfig (or anything with its fields) and the image
    processor's config dict. Refuses what llavagen.arch does not implement."""
    v, t = hf.vision_config, hf.text_config
    if _get(v, "model_type", "clip_vision_model") != "clip_vision_model":
        _unsupported("vision_config.model_type", _get(v, "model_type"), "only CLIP vision towers are implemented")
    if _get(t, "model_type", "llama") != "llama":
        _unsupported("text_config.model_type", _get(t, "model_type"), "only Llama decoders are implemented")
    if _get(v, "hidden_act", "quick_gelu") != "quick_gelu":
        _unsupported("vision_config.hidden_act", _get(v, "hidden_act"), "only quick_gelu is implemented")
    if _get(v, "num_channels", 3) != 3:
        _unsupported("vision_config.num_channels", _get(v, "num_channels"), "only RGB is implemented")
    layer = _get(hf, "vision_feature_layer", -2)
    if not isinstance(layer, int):
        _unsupported("vision_feature_layer", layer, "a list of layers is not implemented; use one layer")
    select = _get(hf, "vision_feature_select_strategy", "default")
    if select not in ("default", "full"):
        _unsupported("vision_feature_select_strategy", select, "expected default or full")
    if _get(hf, "projector_hidden_act", "gelu") != "gelu":
        _unsupported("projector_hidden_act", _get(hf, "projector_hidden_act"), "only gelu is implemented")
    if _get(hf, "multimodal_projector_bias", True) is not True:
        _unsupported("multimodal_projector_bias", _get(hf, "multimodal_projector_bias"), "a projector without bias is not implemented")
    rope = _get(t, "rope_parameters") or _get(t, "rope_scaling") or {}
    if _get(rope, "rope_type", _get(rope, "type", "default")) != "default":
        _unsupported("text_config rope scaling", rope, "only plain RoPE is implemented")
    for key, ok in (("attention_bias", False), ("mlp_bias", False), ("hidden_act", "silu"), ("tie_word_embeddings", False)):
        if _get(t, key, ok) != ok:
            _unsupported(f"text_config.{key}", _get(t, key), f"only {ok!r} is implemented")
    heads = _get(t, "num_attention_heads")
    if _get(t, "head_dim") not in (None, t.hidden_size // heads):
        _unsupported("text_config.head_dim", _get(t, "head_dim"), "only hidden_size / num_attention_heads is implemented")
    total = v.num_hidden_layers
    needed = layer if layer >= 0 else total + 1 + layer
    if not 0 <= needed <= total:
        _unsupported("vision_feature_layer", layer, f"outside the tower's 0..{total} hidden states")
    vision = lconfig.VisionConfig(image_size=v.image_size, patch_size=v.patch_size, hidden_size=v.hidden_size,
                                  num_layers=needed, num_heads=v.num_attention_heads,
                                  intermediate_size=v.intermediate_size, feature_layer=needed,
                                  feature_select=select, layer_norm_eps=_get(v, "layer_norm_eps", 1e-5))
    text = lconfig.TextConfig(hidden_size=t.hidden_size, num_layers=t.num_hidden_layers, num_heads=heads,
                              num_kv_heads=_get(t, "num_key_value_heads") or heads,
                              intermediate_size=t.intermediate_size, vocab_size=t.vocab_size,
                              rms_norm_eps=_get(t, "rms_norm_eps", 1e-6),
                              rope_theta=float(_get(t, "rope_theta") or _get(rope, "rope_theta", 10000.0)),
                              max_position_embeddings=_get(t, "max_position_embeddings", 2048))
    seq = _get(hf, "image_seq_length")
    if seq is not None and seq != vision.num_image_tokens:
        print(f"warning: image_seq_length {seq} differs from the {vision.num_image_tokens} image tokens the tower gives")
    bos, eos = _get(t, "bos_token_id"), _get(t, "eos_token_id")
    bos, eos = 1 if bos is None else bos, 2 if eos is None else eos
    mean, std, mode = _image_settings(pp, v.image_size)
    if template.count("<image>") != 1 or template.count("{question}") != 1:
        raise ExportError("--prompt-template must hold <image> and {question} exactly once")
    image_token = _get(hf, "image_token_index", _get(hf, "image_token_id"))
    return lconfig.ModelConfig(name=name, vision=vision, text=text, projector=True, image_mean=mean, image_std=std,
                               resize_mode=mode, prompt_template=template, bos_token_id=bos,
                               eos_token_id=eos[0] if isinstance(eos, list) else eos, threshold=threshold,
                               image_token_index=image_token)


def probe_legacy(tokenize, to_token):
    """What the loaded Hugging Face tokenizer does after an added token: True when the text after
    <image> gets the dummy prefix (legacy), False when not. `tokenize(text)` gives ids, `to_token(id)`
    a piece. Asking the tokenizer is the only reliable way: transformers 4 and 5 read an absent
    "legacy" differently (true and false), and a tokenizer.json can decide it too."""
    ids = tokenize("a<image>b")
    image = next((i for i, t in enumerate(ids) if to_token(t) == "<image>"), None)
    if image is None or image + 1 >= len(ids):
        raise ExportError("the tokenizer does not keep <image> as one token; is it a LLaVA checkpoint's tokenizer?")
    return to_token(ids[image + 1]).startswith("\u2581")


def tokenizer_legacy(tok_config):
    """The checkpoint tokenizer's convention after an added token when no Hugging Face tokenizer can be
    asked (probe_legacy): tokenizer_config.json's "legacy" (absent: true, as transformers 4 reads it)."""
    legacy = tok_config.get("legacy", True)
    if legacy is None:
        legacy = True
    if not isinstance(legacy, bool):
        raise ExportError(f"tokenizer_config.json: \"legacy\" is {legacy!r}; expected true or false")
    return legacy


# --- weights -------------------------------------------------------------------------------

# HF prefixes, old (< 4.52) and new layouts, to one canonical form (first match wins).
PREFIXES = [("model.vision_tower.vision_model.", "V:"), ("vision_tower.vision_model.", "V:"),
            ("model.multi_modal_projector.", "P:"), ("multi_modal_projector.", "P:"),
            ("model.language_model.", "T:"), ("language_model.model.", "T:"),
            ("language_model.lm_head.", "H:"), ("lm_head.", "H:")]
# Canonical HF name -> llavagen.arch name.
RULES = [(r"V:embeddings\.patch_embedding\.weight", "vision.patch_embedding.weight"),
         (r"V:embeddings\.class_embedding", "vision.class_embedding"),
         (r"V:embeddings\.position_embedding\.weight", "vision.position_embedding"),
         (r"V:pre_layrnorm\.(weight|bias)", r"vision.pre_layrnorm.\1"),
         (r"V:encoder\.layers\.(\d+)\.mlp\.(fc[12]\.(?:weight|bias))", r"vision.layers.\1.\2"),
         (r"V:encoder\.layers\.(\d+)\.((?:layer_norm[12]|self_attn\.(?:q|k|v|out)_proj)\.(?:weight|bias))", r"vision.layers.\1.\2"),
         (r"P:(linear_[12]\.(?:weight|bias))", r"projector.\1"),
         (r"T:embed_tokens\.weight", "embed_tokens.weight"),
         (r"T:layers\.(\d+)\.mlp\.((?:gate|up|down)_proj\.weight)", r"decoder.layers.\1.\2"),
         (r"T:layers\.(\d+)\.((?:input_layernorm|post_attention_layernorm|self_attn\.[qkvo]_proj)\.weight)", r"decoder.layers.\1.\2"),
         (r"T:norm\.weight", "decoder.norm.weight"),
         (r"H:weight", "decoder.lm_head.weight")]


def _our_name(hf_name):
    canon = next((c + hf_name[len(p):] for p, c in PREFIXES if hf_name.startswith(p)), None)
    for pattern, target in RULES if canon else ():
        if re.fullmatch(pattern, canon):
            return re.sub(pattern, target, canon)
    return None


@torch.no_grad()
def map_weights(hf_state, model, verbose=False):
    """Copies an HF LLaVA state dict into llavagen.arch.Llava. Every target is filled exactly
    once with the right shape, or ExportError; returns the HF names left unused."""
    ours = model.state_dict()
    filled, ignored = {}, []
    for hf_name, tensor in hf_state.items():
        name = _our_name(hf_name)
        if name not in ours:
            ignored.append(hf_name)
            continue
        if name in filled:
            raise ExportError(f"weights: {name} is given twice ({filled[name]} and {hf_name}); is this a LLaVA checkpoint?")
        if tuple(tensor.shape) != tuple(ours[name].shape):
            raise ExportError(f"weights: {hf_name} has shape {tuple(tensor.shape)}, {name} needs {tuple(ours[name].shape)}")
        ours[name].copy_(tensor.float())
        filled[name] = hf_name
    missing = [n for n in ours if n not in filled]
    if missing:
        raise ExportError(f"weights: {len(missing)} tensors not found in the checkpoint, e.g. {missing[:3]}; is this a LLaVA checkpoint?")
    print(f"weights: {len(filled)} tensors copied, {len(ignored)} HF tensors unused"
          + (":\n  " + "\n  ".join(ignored) if verbose else " (-v lists them)" if ignored else ""))
    return ignored


# --- loading -------------------------------------------------------------------------------

def _transformers():
    try:
        import transformers
        return transformers
    except ImportError:
        raise ExportError("transformers is not installed: run `pip install -r models/requirements.txt`")


def resolve_checkpoint(model, revision):
    """A local folder, or the Hub snapshot's folder (weights, configs, tokenizer files)."""
    if os.path.isdir(model):
        return model
    _transformers()
    from huggingface_hub import snapshot_download
    patterns = ["*.json", "*.model", "*.txt", "*.safetensors"]
    folder = snapshot_download(model, revision=revision, allow_patterns=patterns)
    if not glob.glob(os.path.join(folder, "*.safetensors")):
        folder = snapshot_download(model, revision=revision, allow_patterns=patterns + ["*.bin"])
    return folder


def load_checkpoint(folder):
    """(HF model in float32, image processor config dict, tokenizer.model bytes, tokenizer_config dict)."""
    tf = _transformers()
    spm_path = os.path.join(folder, "tokenizer.model")
    if not os.path.isfile(spm_path):
        raise ExportError(f"no tokenizer.model in {folder}: the model folder needs the SentencePiece file; copy the "
                          "base LLM's tokenizer.model (e.g. from TinyLlama/TinyLlama-1.1B-Chat-v1.0) there and pass --model FOLDER")
    pp_path, proc_path = os.path.join(folder, "preprocessor_config.json"), os.path.join(folder, "processor_config.json")
    if os.path.isfile(pp_path):
        pp = _read_json(pp_path)
    elif os.path.isfile(proc_path) and "image_processor" in _read_json(proc_path):
        pp = _read_json(proc_path)["image_processor"]
    else:
        raise ExportError(f"no preprocessor_config.json in {folder}: the image processor settings are needed")
    version = tuple(int(x) for x in re.findall(r"\d+", tf.__version__)[:2])
    dtype_kw = "dtype" if version >= (4, 56) else "torch_dtype"
    hf = tf.LlavaForConditionalGeneration.from_pretrained(folder, **{dtype_kw: torch.float32}).eval()
    tok_path = os.path.join(folder, "tokenizer_config.json")
    tok_config = _read_json(tok_path) if os.path.isfile(tok_path) else {}
    with open(spm_path, "rb") as f:
        return hf, pp, f.read(), tok_config


def write_random_small(folder):
    """A tiny random LLaVA checkpoint (TinyLLaVA's geometry and GQA, small widths) with the
    fixture tokenizer, saved the way the Hub has them."""
    tf = _transformers()
    vision = dict(model_type="clip_vision_model", image_size=336, patch_size=14, hidden_size=32, num_hidden_layers=3,
                  num_attention_heads=2, intermediate_size=64, projection_dim=32, hidden_act="quick_gelu")
    text = dict(model_type="llama", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                intermediate_size=128, vocab_size=512, max_position_embeddings=1024, tie_word_embeddings=False)
    cfg = tf.LlavaConfig(vision_config=vision, text_config=text, vision_feature_layer=-2, projector_hidden_act="gelu",
                         vision_feature_select_strategy="default", tie_word_embeddings=False,
                         image_token_index=512)   # <image>: the first id after the fixture tokenizer's 512 pieces
    torch.manual_seed(0)
    hf = tf.LlavaForConditionalGeneration(cfg).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():                # every tensor distinct (norms are all ones otherwise)
        for p in hf.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    hf.save_pretrained(folder)
    with open(os.path.join(paths.FIXTURES, "tiny-336-gqa", "tokenizer.model"), "rb") as src, \
            open(os.path.join(folder, "tokenizer.model"), "wb") as dst:
        dst.write(src.read())
    files = {"tokenizer_config.json": {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                                       "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False,
                                       "legacy": True},
             "preprocessor_config.json": dict(TINY_PP, image_processor_type="CLIPImageProcessor")}
    for name, content in files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2)


# --- checks --------------------------------------------------------------------------------

def _compare(label, ours, theirs, tol=TOLERANCE):
    ours, theirs = (torch.as_tensor(np.asarray(x, dtype=np.float32)) for x in (ours, theirs))
    diff = float((ours - theirs).abs().max())
    limit = tol * max(1.0, float(theirs.abs().max()))
    print(f"  {label:<34} max |diff| {diff:.3g} (limit {limit:.3g})")
    return diff <= limit


def _same_tokens(label, ours, theirs, margins, tie):
    """Equal tokens, or a divergence where our top-2 margin was below `tie` (a near tie)."""
    print(f"  {label:<34} ours {ours}, theirs {theirs}")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            if margins[i] < tie:
                print(f"  warning: step {i} is a near tie (margin {margins[i]:.3g}); later tokens not compared")
                return True
            return False
    return len(ours) == len(theirs)


def _hf_parts(hf):
    """(vision tower, projector, LlamaModel, lm_head) in the old and new (>= 4.52) layouts."""
    inner = hf.model if hasattr(getattr(hf, "model", None), "vision_tower") else hf
    lm = inner.language_model
    return (inner.vision_tower, inner.multi_modal_projector) + ((lm.model, lm.lm_head) if hasattr(lm, "lm_head") else (lm, hf.lm_head))


@torch.no_grad()
def _our_rows(model, ptok, values, question=QUESTION):
    prefix, text = ptok.encode(question)
    embed = lambda ids: model.embed_tokens(torch.tensor([ids]))
    return torch.cat([embed(prefix), model.image_embeds(torch.from_numpy(values)[None]), embed(text)], 1)


@torch.no_grad()
def verify_torch(hf, model, cfg, ptok, values, pp):
    """HF's vision features, projector output, logits and greedy tokens against ours."""
    print("PyTorch (transformers) vs PyTorch (llavagen), square.png:")
    tower, projector, base, head = _hf_parts(hf)
    pixels = torch.from_numpy(values)[None]
    ok = True
    try:                                 # informational: the .NET library follows llavagen.imageproc
        tf = _transformers()
        proc = tf.CLIPImageProcessor(**{k: v for k, v in pp.items() if not k.endswith(("_type", "_class"))})
        theirs = proc(images=imageproc.load_image(os.path.join(IMAGES, "square.png")), return_tensors="pt")["pixel_values"]
        print(f"  {'pixel_values (HF processor)':<34} max |diff| {float((theirs - pixels).abs().max()):.3g} (not checked)")
    except Exception as e:               # noqa: BLE001 - processors vary across versions
        print(f"  pixel_values (HF processor): skipped ({type(e).__name__}: {e})")
    features = tower(pixels, output_hidden_states=True).hidden_states[cfg.vision.feature_layer]
    features = features[:, 1:] if cfg.vision.feature_select == "default" else features
    ok &= _compare("image_features", model.vision(pixels), features)
    embeds = projector(features)
    ok &= _compare("image_embeds", model.projector(model.vision(pixels)), embeds)
    prefix, text = ptok.encode(QUESTION)
    emb = base.get_input_embeddings()
    hf_rows = torch.cat([emb(torch.tensor([prefix])), embeds, emb(torch.tensor([text]))], 1)
    rows = _our_rows(model, ptok, values)
    n = rows.shape[1]
    logits, _ = model.decoder(rows, torch.ones(1, n, dtype=torch.int64), torch.arange(n)[None], model.empty_past())
    ok &= _compare(f"logits ({n} positions, no cache)", logits, head(base(inputs_embeds=hf_rows, use_cache=False).last_hidden_state))
    _, tokens, margins, _ = references.greedy(model, cfg, rows[0].numpy(), GREEDY_STEPS)
    out, hf_tokens = base(inputs_embeds=hf_rows, use_cache=True), []
    for _ in tokens:
        hf_tokens.append(int(head(out.last_hidden_state[:, -1])[0].argmax()))
        out = base(inputs_embeds=emb(torch.tensor([[hf_tokens[-1]]])), past_key_values=out.past_key_values, use_cache=True)
    ok &= _same_tokens("greedy tokens (KV cache)", tokens, hf_tokens, margins, 1e-3)
    if not ok:
        raise CheckFailed("PyTorch outputs differ from transformers': see above (a weight mapping or config problem)")


def write_graph_checks(model, cfg, out, pixels, fp16):
    """references/checks.json for GraphCheck. The tolerances of llavagen.references suit the tiny
    fixtures; a full-size model's outputs are larger, so the absolute tolerance scales with them."""
    refs = os.path.join(out, "references")
    cases = references.graph_checks(model, cfg, refs, pixels, seed=1, fp16=fp16)
    atol, rtol = 5e-4, 1e-3              # ONNX Runtime's float32 arithmetic vs PyTorch's, relative
    for case in cases:
        mag = max(float(np.abs(npyio.load(os.path.join(refs, o["file"])).astype(np.float32)).max(initial=0))
                  for o in case["outputs"].values())
        case["atol"], case["rtol"] = max(case["atol"], atol * max(1.0, mag)), max(case["rtol"], rtol)
    with open(os.path.join(refs, "checks.json"), "w", encoding="utf-8") as f:
        json.dump({"format": 1, "cases": cases}, f, indent=1, ensure_ascii=False)
    return cases


def verify_onnx(out, cfg, cases, pixels, model, ptok, fp16):
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed: ONNX checks skipped (pip install -r models/requirements.txt)")
        return
    print("ONNX Runtime vs PyTorch (llavagen):")
    refs = os.path.join(out, "references")
    sessions = {}
    crops = {rel: values for rel, values in pixels.values()}
    kinds = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64}

    def run(graph, feeds):
        if graph not in sessions:
            sessions[graph] = ort.InferenceSession(os.path.join(out, graph), providers=["CPUExecutionProvider"])
        s = sessions[graph]
        declared = {i.name: i for i in s.get_inputs()}
        feeds = {k: np.asarray(v).astype(kinds[declared[k].type]) for k, v in feeds.items() if k in declared}
        feeds = {k: v.reshape(()) if declared[k].shape == [] and v.size == 1 else v for k, v in feeds.items()}
        result = s.run(None, feeds)           # (npyio.save writes a 0-d array as shape (1,))
        return dict(zip([o.name for o in s.get_outputs()], result))

    ok = True
    for case in cases:
        feeds = {k: np.stack([crops[r] for r in spec["crops"]]) if "crops" in spec else npyio.load(os.path.join(refs, spec["file"]))
                 for k, spec in case["inputs"].items()}
        got = run(case["graph"], feeds)
        for name, spec in case["outputs"].items():
            ref, val = npyio.load(os.path.join(refs, spec["file"])).astype(np.float32), got[name].astype(np.float32)
            good = bool(np.all(np.abs(val - ref) <= case["atol"] + case["rtol"] * np.abs(ref)))
            ok &= good
            print(f"  {case['name'][:72]:<72} {name:<16} max |diff| {np.abs(val - ref).max():.3g}"
                  f" (atol {case['atol']:.3g}){'' if good else '  FAILED'}")
    values = pixels[("square.png", cfg.resize_mode)][1]
    prefix, text = ptok.encode(QUESTION)
    embed = lambda ids: run("embed_tokens.onnx", {"input_ids": np.array([ids], np.int64)})["inputs_embeds"]
    image = run("vision_encoder.onnx", {"pixel_values": values[None]})["image_features"]
    if os.path.exists(os.path.join(out, "projector.onnx")):
        image = run("projector.onnx", {"image_features": image})["image_embeds"]
    x, total, tokens, t = np.concatenate([embed(prefix), image, embed(text)], 1), 0, [], cfg.text
    past = {f"past_key_values.{i}.{kv}": np.zeros((1, t.num_kv_heads, 0, t.head_dim), np.float32)
            for i in range(t.num_layers) for kv in ("key", "value")}
    for _ in range(GREEDY_STEPS):
        total += x.shape[1]
        got = run("decoder_model_merged.onnx", {"inputs_embeds": x, "attention_mask": np.ones((1, total), np.int64),
                                                "position_ids": np.arange(total - x.shape[1], total)[None],
                                                "num_logits_to_keep": np.array(1, np.int64), **past})
        tokens.append(int(np.argmax(got["logits"][0, -1].astype(np.float32))))
        if tokens[-1] == cfg.eos_token_id:
            break
        past = {k.replace("present", "past_key_values"): v for k, v in got.items() if k.startswith("present.")}
        x = embed([tokens[-1]])
    _, ours, margins, _ = references.greedy(model, cfg, _our_rows(model, ptok, values)[0].numpy(), GREEDY_STEPS)
    same = _same_tokens("greedy tokens (ONNX, KV cache)", ours, tokens, margins, 1e-3)
    if fp16 and not same:                # float16 caches drift from PyTorch's float32 ones
        print("  warning: the float16 graphs decode differently from PyTorch (float16 KV cache); not a failure")
    ok &= same or fp16
    if not ok:
        raise CheckFailed("ONNX outputs differ from PyTorch's: see above")


def image_token_id(cfg, tok_bytes):
    """The id of <image> in prompt ids: config.json's, else the first id after the SentencePiece pieces."""
    if cfg.image_token_index is not None:
        return cfg.image_token_index
    return ltok.PromptTokenizer(tok_bytes, cfg.prompt_template, cfg.bos_token_id).size


def tokenizer_check(out, cfg, tok_bytes, hf_prompt_ids=None):
    """tokenizer_check.json: whole prompts as the checkpoint's HF tokenizer gives them (<image> as its
    added token, as LlavaProcessor tokenises before expanding the image); without transformers, as
    sentencepiece gives them under the folder's convention (docs/spec/model-folder.md)."""
    legacy = True if cfg.tokenizer_legacy is None else cfg.tokenizer_legacy
    ptok = ltok.PromptTokenizer(tok_bytes, cfg.prompt_template, cfg.bos_token_id, legacy=legacy)
    image = image_token_id(cfg, tok_bytes)
    prompts = []
    for q in TOKENIZER_PROMPTS:
        ours = ptok.input_ids(q, image)
        ids = hf_prompt_ids(cfg.prompt_template.replace("{question}", q)) if hf_prompt_ids else ours
        prompts.append({"question": q, "input_ids": ids})
        if ids != ours:
            raise CheckFailed(f"tokenizer: the checkpoint's tokenizer gives {ids} for {q!r}, the spec's rule "
                              f"{ours} (tokenizer_legacy {legacy}); the .NET library would feed other ids. Known cause: "
                              "transformers 5 adds no dummy prefix to text that starts with a space, where SentencePiece "
                              "(and the model's training) did; a template without a space right after <image> avoids it")
    head = {"format": 2, "template": cfg.prompt_template, "tokenizer_legacy": legacy, "image_token_index": image}
    with open(os.path.join(out, "tokenizer_check.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "prompts": [\n'
                + ",\n".join("  " + json.dumps(p, ensure_ascii=False) for p in prompts) + "\n]}\n")


# --- the run -------------------------------------------------------------------------------

def clear_out(out):
    """Empties <out> when it holds only what an export writes; refuses any other non-empty folder."""
    ours = re.compile(r"attanchor\.json|tokenizer\.model|tokenizer_check\.json|references|.+\.onnx(\.data)?")
    if os.path.isdir(out) and os.listdir(out):
        strangers = [n for n in os.listdir(out) if not ours.fullmatch(n)]
        if strangers:
            raise ExportError(f"{out} holds files an export does not write ({strangers[0]}, ...): choose another --out")
        shutil.rmtree(out)


def prepare(cfg, out, tok_bytes):
    """The prompt tokenizer and the pixel references (square.png, tall.png) under <out>/references."""
    os.makedirs(os.path.join(out, "references"), exist_ok=True)
    ptok = ltok.PromptTokenizer(tok_bytes, cfg.prompt_template, cfg.bos_token_id,
                                legacy=True if cfg.tokenizer_legacy is None else cfg.tokenizer_legacy)
    _, pixels = references.pixel_references(cfg, IMAGES, ["square.png", "tall.png"], os.path.join(out, "references"),
                                            [cfg.resize_mode])
    return ptok, pixels


def export_and_check(model, cfg, out, tok_bytes, args, ptok, pixels, hf_prompt_ids=None):
    print(f"exporting to {out} ({'fp16' if args.fp16 else 'fp32'}) ...")
    if args.fp16:                        # the weights the float16 graphs will hold, for the references
        export.round_weights_to_float16(model)
    export.export_folder(model, cfg, out, tok_bytes, dtype="fp16" if args.fp16 else "fp32")
    if args.references:                  # as models/generate.py writes them for large models
        references.write(model, cfg, ptok, out, IMAGES, None, seed=1, light=True, fp16=args.fp16)
    cases = write_graph_checks(model, cfg, out, pixels, args.fp16)
    verify_onnx(out, cfg, cases, pixels, model, ptok, args.fp16)
    tokenizer_check(out, cfg, tok_bytes, hf_prompt_ids)
    print(f"done. Check the folder from .NET too:\n  dotnet run -c Release --project models/GraphCheck -- {out}")


def load_tokenizer(folder, cfg, tok_bytes, random_small):
    """(the checkpoint's HF tokenizer with <image> as an added token, a prompt -> ids function), or
    (None, None) when it does not load for the tiny random checkpoint (sentencepiece stands in then)."""
    try:
        hf_tok = _transformers().AutoTokenizer.from_pretrained(folder)
    except Exception as e:               # noqa: BLE001
        if not random_small:
            raise ExportError(f"the checkpoint's tokenizer does not load ({type(e).__name__}: {e}); pip install -r models/requirements.txt")
        print(f"warning: HF tokenizer unavailable ({type(e).__name__}: {e}); tokenizer_check.json uses sentencepiece")
        return None, None
    if hf_tok.bos_token_id not in (None, cfg.bos_token_id):
        print(f"warning: the tokenizer's BOS is {hf_tok.bos_token_id}, the config's {cfg.bos_token_id}")
    if "<image>" not in hf_tok.get_vocab():      # LLaVA checkpoints have it; a bare LLM tokenizer gets it added
        hf_tok.add_tokens([_transformers().AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    theirs, ours = hf_tok.convert_tokens_to_ids("<image>"), image_token_id(cfg, tok_bytes)
    if theirs != ours:
        raise ExportError(f"the tokenizer's <image> is id {theirs}, config.json's image_token_index {ours}: the checkpoint is inconsistent")
    return hf_tok, (lambda prompt: hf_tok(prompt)["input_ids"])   # BOS added, as the processor does


def run(args):
    clear_out(args.out)
    if args.random_small:
        scratch = tempfile.TemporaryDirectory()
        write_random_small(scratch.name)
        folder, name = scratch.name, "random-small"
    else:
        folder, name = resolve_checkpoint(args.model, args.revision), os.path.basename(args.model.rstrip("/")).lower()
    hf, pp, tok_bytes, tok_config = load_checkpoint(folder)
    cfg = build_config(hf.config, pp, name, args.prompt_template, args.threshold)
    hf_tok, hf_prompt_ids = load_tokenizer(folder, cfg, tok_bytes, args.random_small)
    legacy = tokenizer_legacy(tok_config)
    if hf_tok is not None:
        probed = probe_legacy(lambda text: hf_tok(text, add_special_tokens=False)["input_ids"], hf_tok.convert_ids_to_tokens)
        if probed != legacy:
            print(f"note: tokenizer_config.json reads as legacy {legacy}, but the tokenizer {'adds' if probed else 'does not add'} "
                  f"the dummy prefix after <image>; attanchor.json follows the tokenizer (tokenizer_legacy {probed})")
        legacy = probed
    cfg = dataclasses.replace(cfg, tokenizer_legacy=legacy)
    print(f"{name}: {cfg.vision.num_layers} vision layers used, {cfg.vision.num_image_tokens} image tokens, "
          f"{cfg.text.num_layers} decoder layers, resize {cfg.resize_mode}, tokenizer_legacy {legacy}")
    model = arch.Llava(cfg).eval()
    map_weights(hf.state_dict(), model, args.verbose)
    ptok, pixels = prepare(cfg, args.out, tok_bytes)
    verify_torch(hf, model, cfg, ptok, pixels[("square.png", cfg.resize_mode)][1], pp)
    del hf                               # a full-size model is big: keep only ours from here on
    gc.collect()
    export_and_check(model, cfg, args.out, tok_bytes, args, ptok, pixels, hf_prompt_ids)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="Hub id or local folder of a LlavaForConditionalGeneration checkpoint")
    p.add_argument("--random-small", action="store_true", help="a tiny random checkpoint instead (no download)")
    p.add_argument("--self-test", action="store_true", help="no transformers needed: config building, weight mapping, then export and checks of a tiny model")
    p.add_argument("--out", help="the model folder to write")
    p.add_argument("--revision", help="Hub revision")
    p.add_argument("--fp16", action="store_true", help="float16 weights and I/O")
    p.add_argument("--prompt-template", default="USER: <image>\n{question}\nASSISTANT:",
                   help="holds <image> and {question} once each; \\n is a newline")
    p.add_argument("--threshold", type=float, default=0.12, help="AttAnchor default threshold")
    p.add_argument("--references", action="store_true",
                   help="also references/references.json (pixels, prompts, plans, greedy generations; as generate.py)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.prompt_template = args.prompt_template.replace("\\n", "\n")   # a typed \n is a newline
    try:
        if args.prompt_template.count("<image>") != 1 or args.prompt_template.count("{question}") != 1:
            raise ExportError("--prompt-template must hold <image> and {question} exactly once")
        if args.self_test:
            self_test(args)
        elif not args.out or bool(args.model) == args.random_small:
            p.error("give --out and one of --model or --random-small (or --self-test)")
        else:
            run(args)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


# --- self-test (no transformers) -----------------------------------------------------------

def _fake_hf_config(**changes):
    """A LlavaConfig look-alike with TinyLLaVA v1's values; changes are 'vision.x', 'text.x' or 'x'."""
    ns = types.SimpleNamespace
    cfg = ns(vision_config=ns(model_type="clip_vision_model", image_size=336, patch_size=14, hidden_size=1024,
                              num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                              layer_norm_eps=1e-5, hidden_act="quick_gelu"),
             text_config=ns(model_type="llama", hidden_size=2048, num_hidden_layers=22, num_attention_heads=32,
                            num_key_value_heads=4, intermediate_size=5632, vocab_size=32064, rms_norm_eps=1e-5,
                            rope_theta=10000.0, rope_scaling=None, max_position_embeddings=2048, attention_bias=False,
                            mlp_bias=False, hidden_act="silu", tie_word_embeddings=False, bos_token_id=1, eos_token_id=2),
             vision_feature_layer=-2, vision_feature_select_strategy="default", projector_hidden_act="gelu")
    for key, value in changes.items():
        part, _, attr = key.rpartition(".")
        setattr({"vision": cfg.vision_config, "text": cfg.text_config, "": cfg}[part], attr, value)
    return cfg


def _to_hf_names(state, new_layout):
    """Our names -> HF names (written independently of RULES, to test them)."""
    v, p, t, h = (("model.vision_tower.vision_model.", "model.multi_modal_projector.", "model.language_model.", "lm_head.")
                  if new_layout else ("vision_tower.vision_model.", "multi_modal_projector.", "language_model.model.", "language_model.lm_head."))
    renames = [(r"vision\.(patch_embedding|class_embedding)", v + r"embeddings.\1"),
               (r"vision\.position_embedding$", v + "embeddings.position_embedding.weight"),
               (r"vision\.pre_layrnorm", v + "pre_layrnorm"), (r"vision\.layers\.(\d+)\.(fc[12])", v + r"encoder.layers.\1.mlp.\2"),
               (r"vision\.layers", v + "encoder.layers"), (r"projector\.", p), (r"embed_tokens", t + "embed_tokens"),
               (r"decoder\.layers\.(\d+)\.(gate|up|down)_proj", t + r"layers.\1.mlp.\2_proj"),
               (r"decoder\.lm_head\.", h), (r"decoder\.", t)]
    out = {}
    for name, tensor in state.items():
        for pattern, repl in renames:
            new, n = re.subn("^" + pattern, repl, name)
            if n:
                out[new] = tensor.clone()
                break
    return out


def self_test(args):
    def refused(fragment, **changes):
        try:
            build_config(_fake_hf_config(**changes), TINY_PP, "x", args.prompt_template, 0.12)
        except ExportError as e:
            assert fragment in str(e), (fragment, str(e))
            return
        raise AssertionError(f"{changes} was accepted")

    cfg = build_config(_fake_hf_config(), TINY_PP, "tiny-llava-v1-hf", args.prompt_template, 0.12)
    spec = {"model_type": "llava", "image_size": 336, "patch_size": 14, "num_image_tokens": 576, "image_mean": lconfig.CLIP_MEAN,
            "image_std": lconfig.CLIP_STD, "resize_mode": "shortest_edge_center_crop", "hidden_size": 2048,
            "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 64, "vocab_size": 32064,
            "bos_token_id": 1, "eos_token_id": 2, "max_position_embeddings": 2048,
            "prompt_template": "USER: <image>\n{question}\nASSISTANT:", "attanchor": {"threshold": 0.12, "direction": "text_into_image"}}
    assert cfg.attanchor_json() == spec, cfg.attanchor_json()
    assert (cfg.vision.num_layers, cfg.vision.layers_run, cfg.text.rope_theta) == (23, 23, 10000.0)
    full = build_config(_fake_hf_config(vision_feature_select_strategy="full", **{"text.rope_theta": None,
                        "text.rope_parameters": {"rope_type": "default", "rope_theta": 5e5}}),
                        dict(TINY_PP, do_center_crop=False, size={"height": 336, "width": 336}), "x", "<image>{question}", 0.2)
    assert (full.vision.num_image_tokens, full.resize_mode, full.text.rope_theta, full.threshold) == (577, "stretch", 5e5, 0.2)
    for fragment, changes in [("vision_feature_layer", {"vision_feature_layer": [-2, -5]}),
                              ("vision_feature_layer", {"vision_feature_layer": -26}),
                              ("rope", {"text.rope_scaling": {"type": "linear", "factor": 2.0}}),
                              ("attention_bias", {"text.attention_bias": True}), ("mlp_bias", {"text.mlp_bias": True}),
                              ("text_config.hidden_act", {"text.hidden_act": "gelu"}),
                              ("tie_word_embeddings", {"text.tie_word_embeddings": True}),
                              ("vision_config.hidden_act", {"vision.hidden_act": "gelu"}),
                              ("projector_hidden_act", {"projector_hidden_act": "relu"}),
                              ("multimodal_projector_bias", {"multimodal_projector_bias": False}),
                              ("select_strategy", {"vision_feature_select_strategy": "cls"}),
                              ("head_dim", {"text.head_dim": 128}), ("model_type", {"text.model_type": "mistral"})]:
        refused(fragment, **changes)
    for pp, fragment in [(dict(TINY_PP, resample=2), "resample"), (dict(TINY_PP, size={"shortest_edge": 384}), "crop_size"),
                         (dict(TINY_PP, do_center_crop=False), "without centre crop")]:
        try:
            build_config(_fake_hf_config(), pp, "x", args.prompt_template, 0.12)
            raise AssertionError(f"{fragment}: accepted")
        except ExportError as e:
            assert fragment in str(e), str(e)
    print("self-test: config building and refusals ok")

    # Weights: a source model with all 3 vision layers, renamed to HF names; the target keeps 2.
    small = {"vision.hidden_size": 32, "vision.num_hidden_layers": 3, "vision.num_attention_heads": 2,
             "vision.intermediate_size": 64, "text.hidden_size": 64, "text.num_hidden_layers": 2, "text.num_attention_heads": 4,
             "text.num_key_value_heads": 2, "text.intermediate_size": 128, "text.vocab_size": 512, "text.max_position_embeddings": 1024}
    cfg = build_config(_fake_hf_config(**small), TINY_PP, "self-test", args.prompt_template, 0.12)
    src = arch.init_random(arch.Llava(lconfig.ModelConfig(
        name="src", vision=lconfig.VisionConfig(336, 14, 32, 3, 2, 64), text=cfg.text)), seed=7).eval()
    for new_layout in (False, True):
        hf_state = _to_hf_names(src.state_dict(), new_layout)
        pre = "model.vision_tower.vision_model." if new_layout else "vision_tower.vision_model."
        hf_state.update({pre + "post_layernorm.weight": torch.ones(32), pre + "embeddings.position_ids": torch.arange(577)[None]})
        model = arch.Llava(cfg)
        ignored = map_weights(hf_state, model, args.verbose)
        assert sorted(ignored) == sorted(k for k in hf_state if ".layers.2." in k or k.endswith(("post_layernorm.weight", "position_ids")))
        for name, tensor in model.state_dict().items():
            assert torch.equal(tensor, src.state_dict()[name]), name
        with torch.no_grad():
            px = torch.randn(1, 3, 336, 336)
            assert torch.allclose(model.image_embeds(px), src.image_embeds(px), atol=1e-6)
    for broken, fragment in [({k: v for k, v in hf_state.items() if "lm_head" not in k}, "not found"),
                             ({**hf_state, **_to_hf_names(src.state_dict(), False)}, "twice"),
                             ({**hf_state, "lm_head.weight": torch.zeros(3, 64)}, "shape")]:
        try:
            map_weights(broken, arch.Llava(cfg))
            raise AssertionError(f"{fragment}: accepted")
        except ExportError as e:
            assert fragment in str(e), str(e)
    print("self-test: weight mapping (old and new HF layouts) and its errors ok")

    # Export, graph checks, ONNX checks (when onnxruntime is there), tokenizer check: everything
    # after the HF parts, on the mapped model.
    with open(os.path.join(paths.FIXTURES, "tiny-336-gqa", "tokenizer.model"), "rb") as f:
        tok_bytes = f.read()
    out = args.out or tempfile.mkdtemp(prefix="export_llava_selftest_")
    clear_out(out)
    export_and_check(model.eval(), cfg, out, tok_bytes, args, *prepare(cfg, out, tok_bytes))
    assert _read_json(os.path.join(out, "attanchor.json"))["num_image_tokens"] == 576
    check = _read_json(os.path.join(out, "tokenizer_check.json"))
    assert (check["format"], check["tokenizer_legacy"], len(check["prompts"])) == (2, True, 3), check
    assert check["prompts"][0]["input_ids"][:5] == [1, 290, 463, 451, 512], check["prompts"][0]
    assert tokenizer_legacy({"legacy": False}) is False and tokenizer_legacy({}) is True
    pieces = {1: "a", 2: "<image>", 3: "\u2581b", 4: "b"}
    assert probe_legacy(lambda t: [1, 2, 3], pieces.get) is True and probe_legacy(lambda t: [1, 2, 4], pieces.get) is False
    print("self-test: all ok")


if __name__ == "__main__":
    sys.exit(main())
