#!/usr/bin/python3
"""Trains the shapes models (baseline and AttAnchor) and exports them as model folders.

    /usr/bin/python3 tools/python/train_shapes.py                 # everything: data, both models, export
    /usr/bin/python3 tools/python/train_shapes.py --stage vision  # stage 1 only (the shared vision encoder)
    /usr/bin/python3 tools/python/train_shapes.py --stage answers # stage 2 and export, from a saved stage 1
    /usr/bin/python3 tools/python/train_shapes.py --stage export  # the model folders again, from saved weights
    /usr/bin/python3 tools/python/train_shapes.py --stage anchors # what the AttAnchor model anchors (anchors.json)
    /usr/bin/python3 tools/python/train_shapes.py --data-only     # write the evaluation splits only

The recipe is in llavagen/shapes_train.py. Stage 1 (the vision encoder) is shared: both models
start from the same vision encoder and the same initial projector, embeddings and decoder, see
the same batches in the same order, and differ only in the regrouping. Work files (stage 1's
checkpoint, the training logs) go to models/generated/shapes-work/, which git ignores; the model
folders go to models/shapes/baseline/ and models/shapes/attanchor/, the evaluation splits to
models/generated/shapes-data/, and their first few scenes to models/shapes/eval-sample/
(committed, for CI).
Needs Debian's python3-torch, python3-onnx, python3-pil, python3-sentencepiece (models/README.md).
"""
import argparse
import dataclasses
import json
import os
import shutil
import sys
import time

import torch

from llavagen import arch, export, paths, references, regroup, shapes, tokenizer
from llavagen import shapes_train as st

WORK = os.path.join(paths.GENERATED, "shapes-work")
DATA = os.path.join(paths.GENERATED, "shapes-data")
SHAPES = paths.SHAPES
SAMPLE = os.path.join(SHAPES, "eval-sample")
VARIANTS = {"attanchor": 0.10, "baseline": None}     # variant -> fraction of text tokens anchored in training
SPLIT_SIZES = {"test": 300, "pope": 300}
SAMPLE_SIZES = {"test": 6, "pope": 3}


def log_to(path):
    handle = open(path, "a", encoding="utf-8")

    def log(line):
        print(line, flush=True)
        handle.write(line + "\n")
        handle.flush()
    return log


def prompt_encoder():
    """The tokenizer every shapes model uses (trained here, deterministic), the prompt template's
    tokenizer and the question/answer encoder: (tokenizer.model bytes, PromptTokenizer, Encoder)."""
    cfg = st.SHAPES_MODEL
    spm_model = tokenizer.train(tokenizer.VOCAB_SIZE)
    ptok = tokenizer.PromptTokenizer(spm_model, cfg.prompt_template, cfg.bos_token_id)
    return spm_model, ptok, st.Encoder(ptok, cfg.eos_token_id)


def new_model(seed):
    torch.manual_seed(seed)
    return arch.Llava(st.SHAPES_MODEL)


def stage_vision(args, log):
    model = new_model(st.SHAPES_MODEL.seed)
    start = time.time()
    accuracy = st.pretrain_vision(model, args.vision_steps, args.vision_batch, seed=11, log=log)
    seconds = time.time() - start
    torch.save({"state": model.state_dict(), "accuracy": accuracy, "seconds": seconds, "steps": args.vision_steps},
               os.path.join(WORK, "stage1.pt"))
    log(f"stage 1: {seconds:.0f} s, held-out accuracy {json.dumps(accuracy)}")


