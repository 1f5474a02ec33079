"""Reference outputs beside a model folder, computed with PyTorch and PIL, never with ONNX Runtime.

<folder>/references/
  references.json   images (pixel references), prompts (token ids), plans (AttAnchor), generations
  checks.json       graph checks: inputs and PyTorch outputs for each graph at lengths other than
                    the export example, for ONNX Runtime to reproduce (tools/GraphCheck)
  pixels/*.png      the 8-bit crop each image becomes in each resize mode (lossless)
  checks/*.npy.gz   the tensors of the graph checks (llavagen.npyio)
"""
import json
import os

import numpy as np
import torch
from PIL import Image

from . import attanchor, imageproc, npyio
from .export import decoder_args

QUESTIONS = [
    "What color is the circle?",
    "Is there a red dog in the image?",
    "How many shapes are there?",
    "Describe the image: café, 猫 and 🐈?",
    "",
]
PIXEL_SAMPLES = [(0, 0, 0), (1, 7, 11), (2, -1, -1), (0, -1, 0), (1, 0, -1), (2, 100, 50)]
MAX_NEW_TOKENS = 10
LOGITS_SLICE = 32


def _f32(x):
    return float(np.float32(x))


# Images whose crops in the two resize modes that are not the model's own are written too,
# for models at least LARGE_CROP pixels wide (every image gets every mode below that): keeps the
# committed fixtures under 5 MB while both fixtures together cover every image in every mode.
OTHER_MODE_IMAGES = ("wide.png", "tall.png", "tiny.png", "exif_rotated.jpg")
LARGE_CROP = 300


def pixel_references(cfg, image_dir, names, refs_dir, modes=None):
    os.makedirs(os.path.join(refs_dir, "pixels"), exist_ok=True)
    size = cfg.vision.image_size
    entries, pixels = [], {}
    for name in names:
        image = imageproc.load_image(os.path.join(image_dir, name))
        mode_entries = {}
        wanted = modes or imageproc.MODES
        if modes is None and size >= LARGE_CROP and name not in OTHER_MODE_IMAGES:
            wanted = [cfg.resize_mode]
        for mode in wanted:
            crop, values = imageproc.process(image, size, cfg.image_mean, cfg.image_std, mode)
            stem = os.path.splitext(name)[0]
            rel = f"pixels/{stem}.{mode}.png"
            Image.fromarray(crop, "RGB").save(os.path.join(refs_dir, rel), optimize=True)
            samples = []
            for c, y, x in PIXEL_SAMPLES:
                y, x = y % size, x % size
                samples.append({"c": c, "y": y, "x": x, "value": _f32(values[c, y, x])})
            mode_entries[mode] = {
                "crop": rel,
                "channel_sums": [float(values[c].astype(np.float64).sum()) for c in range(3)],
                "samples": samples,
            }
            pixels[(name, mode)] = (rel, values)
        entries.append({"name": name, "file": os.path.relpath(os.path.join(image_dir, name), refs_dir),
                        "loaded_size": list(image.size), "modes": mode_entries})
    return entries, pixels


def prompt_references(ptok, questions):
    out = []
    for q in questions:
        prefix, text = ptok.encode(q)
        out.append({"question": q, "prefix_ids": prefix, "text_ids": text,
                    "text_pieces": ptok.pieces(text), "question_range": list(ptok.question_range(q))})
    return out


@torch.no_grad()
def _image_embeds(model, values):
    return model.image_embeds(torch.from_numpy(values).unsqueeze(0))[0].numpy()   # [M, D]


@torch.no_grad()
def _embed(model, ids):
    return model.embed_tokens(torch.tensor(ids, dtype=torch.int64)).numpy()       # [n, D]


