#!/usr/bin/python3
"""PyTorch eager peer for the .NET pipeline: one image, one question, greedy, 16 new tokens.

What it measures: the generator's own PyTorch modules (tools/python/llavagen/arch.py, the modules that
tools/python/generate.py exported to the folder's ONNX graphs), with exactly the folder's weights, on the
same work the .NET library does for one answer:

  preprocess  PIL bicubic resize, centre crop (or the folder's resize mode), rescale, normalise
              (llavagen.imageproc.process, as the references do); the image file is decoded once
              before the runs, as the .NET caller's LoadImage is outside Answer
  vision      the CLIP vision tower (hidden state at the feature layer, CLS dropped)
  projector   Linear -> GELU -> Linear (0 where the model has none)
  embed       the embedding rows of the prompt's ids (BOS + text before <image>, text after it)
  anchor      0: AttAnchor is off here (the baseline sequence [prefix, image rows, text])
  prefill     the decoder over all L prompt positions with an empty KV cache, keeping the last
              position's logits only (num_logits_to_keep = 1, as the .NET decoder asks for), and the
              argmax that chooses the first token
  decode      each of the following 15 steps: embed the token, the decoder on it with the KV cache
              (past_key_values from the previous step), argmax; reported as the mean per step
  total       from the start of preprocess to the last token

Greedy is torch.argmax (the first maximum, ties to the lowest id). Exactly 16 tokens are generated;
EOS does not stop the loop, and each run records whether it appeared.

How the weights are the folder's: the modules are rebuilt with llavagen.arch.build(cfg), which seeds
torch with cfg.seed and fills every parameter from a torch.Generator seeded with cfg.seed, exactly as
generate.py did before exporting. cfg is the preset named in references/references.json ("model"),
or --preset, with generate.py's --set/--seed overrides; it must reproduce the folder's
attanchor.json. A float16 folder (its graph checks are float16) gets the weights rounded to float16
and kept float32, as llavagen.export.round_weights_to_float16 does for its references. No ONNX file
is read.

Equality check (after the first run, not timed), against the folder's references, computed by
PyTorch when the folder was made:
  - checks/embed.*, checks/projector.* and the "past 6, sequence 1" decoder case of checks.json: the
    embedding table, the projector and all decoder layers + lm_head, whatever the image/question;
  - the crop (uint8) against references/pixels/*.png, and the vision features against
    checks/vision.image_features (rows: square, tall) when the crop is one of those;
  - the prompt ids against references.json "prompts" for the same question;
  - the first 32 logits at the last prompt position, their argmax and the greedy tokens (10 in the
    references) against references.json "generations" with AttAnchor off, for the same image crop
    and question.
The "checks" field of the JSON says what was compared and the largest absolute difference.

Output: one JSON object on stdout (everything else on stderr).

    /usr/bin/python3 tools/python/pytorch_eager.py                       # models/generated/tinyllava-v1
    /usr/bin/python3 tools/python/pytorch_eager.py --model models/fixtures/tiny-336-gqa --runs 2

The full-size folder is made by  /usr/bin/python3 tools/python/generate.py --preset tinyllava-v1
"""
import argparse
import dataclasses
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from PIL import Image

from llavagen import arch, config, imageproc, npyio, paths, tokenizer

NEW_TOKENS = 16
LOGITS_SLICE = 32


def log(message):
    print(message, file=sys.stderr, flush=True)


def fail(message):
    print(f"pytorch_eager: {message}", file=sys.stderr)
    sys.exit(2)


# --- configuration -----------------------------------------------------------------------------

