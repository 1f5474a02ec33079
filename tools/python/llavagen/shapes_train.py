"""Training the shapes model: LLaVA's recipe, scaled to a 2-core CPU.

Stage 1, vision pretraining (LLaVA starts from a pretrained CLIP; here nothing is pretrained, and
the answer-token loss alone teaches a vision encoder from zero far too slowly on 2 cores). The
CLIP ViT learns, for every 16 px patch, what the scene generator knows for free: the colour and
the shape of the object that covers most of the patch (or background), and whether the patch
holds an object's centre. Linear heads on the selected layer read those out; they are thrown away.

Stage 2, visual instruction tuning: the vision encoder is frozen (as in LLaVA's stage 2) and its
features are computed once; the projector, the token embeddings and the Llama decoder learn the
questions, with the loss on the answer tokens (and EOS) only. With AttAnchor, every training
sequence is regrouped text-into-image by `llavagen.regroup` before it reaches the decoder, at a
threshold recalibrated on every batch so that 10 % of the candidate text tokens anchor (the
paper's ~10 %); the threshold the final weights give on a calibration set goes into
attanchor.json. The baseline trains on the plain sequences and records threshold 1 (off).
Both variants see the same batches in the same order from the same initial weights.
"""
import dataclasses
import math
import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import config, regroup, shapes

CELL = 32                # the image area of one image token: 16 px patches pooled 2 x 2
GRID = 224 // CELL       # 7 x 7 = 49 image tokens


# --- the model's configuration -------------------------------------------------------------------

SHAPES_MODEL = config.ModelConfig(
    name="shapes",
    vision=config.VisionConfig(image_size=224, patch_size=16, hidden_size=96, num_layers=4, num_heads=4,
                               intermediate_size=384, feature_layer=-1, pool=2, stem="conv"),
    text=config.TextConfig(hidden_size=128, num_layers=4, num_heads=4, num_kv_heads=2, intermediate_size=352,
                           vocab_size=512, max_position_embeddings=512),
    seed=5,
)


# --- pixels and labels ---------------------------------------------------------------------------

MEAN = torch.tensor(config.CLIP_MEAN).view(3, 1, 1)
STD = torch.tensor(config.CLIP_STD).view(3, 1, 1)


def pixel_values(image):
    """CLIPImageProcessor's arithmetic for a 224 x 224 image (resize and crop are the identity)."""
    u8 = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)
    return (u8.float() * np.float32(1 / 255) - MEAN) / STD


