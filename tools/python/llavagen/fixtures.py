"""The committed test fixtures (models/fixtures/): writing them all (needs torch), and comparing two
trees of model files byte for byte (does not). make_fixtures.py is the command; the tests regenerate
into a temporary folder."""
import dataclasses
import filecmp
import os

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