def resolve_config(folder, args, references):
    preset = args.preset
    if preset is None:
        name = (references or {}).get("model")
        if name is None:
            fail(f"{folder} has no references/references.json naming its preset; pass --preset")
        preset = name[: -len("-fp16")] if name.endswith("-fp16") and name not in config.PRESETS else name
        if preset not in config.PRESETS:
            fail(f"{folder}: references.json names model {name!r}, which is no preset of tools/python/llavagen/config.py "
                 f"({', '.join(sorted(config.PRESETS))}); this script rebuilds folders made by tools/python/generate.py "
                 "or tools/python/make_fixtures.py: pass --preset (and --set/--seed as given to generate.py)")
    cfg = config.override(config.PRESETS[preset], args.set)  # generate.py's --set: the same assignments give the same model
    if args.seed is not None:
        cfg = dataclasses.replace(cfg, seed=args.seed)
    with open(os.path.join(folder, "attanchor.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    expected = cfg.attanchor_json()
    differ = sorted(k for k in set(recorded) | set(expected) if recorded.get(k) != expected.get(k))
    if differ:
        fail(f"{folder}/attanchor.json differs from preset {preset!r} in {', '.join(differ)}: pass the --preset, "
             "--set and --seed that generate.py was given")
    return cfg


def folder_is_fp16(folder):
    path = os.path.join(folder, "references", "checks", "embed.inputs_embeds.npy.gz")
    return os.path.exists(path) and npyio.load(path).dtype == np.float16


def blas_library():
    """torch 1.13 from Debian is built against the generic libblas.so.3; which library that is at run
    time is Debian's alternatives' choice, so read it from the process's mapped libraries."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    libs = set()
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            for line in f:
                path = line.split()[-1]
                base = os.path.basename(path)
                if base.startswith(("libblas", "libopenblas", "libmkl", "libblis")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    info = torch.__config__.show()
    build = next((p.split("=", 1)[1] for p in info.replace(",", " ").split() if p.startswith("BLAS_INFO=")), "?")
    kind = "openblas" if any("openblas" in p for p in libs) else "mkl" if any("mkl" in p for p in libs) else \
        "blis" if any("blis" in p for p in libs) else "reference" if libs else "unknown"
    return f"{kind} (torch BLAS_INFO={build}; loaded: {', '.join(sorted(libs)) or 'none found'})"


# --- one run ----------------------------------------------------------------------------------

def run_once(model, cfg, image, prefix_ids, text_ids, keep=False):
    """One timed answer. Returns (timings dict, token ids, eos seen, kept tensors or None)."""
    t = cfg.text
    eos = cfg.eos_token_id
    timings = {}
    start = time.perf_counter()

    crop, values = imageproc.process(image, cfg.vision.image_size, cfg.image_mean, cfg.image_std, cfg.resize_mode)
    pixel_values = torch.from_numpy(values).unsqueeze(0)
    t1 = time.perf_counter()
    timings["preprocess_ms"] = (t1 - start) * 1e3

    features = model.vision(pixel_values)                                            # [1, M, Dv]
    t2 = time.perf_counter()
    timings["vision_ms"] = (t2 - t1) * 1e3

    image_rows = model.projector(features) if model.projector is not None else features  # [1, M, D]
    t3 = time.perf_counter()
    timings["projector_ms"] = (t3 - t2) * 1e3

    ids = torch.tensor([prefix_ids + text_ids], dtype=torch.int64)
    embedded = model.embed_tokens(ids)                                               # [1, P+N, D]
    t4 = time.perf_counter()
    timings["embed_ms"] = (t4 - t3) * 1e3
    timings["anchor_ms"] = 0.0

    n = len(prefix_ids)
    rows = torch.cat([embedded[:, :n], image_rows, embedded[:, n:]], dim=1)          # [1, L, D]
    length = rows.shape[1]
    past = model.empty_past()
    logits, past = model.decoder(rows, torch.ones(1, length, dtype=torch.int64),
                                 torch.arange(length, dtype=torch.int64).unsqueeze(0), past,
                                 torch.tensor(1, dtype=torch.int64))
    last = logits[0, -1]
    token = int(torch.argmax(last))
    t5 = time.perf_counter()
    timings["prefill_ms"] = (t5 - t4) * 1e3
    kept = None
    if keep:
        kept = {"crop": crop, "pixel_values": pixel_values, "features": features[0].clone(), "first_logits": last.clone(),
                "rows": rows, "length": length}

    tokens = [token]
    for step in range(1, NEW_TOKENS):
        total = length + step
        e = model.embed_tokens(torch.tensor([[token]], dtype=torch.int64))
        logits, past = model.decoder(e, torch.ones(1, total, dtype=torch.int64),
                                     torch.tensor([[total - 1]], dtype=torch.int64), past,
                                     torch.tensor(1, dtype=torch.int64))
        token = int(torch.argmax(logits[0, -1]))
        tokens.append(token)
    end = time.perf_counter()
    timings["decode_ms_per_token"] = (end - t5) * 1e3 / (NEW_TOKENS - 1)
    timings["total_ms"] = (end - start) * 1e3
    del past, logits
    return timings, tokens, eos in tokens, kept


# --- equality check ---------------------------------------------------------------------------

def max_abs(a, b):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shape {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


def verify(model, cfg, folder, references, kept, tokens, prefix_ids, text_ids, question, fp16):
    """Compares with the folder's PyTorch references; returns (one line, all passed)."""
    refs = os.path.join(folder, "references")
    parts, ok = [], True
    tolerance = 1e-4

    def load(rel):
        array = npyio.load(os.path.join(refs, rel))
        return torch.from_numpy(array.astype(np.float32) if array.dtype == np.float16 else array)

    def note(label, diff, limit=tolerance):
        nonlocal ok
        if diff > limit:
            ok = False
        parts.append(f"{label} max|d| {diff:.2g}")

    def compare(label, actual, expected, case):
        """The graph checks' own tolerance: |d| <= atol + rtol * |expected| everywhere."""
        nonlocal ok
        a, e = actual.detach().numpy().astype(np.float64), expected.numpy().astype(np.float64)
        if a.shape != e.shape:
            raise ValueError(f"{label}: shape {a.shape} vs {e.shape}")
        d = np.abs(a - e)
        if np.any(d > case.get("atol", tolerance) + case.get("rtol", tolerance) * np.abs(e)):
            ok = False
        parts.append(f"{label} max|d| {float(d.max()):.2g}")

    checks_path = os.path.join(refs, "checks.json")
    if not os.path.exists(checks_path):
        return "no references/checks.json: nothing verified", False
    with open(checks_path, encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    vision_case = None
    for case in cases:
        graph, name = case["graph"], case["name"]
        if graph == "embed_tokens.onnx":
            ids = load(case["inputs"]["input_ids"]["file"]).long()
            compare("embed_tokens", model.embed_tokens(ids), load(case["outputs"]["inputs_embeds"]["file"]), case)
        elif graph == "projector.onnx" and model.projector is not None:
            x = load(case["inputs"]["image_features"]["file"])
            compare("projector", model.projector(x), load(case["outputs"]["image_embeds"]["file"]), case)
        elif graph == "vision_encoder.onnx":
            vision_case = case
        elif graph == "decoder_model_merged.onnx" and "past 6, sequence 1" in name:
            inputs = case["inputs"]
            past = [(load(inputs[f"past_key_values.{i}.key"]["file"]), load(inputs[f"past_key_values.{i}.value"]["file"]))
                    for i in range(cfg.text.num_layers)]
            position_ids = load(inputs["position_ids"]["file"]).long() if "position_ids" in inputs else None
            keep = load(inputs["num_logits_to_keep"]["file"]).long() if "num_logits_to_keep" in inputs else None
            logits, _ = model.decoder(load(inputs["inputs_embeds"]["file"]), load(inputs["attention_mask"]["file"]).long(),
                                      position_ids, past, keep)
            compare(f"decoder ({cfg.text.num_layers} layers + lm_head, past 6, seq 1) logits",
                    logits, load(case["outputs"]["logits"]["file"]), case)

    # The crop and the vision features, where the image is one of the references' images.
    crop_name = None
    for entry in (references or {}).get("images", []):
        for mode, m in entry["modes"].items():
            if mode != cfg.resize_mode:
                continue
            stored = np.asarray(Image.open(os.path.join(refs, m["crop"])).convert("RGB"), dtype=np.uint8)
            if stored.shape == kept["crop"].shape and np.array_equal(stored, kept["crop"]):
                crop_name = m["crop"]
    if crop_name is None:
        parts.append("image is none of the references' images: crop, vision features, logits and tokens not compared")
    else:
        parts.append(f"crop == {crop_name}")
        if vision_case is not None:
            crops = vision_case["inputs"]["pixel_values"].get("crops", [])
            if crop_name in crops:
                expected = load(vision_case["outputs"]["image_features"]["file"])[crops.index(crop_name)]
                features = kept["features"]
                if fp16:   # the fp16 checks fed float16-rounded pixels: recompute from those
                    features = model.vision(kept["pixel_values"].half().float())[0]
                compare("vision features", features, expected, vision_case)

    prompt = next((p for p in (references or {}).get("prompts", []) if p["question"] == question), None)
    if prompt is not None:
        same = prompt["prefix_ids"] == prefix_ids and prompt["text_ids"] == text_ids
        ok = ok and same
        parts.append("prompt ids " + ("equal" if same else f"DIFFER (references {prompt['prefix_ids']} + {prompt['text_ids']})"))
        index = references["prompts"].index(prompt)
        if crop_name is not None:
            image_name = crop_name.split("/")[-1].split(".")[0]
            gen = next((g for g in references.get("generations", [])
                        if g["anchor"] is None and g["prompt"] == index and os.path.splitext(g["image"])[0] == image_name), None)
            if gen is None:
                parts.append("no greedy reference for this image and question: logits and tokens not compared")
            else:
                if gen["sequence_length"] != kept["length"]:
                    ok = False
                first = gen["first_logits"]
                lo = first["start"]
                values = kept["first_logits"][lo:lo + len(first["values"])]
                note(f"first logits [{lo}:{lo + len(first['values'])}]", max_abs(values, np.array(first["values"], dtype=np.float32)), 1e-3)
                argmax_ok = int(torch.argmax(kept["first_logits"])) == first["argmax"]
                n = len(gen["tokens"])
                tokens_ok = tokens[:n] == gen["tokens"]
                ok = ok and argmax_ok and tokens_ok
                parts.append(f"L {kept['length']} (references {gen['sequence_length']}), first argmax "
                             f"{'equal' if argmax_ok else 'DIFFERS'}, greedy tokens[:{n}] "
                             f"{'equal' if tokens_ok else 'DIFFER: references ' + str(gen['tokens'])}")
    else:
        parts.append("question not among the references' prompts: prompt ids, logits and tokens not compared")
    return ("PASS: " if ok else "FAIL: ") + "; ".join(parts), ok


# --- main -------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join("models", "generated", "tinyllava-v1"),
                        help="a model folder made by tools/python/generate.py or tools/python/make_fixtures.py "
                             "(default models/generated/tinyllava-v1, relative to the repository)")
    parser.add_argument("--preset", choices=sorted(config.PRESETS),
                        help="the generate.py preset (default: the one references/references.json names)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="the --set overrides generate.py was given")
    parser.add_argument("--seed", type=int, help="the --seed generate.py was given (default: the preset's)")
    parser.add_argument("--image", default=os.path.join("models", "fixtures", "images", "square.png"))
    parser.add_argument("--question", default="What color is the circle?")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up runs before them (default 1)")
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with the references")
    args = parser.parse_args()

    def locate(path, default):
        # Defaults are relative to the repository; paths given on the command line to the cwd.
        return os.path.join(paths.REPO, path) if path == default and not os.path.exists(path) else path

    folder = locate(args.model, parser.get_default("model"))
    image_path = locate(args.image, parser.get_default("image"))
    if not os.path.isfile(os.path.join(folder, "attanchor.json")):
        if os.path.normpath(args.model) == os.path.normpath(parser.get_default("model")):
            fail(f"no model folder at {args.model}: make it with  /usr/bin/python3 tools/python/generate.py --preset tinyllava-v1")
        fail(f"no model folder at {args.model} (no attanchor.json); a full-size one is made by  "
             "/usr/bin/python3 tools/python/generate.py --preset tinyllava-v1")
    if not os.path.isfile(image_path):
        fail(f"no image at {args.image}")
    if args.runs < 1 or args.warmup < 0:
        fail("--runs must be at least 1 and --warmup at least 0")

    references = None
    refs_json = os.path.join(folder, "references", "references.json")
    if os.path.exists(refs_json):
        with open(refs_json, encoding="utf-8") as f:
            references = json.load(f)
    cfg = resolve_config(folder, args, references)
    fp16 = folder_is_fp16(folder)

    torch.set_num_threads(args.threads)
    blas = blas_library()
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas}")

    with open(os.path.join(folder, "tokenizer.model"), "rb") as f:
        ptok = tokenizer.PromptTokenizer(f.read(), cfg.prompt_template, cfg.bos_token_id)
    prefix_ids, text_ids = ptok.encode(args.question)
    image = imageproc.load_image(image_path)

    log(f"building {cfg.name} (seed {cfg.seed}{', weights rounded to float16' if fp16 else ''}) ...")
    start = time.perf_counter()
    model = arch.build(cfg)
    for p in model.parameters():
        p.requires_grad_(False)
    if fp16:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())                      # as export.round_weights_to_float16
    build_s = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    log(f"build: {build_s:.1f} s, {params / 1e6:.1f} M parameters")

    runs, checks, checks_ok, kept = [], None, True, None
    eos_seen = []
    with torch.inference_mode():
        for k in range(args.warmup + args.runs):
            measured = k >= args.warmup
            timings, tokens, eos, got = run_once(model, cfg, image, prefix_ids, text_ids, keep=(k == 0))
            if got is not None:
                kept = got
                if not args.no_check:
                    checks, checks_ok = verify(model, cfg, folder, references, kept, tokens, prefix_ids, text_ids, args.question, fp16)
                    log(f"check: {checks}")
                kept = {"length": got["length"], "tokens": tokens}
                del got
            if kept["tokens"] != tokens:
                log(f"warning: run {k} gave other tokens than the first run: {tokens}")
            label = f"run {k - args.warmup + 1}/{args.runs}" if measured else f"warm-up {k + 1}/{args.warmup}"
            log(f"{label}: " + ", ".join(f"{name.replace('_ms', '')} {value:.1f}" for name, value in timings.items()) + f" ms; tokens {tokens}")
            if measured:
                runs.append({**{name: round(value, 3) for name, value in timings.items()}, "token_ids": tokens, "eos": eos})
                eos_seen.append(eos)

    result = {
        "system": "pytorch-eager",
        "setting": None,
        "model": args.model,
        "threads": args.threads,
        "torch": torch.__version__,
        "blas": blas,
        "prefill_positions": kept["length"],
        "new_tokens": NEW_TOKENS,
        "peak_working_set_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "build_s": round(build_s, 2),
        "parameters": params,
        "weights": "float16-rounded, float32 arithmetic" if fp16 else "float32",
        "eos_seen": any(eos_seen),
        "runs": runs,
        "checks": checks if checks is not None else "not run (--no-check)",
    }
    print(json.dumps(result))
    if not checks_ok:
        log("pytorch_eager: the modules do NOT reproduce the folder's references (see checks): wrong --preset/--set/--seed?")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