def patch_labels(objects):
    """Per image token's cell (row-major, 49): colour class (0 background, 1..4), shape class
    (0, 1..3) of the object covering most of the cell, and whether the cell holds an object's centre."""
    ids = np.asarray(shapes.draw(objects, fill_ids=True), dtype=np.int64)          # [224, 224], 0 = background
    blocks = ids.reshape(GRID, CELL, GRID, CELL).transpose(0, 2, 1, 3).reshape(GRID * GRID, CELL * CELL)
    counts = np.stack([(blocks == k).sum(axis=1) for k in range(len(objects) + 1)], axis=1)
    owner = counts.argmax(axis=1)                                                     # 0 = background
    color = np.zeros(GRID * GRID, dtype=np.int64)
    shape = np.zeros(GRID * GRID, dtype=np.int64)
    centre = np.zeros(GRID * GRID, dtype=np.float32)
    for k, o in enumerate(objects, start=1):
        color[owner == k] = 1 + shapes.COLOR_NAMES.index(o["color"])
        shape[owner == k] = 1 + shapes.SHAPES.index(o["shape"])
        cx, cy = o["x"] + o["side"] // 2, o["y"] + o["side"] // 2
        centre[(cy // CELL) * GRID + cx // CELL] = 1.0
    return color, shape, centre


def render(objects):
    return pixel_values(shapes.draw(objects))


# --- stage 1 -------------------------------------------------------------------------------------

class PatchHeads(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.color = nn.Linear(width, 1 + len(shapes.COLOR_NAMES))
        self.shape = nn.Linear(width, 1 + len(shapes.SHAPES))
        self.centre = nn.Linear(width, 1)


def pretrain_vision(model, steps, batch, seed, log, lr=2e-3):
    """Stage 1. Returns the per-patch accuracies on a held-out batch."""
    rng = random.Random(seed)
    heads = PatchHeads(model.cfg.vision.hidden_size)
    params = list(model.vision.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    model.vision.train()

    def sample(n, r):
        scenes = [shapes.random_scene(r) for _ in range(n)]
        pixels = torch.stack([render(s) for s in scenes])
        labels = [patch_labels(s) for s in scenes]
        return pixels, [torch.from_numpy(np.stack(parts)) for parts in zip(*labels)]

    held_out = sample(128, random.Random(seed + 1))
    start = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * _schedule(step, steps)
        pixels, (color, shape, centre) = sample(batch, rng)
        features = model.vision(pixels)                                                  # [B, 49, Dv]
        loss = (F.cross_entropy(heads.color(features).flatten(0, 1), color.flatten())
                + F.cross_entropy(heads.shape(features).flatten(0, 1), shape.flatten())
                + F.binary_cross_entropy_with_logits(heads.centre(features).squeeze(-1), centre, pos_weight=torch.tensor(5.0)))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 25 == 0 or step == steps - 1:
            log(f"vision step {step:4d}/{steps}  loss {loss.item():.4f}  {time.time() - start:6.1f} s")
        if step % 100 == 99:
            model.vision.eval()
            log(f"vision step {step:4d}/{steps}  held-out {patch_accuracy(model, heads, held_out)}")
            model.vision.train()
    model.vision.eval()
    return patch_accuracy(model, heads, held_out)


@torch.no_grad()
def patch_accuracy(model, heads, batch):
    pixels, (color, shape, centre) = batch
    features = model.vision(pixels)
    on_object = shape > 0
    return {
        "color": round((heads.color(features).argmax(-1) == color).float().mean().item(), 4),
        "shape_on_objects": round((heads.shape(features).argmax(-1) == shape)[on_object].float().mean().item(), 4),
        "centre_found": round((heads.centre(features).squeeze(-1) > 0)[centre > 0].float().mean().item(), 4),
        "centre_false": round((heads.centre(features).squeeze(-1) > 0)[centre == 0].float().mean().item(), 4),
    }


def _schedule(step, steps, warmup=30):
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


# --- stage 2 data --------------------------------------------------------------------------------

@dataclasses.dataclass
class Example:
    scene: int
    category: str
    question: str
    answer: str
    text_ids: list       # the prompt after <image>: the AttAnchor candidates
    answer_ids: list     # the answer's tokens and EOS


class Encoder:
    """Prompt ids as docs/spec/model-folder.md builds them, and the answer's ids after it."""

    def __init__(self, ptok, eos_id):
        self.ptok, self.eos_id = ptok, eos_id
        self.prefix_ids, _ = ptok.encode("")

    def example(self, scene, category, question, answer):
        prefix, text = self.ptok.encode(question)
        assert prefix == self.prefix_ids
        _, after = self.ptok.template.split("<image>")
        full = self.ptok.sp.encode(after.replace("{question}", question) + " " + answer)
        if full[: len(text)] != text:
            raise ValueError(f"the answer changes the prompt's tokens: {question!r} + {answer!r}")
        return Example(scene, category, question, answer, text, full[len(text):] + [self.eos_id])


def training_examples(scenes, encoder, seed):
    """Every question of every scene (one negative kind drawn per scene), grouped by type."""
    by_type = {t: [] for t in shapes.TYPES}
    for index, objects in enumerate(scenes):
        for item in shapes.scene_items(objects, random.Random(seed * 100_003 + index)):
            by_type[item["category"]].append(encoder.example(index, item["category"], item["text"], item["answer"]))
    return by_type


@torch.no_grad()
def vision_features(model, scenes, batch=64):
    out = []
    for i in range(0, len(scenes), batch):
        out.append(model.vision(torch.stack([render(s) for s in scenes[i:i + batch]])))
    return torch.cat(out)


# --- stage 2 -------------------------------------------------------------------------------------

def build_batch(model, features, examples, prefix_ids, threshold, direction=regroup.TEXT_INTO_IMAGE):
    """Input embeddings [B, L, D] (right-padded), the mask [B, L], and for the loss: the positions
    whose next token is an answer token and those tokens. Returns also the number of anchors and
    of candidates."""
    prefix = model.embed_tokens(torch.tensor(prefix_ids))                               # [P, D]
    image = model.projector(features)                                                   # [B, M, D]
    rows, targets_at, targets, anchored, candidates = [], [], [], 0, 0
    for b, ex in enumerate(examples):
        text = model.embed_tokens(torch.tensor(ex.text_ids + ex.answer_ids))              # [T + A, D]
        source = torch.cat([prefix, image[b], text])
        n = len(ex.text_ids)
        anchors = regroup.plan(text[:n].detach(), image[b].detach(), threshold, direction) if threshold < 1 else []
        anchored += len(anchors)
        candidates += n
        order = regroup.order(len(prefix_ids), image.shape[1], text.shape[0], anchors, direction)
        seq = source[order]
        rows.append(seq)
        length = seq.shape[0]
        a = len(ex.answer_ids)
        targets_at.extend((b, length - a - 1 + k) for k in range(a))
        targets.extend(ex.answer_ids)
    width = max(r.shape[0] for r in rows)
    embeds = torch.stack([F.pad(r, (0, 0, 0, width - r.shape[0])) for r in rows])
    mask = torch.stack([torch.cat([torch.ones(r.shape[0], dtype=torch.int64),
                                   torch.zeros(width - r.shape[0], dtype=torch.int64)]) for r in rows])
    return embeds, mask, targets_at, torch.tensor(targets), anchored, candidates


def decoder_logits(model, embeds, mask):
    b, s, _ = embeds.shape
    positions = torch.arange(s).unsqueeze(0).expand(b, s)
    logits, _ = model.decoder(embeds, mask, positions, model.empty_past(b))
    return logits


def calibrate_threshold(model, features, examples, fraction):
    """The threshold at which `fraction` of the candidate text tokens anchor (text-into-image).
    features[i] is examples[i]'s image (one row per example, not per scene)."""
    with torch.no_grad():
        best = []
        for i, ex in enumerate(examples):
            text = model.embed_tokens(torch.tensor(ex.text_ids))
            best.append(regroup.best_similarities(text, model.projector(features[i:i + 1])[0]))
        best = torch.cat(best)
    return float(torch.quantile(best, 1 - fraction)), best


def train_answers(model, features, by_type, prefix_ids, steps, batch, seed, log, anchor_fraction=None, lr=1.5e-3):
    """Stage 2. anchor_fraction None trains on plain sequences; a fraction regroups every sequence
    at the threshold that anchors that fraction of the batch's candidate text tokens."""
    rng = random.Random(seed)
    for p in model.vision.parameters():
        p.requires_grad_(False)
    params = [p for n, p in model.named_parameters() if not n.startswith("vision.")]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    types = list(by_type)
    history = []
    start = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * _schedule(step, steps)
        examples = [rng.choice(by_type[types[i % len(types)]]) for i in range(batch)]
        feats = features[torch.tensor([ex.scene for ex in examples])]
        threshold = 1.0
        if anchor_fraction is not None:
            threshold, _ = calibrate_threshold(model, feats, examples, anchor_fraction)
        embeds, mask, at, targets, anchored, candidates = build_batch(model, feats, examples, prefix_ids, threshold)
        logits = decoder_logits(model, embeds, mask)
        rows = torch.tensor([b for b, _ in at])
        cols = torch.tensor([c for _, c in at])
        loss = F.cross_entropy(logits[rows, cols], targets)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            entry = {"step": step, "loss": round(loss.item(), 5), "seconds": round(time.time() - start, 1),
                     "threshold": round(threshold, 5), "anchored": anchored / max(1, candidates)}
            history.append(entry)
            log(f"answer step {step:4d}/{steps}  loss {loss.item():.4f}  τ {threshold:.4f}  "
                f"anchored {100 * anchored / max(1, candidates):4.1f} %  {time.time() - start:6.1f} s")
    return history


@torch.no_grad()
def greedy_answers(model, features, examples, prefix_ids, threshold, eos_id, max_new=6, batch=64):
    """Greedy answers (token ids, EOS dropped) by recomputing the whole sequence per step."""
    out = []
    for i in range(0, len(examples), batch):
        chunk = examples[i:i + batch]
        feats = features[torch.tensor([ex.scene for ex in chunk])]
        generated = [[] for _ in chunk]
        done = [False] * len(chunk)
        for _ in range(max_new):
            probe = [dataclasses.replace(ex, answer_ids=g + [eos_id]) for ex, g in zip(chunk, generated)]
            embeds, mask, at, _, _, _ = build_batch(model, feats, probe, prefix_ids, threshold)
            logits = decoder_logits(model, embeds, mask)
            # the position that predicts the placeholder EOS is the one that predicts the next token
            last = {}
            for b, c in at:
                last[b] = c
            for b in range(len(chunk)):
                if done[b]:
                    continue
                token = int(logits[b, last[b]].argmax())
                if token == eos_id:
                    done[b] = True
                else:
                    generated[b].append(token)
            if all(done):
                break
        out.extend(generated)
    return out
