"""The committed test fixtures (models/fixtures/): writing them all (needs torch), and comparing two
trees of model files (does not). make_fixtures.py is the command; the tests regenerate into a
temporary folder.

Graphs, weights, tokenizers, images and configuration regenerate byte for byte on any machine. What
PyTorch computes (references/references.json and references/checks/) does so only on a CPU of the
same vector extensions: OpenBLAS and oneDNN round by their kernels, and an AVX2 host's kernels are
not an AVX-512 host's. `differences` therefore holds those files to tolerances instead: tensors
within 1e-5 (float16 folders: 2e-3, about one float16 step) absolute plus relative, every integer and
string of references.json equal, and each AttAnchor plan equal anchor for anchor unless the plan is
marked fragile (a best similarity within float32 noise of the threshold or of the runner-up, where
the tests do not compare anchors either)."""
import dataclasses
import filecmp
import gzip
import json
import math
import os

import numpy as np

from . import config, fuse, testimages, tokenizer

# Fixture folders that other commands make (llama_tokenizer.py and llama_tokenizer_reference.py, from
# an npm package; make_photos.py and make_photo_references.py, from Debian's photographs): generate()
# neither writes nor compares them.
KEPT = ("llama-tokenizer", "photos")


def generate(root):
    """Writes every fixture under `root`: the test images, regroup-parity.json, and each model folder
    of config.FIXTURES with its float16 and fused variants and their PyTorch references."""
    import torch

    from . import arch, export, parity, references

    torch.set_num_threads(1)             # one thread: the same bits on any core count
    image_dir = os.path.join(root, "images")
    names = testimages.make(image_dir)
    cases = parity.write(os.path.join(root, "regroup-parity.json"))
    print(f"regroup-parity.json: {cases} cases, PyTorch's training rule equal to NumPy's on every one")
    spm_model = tokenizer.train(tokenizer.VOCAB_SIZE)
    for cfg in config.FIXTURES:
        folder = os.path.join(root, cfg.name)
        model = arch.build(cfg)
        export.export_folder(model, cfg, folder, spm_model)
        ptok = tokenizer.PromptTokenizer(spm_model, cfg.prompt_template, cfg.bos_token_id)
        references.write(model, cfg, ptok, folder, image_dir, names, seed=cfg.seed + 1)
        print(f"{cfg.name}: written to {os.path.relpath(folder)}")
        if cfg in config.FP16_FIXTURES:
            # The same weights rounded to float16, exported with float16 weights, inputs and
            # outputs; its references are the graph checks, plans and token ids (no greedy runs).
            half = dataclasses.replace(cfg, name=cfg.name + "-fp16")
            export.round_weights_to_float16(model)
            folder = os.path.join(root, half.name)
            export.export_folder(model, half, folder, spm_model, dtype="fp16")
            references.write(model, half, ptok, folder, image_dir, names, seed=cfg.seed + 1, light=True, fp16=True)
            print(f"{half.name}: written to {os.path.relpath(folder)}")
        if cfg in config.FUSED_FIXTURES:
            # The same folder with its decoder rebuilt by fuse.py (GroupQueryAttention &c.), with real
            # copies (the fixtures are committed files, not links); every reference but the graph check
            # it cannot take (left padding) still holds. "-fused-matmul": the same with the attention in
            # standard operators; it takes every reference.
            for suffix, attention in (("-fused", "gqa"), ("-fused-matmul", "matmul")):
                fused = os.path.join(root, cfg.name + suffix)
                fuse.fuse_folder(os.path.join(root, cfg.name), fused, attention, link=False)
                print(f"{cfg.name}{suffix}: written to {os.path.relpath(fused)}")


def compare(a, b, top=True):
    """The paths under `a` that differ from `b`'s (missing on either side, or other bytes); at the top,
    the KEPT folders are left out."""
    diff = filecmp.dircmp(a, b, ignore=filecmp.DEFAULT_IGNORES + (list(KEPT) if top else []))
    problems = [os.path.join(a, n) for n in diff.left_only + diff.right_only + diff.funny_files]
    _, mismatch, errors = filecmp.cmpfiles(a, b, diff.common_files, shallow=False)
    problems += [os.path.join(a, n) for n in mismatch + errors]
    for sub in diff.common_dirs:
        problems += compare(os.path.join(a, sub), os.path.join(b, sub), top=False)
    return problems


def _tolerance(path):
    return 2e-3 if "-fp16" + os.sep in path or path.endswith("-fp16") else 1e-5


def _json_differences(a, b, tol, where):
    """Where two parsed references.json values differ beyond `tol` (see the module's docstring)."""
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return [] if a == b else [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return [] if a == b else [f"{where}: {a} != {b}"]
        if math.isnan(a) and math.isnan(b) or a == b or abs(a - b) <= tol * (1 + abs(a)):
            return []
        return [f"{where}: {a} != {b}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        if "fragile" in a and "anchors" in a and a["fragile"] and b["fragile"]:
            a, b = ({k: v for k, v in x.items() if k not in ("anchors", "sequence_length")} for x in (a, b))
        return [d for k in a for d in _json_differences(a[k], b[k], tol, f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _json_differences(x, y, tol, f"{where}[{i}]")]
    return [f"{where}: {type(a).__name__} != {type(b).__name__}"]


def _file_differences(path_a, path_b):
    """Why two files of one name differ beyond what another CPU's rounding explains; [] when it does."""
    tol = _tolerance(path_a)
    if path_a.endswith(".npy.gz") and os.sep + "checks" + os.sep in path_a:
        with gzip.open(path_a) as fa, gzip.open(path_b) as fb:
            x, y = np.load(fa), np.load(fb)
        if x.shape != y.shape or x.dtype != y.dtype:
            return [f"{x.dtype}{list(x.shape)} != {y.dtype}{list(y.shape)}"]
        if not np.issubdtype(x.dtype, np.floating):
            return [] if np.array_equal(x, y) else ["other integers"]
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        if np.allclose(y64, x64, rtol=tol, atol=tol, equal_nan=True):
            return []
        return [f"largest difference {np.nanmax(np.abs(x64 - y64)):.3g} > {tol} (absolute + relative)"]
    if os.path.basename(path_a) == "references.json":
        with open(path_a, encoding="utf-8") as fa, open(path_b, encoding="utf-8") as fb:
            return _json_differences(json.load(fa), json.load(fb), tol, "")
    return ["other bytes"]


def differences(a, b):
    """(path, why) for each file under `a` that `b` lacks, adds or holds otherwise than float rounding
    explains: `compare`'s byte-level list, less the PyTorch outputs within tolerance."""
    out = []
    for path in compare(a, b):
        other = os.path.join(b, os.path.relpath(path, a))
        if not (os.path.isfile(path) and os.path.isfile(other)):
            out.append((path, "missing on one side"))
            continue
        out += [(path, why) for why in _file_differences(path, other)[:3]]
    return out
