"""The synthetic shapes task (models/shapes/README.md): scenes, questions and answers, POPE-style splits.

The task is fixed, so anyone can draw more test images:
- 224 x 224 RGB, white background (255, 255, 255), one to three filled shapes that do not
  overlap, each 40-90 px across, anywhere on the canvas;
- shapes `circle`, `square`, `triangle` (upright); colours red (230, 25, 25), green
  (30, 170, 60), blue (30, 60, 220), yellow (240, 200, 20);
- exactly these questions and answers:
    What color is the {shape}?               -> {Color}.    (only when exactly one {shape})
    What shape is {color}?                   -> A {shape}.  (only when exactly one {color} shape)
    Is there a {color} {shape} in the image? -> Yes. / No.  (negatives drawn as POPE does)
    How many shapes are there?               -> One. / Two. / Three.

Negatives for the yes/no question come in POPE's three kinds: `random` (any absent pair),
`popular` (the shape is in the image, in another colour) and `adversarial` (the colour is in
the image, on another shape).

Everything is deterministic for a given seed (Python's `random.Random`), and the files are
written in POPE's own JSONL format: {"question_id", "image", "text", "label"} (plus a
"category" field naming the question type), with the images beside them.
"""
import json
import os
import random
import shutil

from PIL import Image, ImageDraw

SIZE = 224
BACKGROUND = (255, 255, 255)
SHAPES = ("circle", "square", "triangle")
COLORS = {"red": (230, 25, 25), "green": (30, 170, 60), "blue": (30, 60, 220), "yellow": (240, 200, 20)}
COLOR_NAMES = tuple(COLORS)
MIN_SIDE, MAX_SIDE = 40, 90
GAP = 2                        # bounding boxes keep at least this many pixels between them
COUNT_WORDS = {1: "One", 2: "Two", 3: "Three"}
TYPES = ("color", "shape", "exist", "count")
NEGATIVE_KINDS = ("random", "popular", "adversarial")


def color_question(shape):
    return f"What color is the {shape}?"


def shape_question(color):
    return f"What shape is {color}?"


def exist_question(color, shape):
    return f"Is there a {color} {shape} in the image?"


COUNT_QUESTION = "How many shapes are there?"


# --- scenes --------------------------------------------------------------------------------

def random_scene(rng):
    """A list of 1-3 objects {shape, color, x, y, side}: (x, y) is the bounding box's top-left."""
    count = rng.randint(1, 3)
    while True:
        objects = []
        for _ in range(count):
            for _attempt in range(100):
                side = rng.randint(MIN_SIDE, MAX_SIDE)
                x, y = rng.randint(0, SIZE - side), rng.randint(0, SIZE - side)
                if all(_apart((x, y, side), (o["x"], o["y"], o["side"])) for o in objects):
                    objects.append({"shape": rng.choice(SHAPES), "color": rng.choice(COLOR_NAMES),
                                    "x": x, "y": y, "side": side})
                    break
        if len(objects) == count:
            return objects


def _apart(a, b):
    (ax, ay, aside), (bx, by, bside) = a, b
    return ax + aside + GAP <= bx or bx + bside + GAP <= ax or ay + aside + GAP <= by or by + bside + GAP <= ay


def draw(objects, fill_ids=False):
    """The RGB image; with fill_ids, an 'L' image whose pixels hold 1 + the object's index (0 = background)."""
    image = Image.new("L" if fill_ids else "RGB", (SIZE, SIZE), 0 if fill_ids else BACKGROUND)
    pen = ImageDraw.Draw(image)
    for index, o in enumerate(objects):
        fill = index + 1 if fill_ids else COLORS[o["color"]]
        x, y, s = o["x"], o["y"], o["side"]
        box = [x, y, x + s - 1, y + s - 1]
        if o["shape"] == "circle":
            pen.ellipse(box, fill=fill)
        elif o["shape"] == "square":
            pen.rectangle(box, fill=fill)
        else:  # upright: apex at the top centre, base along the bottom
            pen.polygon([(x + (s - 1) / 2, y), (x + s - 1, y + s - 1), (x, y + s - 1)], fill=fill)
    return image


# --- questions -----------------------------------------------------------------------------

def open_questions(objects):
    """(type, question, answer) for every open question the scene allows."""
    out = []
    shapes = [o["shape"] for o in objects]
    colors = [o["color"] for o in objects]
    for o in objects:
        if shapes.count(o["shape"]) == 1:
            out.append(("color", color_question(o["shape"]), o["color"].capitalize() + "."))
    for o in objects:
        if colors.count(o["color"]) == 1:
            out.append(("shape", shape_question(o["color"]), f"A {o['shape']}."))
    out.append(("count", COUNT_QUESTION, COUNT_WORDS[len(objects)] + "."))
    return out


def present_pairs(objects):
    return sorted({(o["color"], o["shape"]) for o in objects})