def stage_answers(args, log):
    saved = torch.load(os.path.join(WORK, "stage1.pt"))
    spm_model, ptok, encoder = prompt_encoder()
    cfg = st.SHAPES_MODEL

    start = time.time()
    scenes = [objects for _, objects, _ in shapes.scenes("train", args.scenes)]
    model = new_model(cfg.seed)
    model.load_state_dict(saved["state"])
    features = st.vision_features(model, scenes)
    by_type = st.training_examples(scenes, encoder, seed=1)
    valid_scenes = [objects for _, objects, _ in shapes.scenes("validation", 200)]
    valid_features = st.vision_features(model, valid_scenes)
    valid = [ex for group in st.training_examples(valid_scenes, encoder, seed=2).values() for ex in group]
    shared_seconds = time.time() - start
    log(f"stage 2 data: {args.scenes} scenes, {sum(len(v) for v in by_type.values())} questions "
        f"({', '.join(f'{k} {len(v)}' for k, v in by_type.items())}), features in {shared_seconds:.0f} s")

    for variant in args.variants:
        fraction = VARIANTS[variant]
        model = new_model(cfg.seed)                      # the same initial projector, embeddings, decoder
        model.load_state_dict(saved["state"])            # and the same stage-1 vision encoder
        start = time.time()
        history = st.train_answers(model, features, by_type, encoder.prefix_ids, args.answer_steps, args.answer_batch,
                                   seed=21, log=lambda line, v=variant: log(f"[{variant}] {line}"), anchor_fraction=fraction)
        seconds = time.time() - start
        model.eval()
        torch.save({"state": model.state_dict(), "threshold": None}, os.path.join(WORK, f"model-{variant}.pt"))
        threshold = 1.0
        if fraction is not None:
            per_example = valid_features[torch.tensor([ex.scene for ex in valid])]
            threshold, _ = st.calibrate_threshold(model, per_example, valid, fraction)
            threshold = round(threshold, 4)
        torch.save({"state": model.state_dict(), "threshold": threshold}, os.path.join(WORK, f"model-{variant}.pt"))
        accuracy = validation_accuracy(model, valid_features, valid, encoder, ptok, threshold)
        log(f"[{variant}] stage 2: {seconds:.0f} s, τ {threshold}, validation {json.dumps(accuracy)}")
        folder = export_variant(variant, model, threshold, spm_model)
        training = {
            "variant": variant,
            "command": "/usr/bin/python3 tools/python/train_shapes.py",
            "threads": torch.get_num_threads(),
            "stage1_seconds": round(saved["seconds"], 1), "stage1_steps": saved["steps"],
            "stage1_heldout_accuracy": saved["accuracy"],
            "stage2_data_seconds": round(shared_seconds, 1),
            "stage2_seconds": round(seconds, 1), "stage2_steps": args.answer_steps, "stage2_batch": args.answer_batch,
            "train_scenes": args.scenes,
            "anchor_fraction": fraction, "threshold": threshold,
            "validation_accuracy": accuracy,
            "history": history,
        }
        with open(os.path.join(SHAPES, f"training-{variant}.json"), "w", encoding="utf-8") as f:
            json.dump(training, f, indent=1)
        log(f"[{variant}] exported to {os.path.relpath(folder)}")


def export_variant(variant, model, threshold, spm_model):
    """The model folder, with PyTorch references (graph checks at other lengths, plans, greedy
    answers on the fixture images) that tools/GraphCheck and the tests hold ONNX Runtime to."""
    cfg = dataclasses.replace(st.SHAPES_MODEL, name=f"shapes-{variant}", threshold=threshold)
    folder = os.path.join(SHAPES, variant)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    model = model.float().eval()
    export.export_folder(model, cfg, folder, spm_model)
    ptok = tokenizer.PromptTokenizer(spm_model, cfg.prompt_template, cfg.bos_token_id)  # this folder's name and τ
    image_dir = paths.IMAGES
    references.write(model, cfg, ptok, folder, image_dir, sorted(os.listdir(image_dir)), seed=cfg.seed + 1, light=True)
    return folder


def stage_export(args, log):
    """Rewrites the model folders from the weights stage 2 saved."""
    spm_model, _, _ = prompt_encoder()
    for variant in args.variants:
        saved = torch.load(os.path.join(WORK, f"model-{variant}.pt"))
        model = new_model(st.SHAPES_MODEL.seed)
        model.load_state_dict(saved["state"])
        log(f"[{variant}] exported to {os.path.relpath(export_variant(variant, model, saved['threshold'], spm_model))}")


