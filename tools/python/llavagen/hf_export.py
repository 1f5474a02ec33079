"""Exports a Hugging Face LLaVA checkpoint (LlavaForConditionalGeneration) to a model folder and
checks the result: the weights copied by name into llavagen.arch.Llava, HF's forward against ours,
the export (llavagen.export), the graph checks and tokenizer_check.json. export_llava.py is the
command and its docstring says what each check compares; transformers is needed only to load a
checkpoint, never to export the mapped model."""
import dataclasses
import gc
import glob
import json
import os
import re
import shutil
import tempfile

import numpy as np
import torch

from . import arch, export, imageproc, npyio, paths, references, tokenizer as ltok
from .hf_config import CheckFailed, ExportError, TINY_PP, build_config, probe_legacy, read_json, tokenizer_legacy

IMAGES = paths.IMAGES
# The fixture tokenizer (512 pieces), which the tiny random checkpoint and the tests use.
FIXTURE_TOKENIZER = os.path.join(paths.FIXTURES, "tiny-336-gqa", "tokenizer.model")
QUESTION = "What is in the image?"
TOKENIZER_PROMPTS = ["What is in the image?", "Is there a dog?", "Describe the café: 猫 🐈"]
GREEDY_STEPS = 8
TOLERANCE = 1e-3            # PyTorch vs PyTorch, relative to max(1, the largest |value|)


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
        raise ExportError("transformers is not installed: run `pip install -r tools/python/requirements.txt`")


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
        pp = read_json(pp_path)
    elif os.path.isfile(proc_path) and "image_processor" in read_json(proc_path):
        pp = read_json(proc_path)["image_processor"]
    else:
        raise ExportError(f"no preprocessor_config.json in {folder}: the image processor settings are needed")
    version = tuple(int(x) for x in re.findall(r"\d+", tf.__version__)[:2])
    dtype_kw = "dtype" if version >= (4, 56) else "torch_dtype"
    hf = tf.LlavaForConditionalGeneration.from_pretrained(folder, **{dtype_kw: torch.float32}).eval()
    tok_path = os.path.join(folder, "tokenizer_config.json")
    tok_config = read_json(tok_path) if os.path.isfile(tok_path) else {}
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
    with open(FIXTURE_TOKENIZER, "rb") as src, \
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
        print("onnxruntime is not installed: ONNX checks skipped (pip install -r tools/python/requirements.txt)")
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
    if args.references:                  # as tools/python/generate.py writes them for large models
        references.write(model, cfg, ptok, out, IMAGES, None, seed=1, light=True, fp16=args.fp16)
    cases = write_graph_checks(model, cfg, out, pixels, args.fp16)
    verify_onnx(out, cfg, cases, pixels, model, ptok, args.fp16)
    tokenizer_check(out, cfg, tok_bytes, hf_prompt_ids)
    print(f"done. Check the folder from .NET too:\n  dotnet run -c Release --project tools/GraphCheck -- {out}")


def load_tokenizer(folder, cfg, tok_bytes, random_small):
    """(the checkpoint's HF tokenizer with <image> as an added token, a prompt -> ids function), or
    (None, None) when it does not load for the tiny random checkpoint (sentencepiece stands in then)."""
    try:
        hf_tok = _transformers().AutoTokenizer.from_pretrained(folder)
    except Exception as e:               # noqa: BLE001
        if not random_small:
            raise ExportError(f"the checkpoint's tokenizer does not load ({type(e).__name__}: {e}); pip install -r tools/python/requirements.txt")
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
