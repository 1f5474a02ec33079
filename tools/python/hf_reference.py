#!/usr/bin/env python3
"""Records what the real Hugging Face `transformers` library does with the project's real-world
fixtures, so that the .NET tests can hold the library to it. It needs `transformers` (with
`tokenizers`, `sentencepiece`, `protobuf`, `Pillow`), which no CPU machine here has; the GPU machine
some issues are lent has it (no GPU is used). Run it there, bring the files back, commit them.

    python3 tools/python/hf_reference.py --out OUT [--tokenizer models/fixtures/llama-tokenizer]
                                             [--photos models/fixtures/photos] [--npm-package DIR]

Writes, under OUT:
  hf-prompts.json  whole LLaVA prompts through the checkpoint-style tokenizer (tokenizer.model with a
                   tokenizer_config.json saying legacy true, false, or nothing; <image> added as a
                   special token as LLaVA checkpoints have it): `input_ids` of tokenizer(prompt), for
                   three templates and the questions below; and LlavaProcessor's expanded ids for a few,
                   checked against them.
  hf-strings.json  every string of the tokenizer folder's sentencepiece-reference.jsonl(.gz) encoded by
                   that tokenizer (no special tokens) and by the installed sentencepiece: counts, and
                   every string whose ids differ from the reference, with both id lists.
  hf-pixels.json   (with --photos) each photo through transformers.image_utils.load_image and through
                   Image.open alone, then CLIPImageProcessor (336 px, shortest edge, centre crop, CLIP mean
                   and std; the PIL-based processor, and the fast one where it exists): size, SHA-256 of
                   the RGB bytes and of the float32 pixel values, and the largest difference from the
                   committed reference where one is given.
  environment.json versions of Python, transformers, tokenizers, sentencepiece, Pillow, torch.

With --npm-package (the unpacked llama-tokenizer-js 1.2.2, whose merge list is the one Hugging Face's
Llama tokenizer.json holds), the prompts and strings are also run through checkpoint folders that ship
a tokenizer.json built from it, as real checkpoints do: one with Llama 2's normaliser (Prepend "▁",
spaces to "▁"), one with a Metaspace pre-tokenizer (prepend_scheme "first"), each with legacy
true, false and absent.
"""
import argparse
import collections
import gzip
import hashlib
import json
import os
import platform
import sys
import tempfile
import traceback

from llavagen import hf_config, imageproc, llama_tokenizer, paths

TEMPLATES = ["USER: <image>\n{question}\nASSISTANT:",
             "A chat between a curious user and an artificial intelligence assistant. USER: <image> {question} ASSISTANT:",
             "<image>\nQuestion: {question}\nAnswer:"]
# (key, tokenizer_config.json's "legacy" (None: absent))
VARIANTS = [("true", True), ("false", False), ("absent", None)]


def variants():
    """(key, legacy, tokenizer.json style): from tokenizer.model alone, then with each tokenizer.json."""
    for key, legacy in VARIANTS:
        yield key, legacy, None
        for style in TOKENIZER_JSON:
            yield f"{key}-json-{style}", legacy, style
EXTRA_QUESTIONS = [
    "What is in the image?", "Is there a dog?", "Describe the café: 猫 🐈", "What color is the car?",
    "Is there a snowboard in the image?", "How many people are there?", "????", "What is this?????",
    "*********", "Why.....", "aaaa", "!!!!!!", "------", " leading space", "trailing space ", "two  spaces",
    "sixteen" + " " * 16 + "spaces", "line\nbreak", "tab\there", "</s> is EOS", "<s> and <unk>", "▁ literal",
    "Ünïcödé ñ", "数字 123 4567", "emoji 👍🏽 👨‍👩‍👧", "مرحبا بالعالم", "Привет", "x = {\"a\": [1, 2]}",
]