def _plan_entry(cfg, ptok, prompt, text_emb, image_emb, direction, threshold, image_name, prompt_index):
    grid = cfg.vision.image_size // cfg.vision.token_patch_size
    anchors = attanchor.plan(text_emb, image_emb, threshold, direction)
    ids = prompt["text_ids"]
    baseline = len(prompt["prefix_ids"]) + image_emb.shape[0] + len(ids)
    return {
        "image": image_name, "prompt": prompt_index, "direction": direction, "threshold": threshold,
        "baseline_length": baseline, "sequence_length": baseline + len(anchors),
        "fragile": attanchor.fragile(text_emb, image_emb, threshold, direction),
        "anchors": [{
            "text_index": a["text_index"], "text_position": a["text_index"],
            "token_id": ids[a["text_index"]], "token": ptok.pieces([ids[a["text_index"]]])[0],
            "patch_index": a["patch_index"], "patch_row": a["patch_index"] // grid, "patch_col": a["patch_index"] % grid,
            "similarity": _f32(a["similarity"]),
        } for a in anchors],
    }


@torch.no_grad()
def greedy(model, cfg, rows, max_new_tokens):
    """PyTorch greedy decoding from prompt rows [L, D]: positions 0..L-1, then L, L+1, ..."""
    dec = model.decoder
    past = model.empty_past()
    x = torch.from_numpy(rows).unsqueeze(0)
    length = x.shape[1]
    positions = torch.arange(length).unsqueeze(0)
    logits, past = dec(x, torch.ones(1, length, dtype=torch.int64), positions, past)
    first = logits[0, -1].numpy().copy()
    tokens, margins, stop = [], [], "length"
    last = logits[0, -1]
    for step in range(max_new_tokens):
        top = torch.topk(last, 2)
        token = int(torch.argmax(last))                 # the first maximum: ties go to the lowest id
        tokens.append(token)
        margins.append(_f32(top.values[0] - top.values[1]))
        if token == cfg.eos_token_id:
            stop = "eos"
            break
        if step == max_new_tokens - 1:
            break
        e = model.embed_tokens(torch.tensor([[token]]))
        total = length + step + 1
        logits, past = dec(e, torch.ones(1, total, dtype=torch.int64), torch.tensor([[total - 1]]), past)
        last = logits[0, -1]
    return first, tokens, margins, stop


def _thresholds(cfg, text_embs, image_embs):
    """(sorted [the spec default, a threshold that anchors about a quarter of the text tokens, 1.0],
    that quarter threshold)."""
    best = []
    for t, i in zip(text_embs, image_embs):
        best.extend(s for _, s, _ in attanchor.best(attanchor.similarity(t, i)))
    quarter = float(np.round(np.quantile(np.array(best), 0.75), 2))
    return sorted({cfg.threshold, quarter, 1.0}), quarter