def stage_anchors(args, log):
    """What the AttAnchor model anchors on the test split at its threshold: which words, and whether
    the patch a word is copied next to lies on an object, and on one of the colour or shape it names."""
    saved = torch.load(os.path.join(WORK, "model-attanchor.pt"))
    _, ptok, encoder = prompt_encoder()
    model = new_model(st.SHAPES_MODEL.seed)
    model.load_state_dict(saved["state"])
    model.eval()
    scenes = shapes.scenes("test", SPLIT_SIZES["test"])
    words, on_object, on_named, named, candidates = {}, 0, 0, 0, 0
    with torch.no_grad():
        images = model.projector(st.vision_features(model, [objects for _, objects, _ in scenes]))  # [scenes, M, D]
        for (_, objects, rng), image in zip(scenes, images):
            color, shape, _ = st.patch_labels(objects)
            for item in shapes.scene_items(objects, rng):
                ex = encoder.example(0, item["category"], item["text"], item["answer"])
                text = model.embed_tokens(torch.tensor(ex.text_ids))
                candidates += len(ex.text_ids)
                for n, m, _ in regroup.plan(text, image, saved["threshold"]):
                    piece = ptok.pieces([ex.text_ids[n]])[0]
                    words[piece] = words.get(piece, 0) + 1
                    on_object += int(shape[m] > 0)
                    word = piece.lstrip("\u2581")
                    if word in shapes.COLORS or word in shapes.SHAPES:
                        named += 1
                        on_named += int(color[m] == 1 + shapes.COLOR_NAMES.index(word) if word in shapes.COLORS
                                        else shape[m] == 1 + shapes.SHAPES.index(word))
    total = sum(words.values())
    summary = {"threshold": saved["threshold"], "candidates": candidates, "anchored": total,
               "anchored_fraction": round(total / candidates, 4), "on_an_object": round(on_object / max(1, total), 4),
               "colour_or_shape_words": named, "on_what_the_word_names": round(on_named / max(1, named), 4),
               "words": dict(sorted(words.items(), key=lambda kv: -kv[1]))}
    log(f"anchors on the test split: {json.dumps(summary, ensure_ascii=False)}")
    with open(os.path.join(SHAPES, "anchors.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
        f.write("\n")


def validation_accuracy(model, features, examples, encoder, ptok, threshold):
    answers = st.greedy_answers(model, features, examples, encoder.prefix_ids, threshold, encoder.eos_id)
    right, total = {}, {}
    for ex, ids in zip(examples, answers):
        total[ex.category] = total.get(ex.category, 0) + 1
        right[ex.category] = right.get(ex.category, 0) + (ptok.decode(ids).strip() == ex.answer)
    return {k: round(right[k] / total[k], 4) for k in sorted(total)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=["all", "vision", "answers", "export", "anchors"], default="all")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--vision-steps", type=int, default=600)
    parser.add_argument("--vision-batch", type=int, default=32)
    parser.add_argument("--answer-steps", type=int, default=1500)
    parser.add_argument("--answer-batch", type=int, default=64)
    parser.add_argument("--scenes", type=int, default=6000, help="training scenes for stage 2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-only", action="store_true", help="write the evaluation splits and stop")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(WORK, exist_ok=True)
    log = log_to(os.path.join(WORK, "train.log"))
    if args.data_only or args.stage == "all":
        shapes.write_splits(DATA, SPLIT_SIZES)
        shapes.write_splits(SAMPLE, SAMPLE_SIZES)
        shapes.write_example(SHAPES)
        log(f"evaluation splits written to {os.path.relpath(DATA)}")
        if args.data_only:
            return 0
    if args.stage in ("all", "vision"):
        stage_vision(args, log)
    if args.stage in ("all", "answers"):
        stage_answers(args, log)
    if args.stage == "export":
        stage_export(args, log)
    if args.stage in ("all", "anchors"):
        stage_anchors(args, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