def versions():
    out = {"python": platform.python_version()}
    for name in ("transformers", "tokenizers", "sentencepiece", "PIL", "torch", "numpy"):
        try:
            out[name] = __import__(name).__version__
        except Exception as e:               # noqa: BLE001
            out[name] = f"unavailable: {e}"
    return out


def read_reference(folder):
    for name in ("sentencepiece-reference.jsonl.gz", "sentencepiece-reference.jsonl"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
    raise SystemExit(f"error: no sentencepiece-reference.jsonl(.gz) in {folder}")


TOKENIZER_JSON = {}   # style -> tokenizer.json dict, filled by main() from --npm-package


def tokenizer_json(package, style):
    """A Llama tokenizer.json (tokenizers' format) from the npm package's vocabulary and merge list."""
    vocab, merges = llama_tokenizer.read_package(package)
    special = [{"id": i, "content": vocab[i], "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for i in range(3)]
    space = "\u2581"
    prepend = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": space},
                                                   {"type": "Replace", "pattern": {"String": " "}, "content": space}]}
    metaspace = {"type": "Metaspace", "replacement": space, "prepend_scheme": "first", "split": False}
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
            "normalizer": prepend if style == "prepend" else None,
            "pre_tokenizer": metaspace if style == "metaspace" else None,
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
            "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": space}, "content": " "},
                                                         {"type": "ByteFallback"}, {"type": "Fuse"},
                                                         {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                      "vocab": {piece: i for i, piece in enumerate(vocab)},
                      "merges": [[vocab[a], vocab[b]] for a, b in merges]}}


def checkpoint_tokenizer(model_path, legacy, style=None):
    """A tokenizer as a LLaVA checkpoint folder holds it: tokenizer.model (and a tokenizer.json in the
    given style), a tokenizer_config.json, and <image> as an added special token."""
    import transformers
    folder = tempfile.mkdtemp(prefix="hf-tok-")
    with open(model_path, "rb") as src, open(os.path.join(folder, "tokenizer.model"), "wb") as dst:
        dst.write(src.read())
    if style is not None:
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(TOKENIZER_JSON[style], f, ensure_ascii=False)
    config = {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "add_bos_token": True, "add_eos_token": False, "model_max_length": 2048}
    if legacy is not None:
        config["legacy"] = legacy
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    tok.add_tokens([transformers.AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    return tok


def prompts(model_path, questions):
    result = {"templates": TEMPLATES, "questions": questions, "tokenizers": {}, "processor_checks": []}
    for key, legacy, style in variants():
        entry = {}
        try:
            tok = checkpoint_tokenizer(model_path, legacy, style)
            entry["class"] = type(tok).__name__
            entry["legacy_attribute"] = getattr(tok, "legacy", "n/a")
            entry["image_token_id"] = tok.convert_tokens_to_ids("<image>")
            entry["export_llava_probe_legacy"] = probe(tok)
            backend = json.loads(tok.backend_tokenizer.to_str()) if hasattr(tok, "backend_tokenizer") else {}
            entry["backend"] = {k: backend.get(k) for k in ("normalizer", "pre_tokenizer", "post_processor")}
            entry["input_ids"] = [[tok(t.replace("{question}", q))["input_ids"] for q in questions] for t in TEMPLATES]
            entry["processor"] = processor_check(tok, questions[:8])
        except Exception:                       # noqa: BLE001
            entry["error"] = traceback.format_exc()
        result["tokenizers"][key] = entry
        print(f"prompts, legacy {key}: {entry.get('class')} {entry.get('error', 'ok')[:400]}", flush=True)
    return result


def probe(tok):
    """export_llava.py's reading of the tokenizer's convention after <image>."""
    try:
        return hf_config.probe_legacy(lambda text: tok(text, add_special_tokens=False)["input_ids"], tok.convert_ids_to_tokens)
    except Exception as e:                      # noqa: BLE001
        return f"failed: {type(e).__name__}: {e}"


def processor_check(tok, questions):
    """LlavaProcessor's ids (image expanded) collapse to tokenizer(prompt)'s ids."""
    import numpy as np
    import transformers
    from PIL import Image
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336})
    processor = transformers.LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=14,
                                            vision_feature_select_strategy="default", image_token="<image>",
                                            num_additional_image_tokens=1)
    image = Image.fromarray(np.full((40, 60, 3), 128, np.uint8))
    image_id = tok.convert_tokens_to_ids("<image>")
    checks = []
    for q in questions:
        prompt = TEMPLATES[0].replace("{question}", q)
        expanded = processor(text=prompt, images=image, return_tensors="np")["input_ids"][0].tolist()
        collapsed = [t for i, t in enumerate(expanded) if t != image_id or i == 0 or expanded[i - 1] != image_id]
        checks.append({"question": q, "image_tokens": expanded.count(image_id),
                       "collapsed_equals_tokenizer": collapsed == tok(prompt)["input_ids"]})
    return checks