@torch.no_grad()
def graph_checks(model, cfg, refs_dir, pixels, seed, fp16=False, tolerance=None):
    """Inputs at lengths other than the export example (B, S, P) = (2, 3, 4), and PyTorch's outputs.

    fp16: the graphs take and give float16 (export.to_float16_io), so every float input is
    rounded to float16 before PyTorch sees it (the model's weights must already be rounded), and
    the tolerance allows for the outputs' own rounding to float16.
    """
    gen = torch.Generator().manual_seed(seed)
    rnd = (lambda x: x.half().float()) if fp16 else (lambda x: x)
    t = cfg.text
    os.makedirs(os.path.join(refs_dir, "checks"), exist_ok=True)
    cases = []

    def save(name, tensor):
        rel = f"checks/{name}.npy.gz"
        array = tensor.numpy() if isinstance(tensor, torch.Tensor) else tensor
        if fp16 and array.dtype == np.float32:
            array = array.astype(np.float16)   # inputs are float16 values already; outputs lose < 1 ulp
        npyio.save(os.path.join(refs_dir, rel), array)
        return {"file": rel}

    mode = cfg.resize_mode
    crops = [pixels[("square.png", mode)], pixels[("tall.png", mode)]]
    values = rnd(torch.from_numpy(np.stack([v for _, v in crops])))
    features = model.vision(values)
    cases.append({"name": "vision_encoder: batch 2 (square, tall)", "graph": "vision_encoder.onnx",
                  "inputs": {"pixel_values": {"crops": [rel for rel, _ in crops]}},
                  "outputs": {"image_features": save("vision.image_features", features)}})
    if model.projector is not None:
        first = rnd(features[:1])
        cases.append({"name": "projector: batch 1 (square's PyTorch features)", "graph": "projector.onnx",
                      "inputs": {"image_features": save("projector.image_features", first)},
                      "outputs": {"image_embeds": save("projector.image_embeds", model.projector(first))}})
    ids = torch.randint(0, t.vocab_size, (3, 7), generator=gen)
    cases.append({"name": "embed_tokens: batch 3, sequence 7", "graph": "embed_tokens.onnx",
                  "inputs": {"input_ids": save("embed.input_ids", ids)},
                  "outputs": {"inputs_embeds": save("embed.inputs_embeds", model.embed_tokens(ids))}})

    decoder_cases = [
        ("batch 1, past 0, sequence 9", 1, 0, 9, None, 9),
        ("batch 1, past 6, sequence 1", 1, 6, 1, None, 1),
        ("batch 2, past 5, sequence 4, left padding in row 1", 2, 5, 4, (1, 2), 2),
        ("batch 1, past 17, sequence 3", 1, 17, 3, None, 3),
    ]
    for k, (label, b, p, s, pad, keep) in enumerate(decoder_cases):
        embeds = rnd(torch.randn(b, s, t.hidden_size, generator=gen))
        mask = torch.ones(b, p + s, dtype=torch.int64)
        if pad:
            mask[pad[0], : pad[1]] = 0
        position_ids = (torch.arange(s) + p).unsqueeze(0).expand(b, s).contiguous()
        past = [(rnd(torch.randn(b, t.num_kv_heads, p, t.head_dim, generator=gen)),
                 rnd(torch.randn(b, t.num_kv_heads, p, t.head_dim, generator=gen))) for _ in range(t.num_layers)]
        logits, presents = model.decoder(embeds, mask, position_ids if cfg.decoder_position_ids else None, past,
                                         torch.tensor(keep) if cfg.decoder_logits_to_keep else None)
        stem = f"decoder-{k}"
        inputs = {"inputs_embeds": save(f"{stem}.inputs_embeds", embeds), "attention_mask": save(f"{stem}.attention_mask", mask)}
        if cfg.decoder_position_ids:
            inputs["position_ids"] = save(f"{stem}.position_ids", position_ids)
        if cfg.decoder_logits_to_keep:
            inputs["num_logits_to_keep"] = save(f"{stem}.num_logits_to_keep", np.array(keep, dtype=np.int64))
            label += f", keep {keep} logits"
        outputs = {"logits": save(f"{stem}.logits", logits)}
        for i, ((pk, pv), (k_, v_)) in enumerate(zip(past, presents)):
            inputs[f"past_key_values.{i}.key"] = save(f"{stem}.past.{i}.key", pk)
            inputs[f"past_key_values.{i}.value"] = save(f"{stem}.past.{i}.value", pv)
            outputs[f"present.{i}.key"] = save(f"{stem}.present.{i}.key", k_)
            outputs[f"present.{i}.value"] = save(f"{stem}.present.{i}.value", v_)
        cases.append({"name": f"decoder: {label}", "graph": "decoder_model_merged.onnx", "inputs": inputs, "outputs": outputs})
    atol, rtol = tolerance or ((2e-3, 2e-3) if fp16 else (1e-4, 1e-4))
    for case in cases:
        case["atol"], case["rtol"] = atol, rtol
    return cases