def negative_candidates(objects, kind):
    """The absent (color, shape) pairs a negative of this kind may ask about."""
    present = set(present_pairs(objects))
    shapes = {o["shape"] for o in objects}
    colors = {o["color"] for o in objects}
    absent = [(c, s) for c in COLOR_NAMES for s in SHAPES if (c, s) not in present]
    if kind == "random":
        return absent
    if kind == "popular":
        return [(c, s) for c, s in absent if s in shapes]
    if kind == "adversarial":
        return [(c, s) for c, s in absent if c in colors]
    raise ValueError(f"unknown negative kind {kind!r}")


def exist_questions(objects, kind, rng):
    """POPE's recipe: every present pair as a positive, and as many negatives of the given kind
    (fewer only when the scene offers fewer candidates). (question, answer) pairs, shuffled."""
    positives = present_pairs(objects)
    candidates = negative_candidates(objects, kind)
    negatives = rng.sample(candidates, min(len(positives), len(candidates)))
    items = [(exist_question(c, s), "Yes.") for c, s in positives] + [(exist_question(c, s), "No.") for c, s in negatives]
    rng.shuffle(items)
    return items


# --- splits --------------------------------------------------------------------------------

SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3, "pope": 4}


def scenes(split, count):
    """The split's scenes, each with a per-scene random generator for its questions."""
    rng = random.Random(SPLIT_SEEDS[split] * 1_000_003)
    out = []
    for i in range(count):
        objects = random_scene(rng)
        out.append((i, objects, random.Random(SPLIT_SEEDS[split] * 7919 + i)))
    return out


def scene_items(objects, rng, kinds=NEGATIVE_KINDS):
    """Every question of a scene: the open ones, and yes/no ones with negatives of the given kinds
    (for training and the mixed test split: one kind drawn per scene)."""
    items = [{"category": t, "text": q, "answer": a} for t, q, a in open_questions(objects)]
    kind = rng.choice(kinds)
    items += [{"category": "exist", "text": q, "answer": a, "negative": kind} for q, a in exist_questions(objects, kind, rng)]
    return items


def write_split(root, split, count):
    """Writes <root>/<split>/images/*.png, images/scenes.json and JSONL files in POPE's format.

    - "train" / "validation" / "test": one file per question type (<type>.jsonl), the yes/no
      negatives of each scene of one kind drawn at random;
    - "pope": POPE's layout, one set of images and three files, random.jsonl, popular.jsonl and
      adversarial.jsonl, with the same positives and that kind's negatives.
    Labels of yes/no items are "yes"/"no" (POPE's); open items keep the answer text ("Red.").
    images/scenes.json lists each image (named relative to <root>/<split>, as in the JSONL files) with
    its objects; it lives under images/ because the evaluator reads every *.json and *.jsonl in the
    split's folder as a split.
    Returns the list of files written.
    """
    folder = os.path.join(root, split)
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    rows = {}
    qid = 0
    listing = []
    for i, objects, rng in scenes(split, count):
        name = f"images/{split}-{i:05d}.png"
        draw(objects).save(os.path.join(folder, name), optimize=True)
        listing.append({"image": name, "objects": objects})
        if split == "pope":
            groups = {kind: [{"category": "exist", "text": q, "answer": a, "negative": kind}
                             for q, a in exist_questions(objects, kind, random.Random(rng.random()))]
                      for kind in NEGATIVE_KINDS}
        else:
            groups = {}
            for item in scene_items(objects, rng):
                groups.setdefault(item["category"], []).append(item)
        for key, items in groups.items():
            for item in items:
                qid += 1
                label = item["answer"].rstrip(".").lower() if item["category"] == "exist" else item["answer"]
                rows.setdefault(key, []).append(
                    {"question_id": qid, "image": name, "text": item["text"], "label": label, "category": item["category"]})
    files = []
    for name, lines in sorted(rows.items()):
        path = os.path.join(folder, f"{name}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for row in lines:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        files.append(path)
    with open(os.path.join(folder, "images", "scenes.json"), "w", encoding="utf-8") as f:
        json.dump(listing, f, indent=0)
    return files


def write_splits(root, sizes):
    """Replaces <root> with the splits of `sizes` ({split: scene count}) written by write_split;
    returns the files written."""
    if os.path.isdir(root):
        shutil.rmtree(root)
    files = []
    for split, count in sizes.items():
        files += write_split(root, split, count)
    return files


def write_example(folder, index=4):
    """The README's example image (<folder>/example.png): a scene of the test split, with every
    question it allows and its answer (<folder>/example.json)."""
    _, objects, rng = scenes("test", index + 1)[index]
    draw(objects).save(os.path.join(folder, "example.png"), optimize=True)
    items = scene_items(objects, rng)
    with open(os.path.join(folder, "example.json"), "w", encoding="utf-8") as f:
        json.dump({"image": "example.png", "source": f"test split, scene {index}", "objects": objects,
                   "questions": [{"category": i["category"], "text": i["text"], "answer": i["answer"]} for i in items]}, f, indent=1)
        f.write("\n")