def difference_class(text):
    """The known reasons transformers' ids differ from SentencePiece's for a text encoded on its own."""
    if any(s in text for s in ("<s>", "</s>", "<unk>", "<image>")):
        return "special-token spelling (transformers reads it as the special token)"
    if text.startswith((" ", "\u2581")):
        return "leading space (transformers adds no dummy prefix before it)"
    return "other"


def strings(model_path, reference):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=model_path)
    out = {"count": len(reference), "tokenizers": {}}
    for key, legacy, style in variants():
        entry = {"mismatches": []}
        try:
            tok = checkpoint_tokenizer(model_path, legacy, style)
            entry["class"] = type(tok).__name__
            for item in reference:
                ids = tok(item["text"], add_special_tokens=False)["input_ids"]
                if ids != item["ids"]:
                    entry["mismatches"].append({"text": item["text"], "reference": item["ids"], "hf": ids})
        except Exception:                       # noqa: BLE001
            entry["error"] = traceback.format_exc()
        entry["mismatch_count"] = len(entry["mismatches"])
        entry["mismatches_by_class"] = dict(collections.Counter(difference_class(m["text"]) for m in entry["mismatches"]))
        out["tokenizers"][key] = entry
        print(f"strings, legacy {key}: {entry.get('class')} {entry['mismatch_count']} of {len(reference)} differ "
              f"{entry.get('error', '')[:400]}", flush=True)
    sp_mismatches = [{"text": i["text"], "reference": i["ids"], "sentencepiece": sp.encode(i["text"])}
                     for i in reference if sp.encode(i["text"]) != i["ids"]]
    out["sentencepiece"] = {"version": spm.__version__, "mismatch_count": len(sp_mismatches), "mismatches": sp_mismatches}
    print(f"strings, sentencepiece {spm.__version__}: {len(sp_mismatches)} differ", flush=True)
    return out