def write(model, cfg, ptok, folder, image_dir, image_names, seed, light=False, fp16=False):
    """All references (the committed fixtures), or with light=True a smaller set for large
    generated models: two images, one prompt per plan, baseline and text-into-image greedy."""
    refs = os.path.join(folder, "references")
    os.makedirs(refs, exist_ok=True)
    if light:
        image_names = ["square.png", "tall.png"]
    images, pixels = pixel_references(cfg, image_dir, image_names, refs, [cfg.resize_mode] if light else None)
    prompts = prompt_references(ptok, QUESTIONS)
    mode = cfg.resize_mode

    plan_images = ["square.png"] if light else ["square.png", "wide.png"]
    plan_prompts = [0] if light else [0, 1, 3]
    generation_images = ["square.png"] if light else ["square.png", "exif_rotated.jpg"]
    image_embs = {n: _image_embeds(model, pixels[(n, mode)][1]) for n in {*plan_images, *generation_images}}
    text_embs = [_embed(model, p["text_ids"]) for p in prompts]
    thresholds, quarter = _thresholds(cfg, [text_embs[k] for k in plan_prompts], [image_embs[n] for n in plan_images])
    plans = []
    for name in plan_images:
        for k in plan_prompts if name == plan_images[0] else plan_prompts[1:2]:
            for direction in (attanchor.TEXT_INTO_IMAGE, attanchor.IMAGE_INTO_TEXT):
                for tau in thresholds + [1.5]:
                    plans.append(_plan_entry(cfg, ptok, prompts[k], text_embs[k], image_embs[name], direction, tau, name, k))

    generations = []
    settings = [None, {"direction": attanchor.TEXT_INTO_IMAGE, "threshold": cfg.threshold},
                {"direction": attanchor.IMAGE_INTO_TEXT, "threshold": quarter}]
    if fp16:
        settings = []                        # float16 caches drift from PyTorch's: graph checks only
    elif light:
        # Off, and text-into-image at the threshold that anchors about a quarter of the text
        # (wide random models have small similarities: at d = 2048 nothing reaches 0.12).
        settings = [None, {"direction": attanchor.TEXT_INTO_IMAGE, "threshold": quarter}]
    for name in generation_images:
        for k in [0] if light else [0, 1]:
            prefix = _embed(model, prompts[k]["prefix_ids"])
            for setting in settings:
                if setting is None:
                    anchors, direction = [], attanchor.TEXT_INTO_IMAGE
                else:
                    direction = setting["direction"]
                    anchors = attanchor.plan(text_embs[k], image_embs[name], setting["threshold"], direction)
                rows = attanchor.sequence(prefix, image_embs[name], text_embs[k], anchors, direction).astype(np.float32)
                first, tokens, margins, stop = greedy(model, cfg, rows, MAX_NEW_TOKENS)
                generations.append({
                    "image": name, "prompt": k, "anchor": setting, "sequence_length": int(rows.shape[0]),
                    "tokens": tokens, "margins": margins, "text": ptok.decode(tokens) if max(tokens) < ptok.size else None, "stop_reason": stop,
                    "first_logits": {"start": 0, "values": [_f32(v) for v in first[:LOGITS_SLICE]],
                                     "argmax": int(np.argmax(first))},
                })

    document = {
        "format": 1,
        "model": cfg.name,
        # Where the package lived when the committed references were written: kept as it is, so that
        # they regenerate byte for byte (make_fixtures.py --check).
        "note": "Computed with PyTorch and PIL by models/llavagen (references.py); see models/README.md.",
        "resize_mode": mode,
        "images": images,
        "prompts": prompts,
        "thresholds": thresholds,
        "plans": plans,
        "generations": generations,
    }
    _write_json(os.path.join(refs, "references.json"), document)
    checks = {"format": 1, "cases": graph_checks(model, cfg, refs, pixels, seed, fp16)}
    _write_json(os.path.join(refs, "checks.json"), checks)
    return document


def _dumps(value, indent=0):
    """JSON with one line per leaf object or list of scalars, so long anchor lists stay compact."""
    pad = " " * (indent + 1)
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) and v and not _leaf(v) for v in value.values()):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list) and value and not _leaf(value):
        return "[\n" + ",\n".join(pad + _dumps(v, indent + 1) for v in value) + "\n" + " " * indent + "]"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _leaf(value):
    children = value.values() if isinstance(value, dict) else value
    return all(not isinstance(v, (dict, list)) or (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v))
               for v in children) if isinstance(value, (dict, list)) else True


def _write_json(path, document):
    with open(path, "w", encoding="utf-8") as f:
        f.write(_dumps(document))
        f.write("\n")