def pixels(photos_folder):
    """Each photo, in both EXIF modes, through transformers' own loading and CLIPImageProcessor, against the
    committed references (references.json beside the photos, made with Pillow and NumPy on another machine)
    and against llavagen.imageproc recomputed here with this machine's Pillow."""
    import numpy as np
    import transformers
    from PIL import Image
    from transformers.image_utils import load_image
    with open(os.path.join(photos_folder, "references.json"), encoding="utf-8") as f:
        refs = json.load(f)
    settings = refs["pixel_values"]
    processors = {}
    for kind, kw in (("slow", dict(use_fast=False)), ("fast", dict(use_fast=True))):
        try:
            processors[kind] = transformers.AutoImageProcessor.from_pretrained(_clip_processor_folder(), **kw)
        except Exception as e:                  # noqa: BLE001
            processors[kind] = f"unavailable: {e}"
    out = {"processors": {k: (type(v).__name__ if not isinstance(v, str) else v) for k, v in processors.items()},
           "reference_pillow": refs.get("pillow"), "photos": []}
    loaders = {"apply": lambda p: load_image(p), "ignore": lambda p: Image.open(p)}
    for photo in refs["photos"]:
        path = os.path.join(photos_folder, photo["file"])
        entry = {"file": photo["file"]}
        for mode, load in loaders.items():
            ref = photo["exif"][mode]
            try:
                image = load(path)
                rgb = image.convert("RGB")
                data = np.asarray(rgb, dtype=np.uint8)
                m = {"size_equal": [rgb.width, rgb.height] == [ref["width"], ref["height"]],
                     "rgb_equal": hashlib.sha256(data.tobytes()).hexdigest() == ref["rgb_sha256"]}
                _, ours = imageproc.process(rgb, settings["image_size"], settings["image_mean"], settings["image_std"], settings["resize_mode"])
                m["llavagen_here_equal"] = hashlib.sha256(ours.astype("<f4").tobytes()).hexdigest() == ref["pixel_values_sha256"]
                for kind, proc in processors.items():
                    if isinstance(proc, str):
                        continue
                    values = np.asarray(proc(images=image, return_tensors="np")["pixel_values"][0], dtype=np.float32)
                    m[f"{kind}_equal"] = hashlib.sha256(values.astype("<f4").tobytes()).hexdigest() == ref["pixel_values_sha256"]
                    m[f"{kind}_max_abs_diff"] = float(np.abs(values - ours).max()) if values.shape == ours.shape else f"shape {values.shape}"
                entry[mode] = m
            except Exception:                   # noqa: BLE001
                entry[mode] = {"error": traceback.format_exc()[-800:]}
        out["photos"].append(entry)
    summary = {}
    for entry in out["photos"]:
        for mode in loaders:
            for key, value in entry[mode].items():
                if isinstance(value, bool):
                    summary.setdefault(key, [0, 0])[0 if value else 1] += 1
    out["summary_equal_unequal"] = summary
    print(f"pixels: {len(out['photos'])} photos, processors {out['processors']}, equal/unequal {summary}", flush=True)
    return out


def _clip_processor_folder():
    folder = tempfile.mkdtemp(prefix="hf-clip-")
    config = {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": 336},
              "resample": 3, "do_center_crop": True, "crop_size": {"height": 336, "width": 336},
              "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
              "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
              "do_convert_rgb": True}
    with open(os.path.join(folder, "preprocessor_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)
    return folder


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--tokenizer", default=os.path.join(paths.FIXTURES, "llama-tokenizer"))
    p.add_argument("--photos", help="a folder of photographs")
    p.add_argument("--npm-package", help="the unpacked llama-tokenizer-js 1.2.2 package: also checkpoints with a tokenizer.json")
    p.add_argument("--skip", nargs="*", default=[], choices=["prompts", "strings", "pixels"], help="parts not to run")
    args = p.parse_args(argv)
    try:
        import transformers  # noqa: F401
    except ImportError:
        sys.exit("error: transformers is not installed here; run this on a machine that has it")
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.tokenizer, "tokenizer.model")
    if not os.path.isfile(model_path):
        sys.exit(f"error: {model_path} not found; pass --tokenizer FOLDER holding tokenizer.model")
    reference = read_reference(args.tokenizer)
    questions = [i["text"] for i in reference if i.get("category") == "vqa" and "<image>" not in i["text"]][:200] + EXTRA_QUESTIONS

    def write(name, payload):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            json.dump(payload, f, ensure_ascii=False, indent=None, separators=(",", ":"))
            f.write("\n")

    if args.npm_package:
        for style in ("prepend", "metaspace"):
            TOKENIZER_JSON[style] = tokenizer_json(args.npm_package, style)
    write("environment.json", versions())
    if "prompts" not in args.skip:
        write("hf-prompts.json", prompts(model_path, questions))
    if "strings" not in args.skip:
        write("hf-strings.json", strings(model_path, reference))
    if args.photos and "pixels" not in args.skip:
        write("hf-pixels.json", pixels(args.photos))
    print("done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
