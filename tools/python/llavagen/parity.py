"""Shared regrouping fixtures: the training rule (llavagen/regroup.py, PyTorch), the reference rule
(llavagen/attanchor.py, NumPy float64) and the .NET core (src/AttAnchor) must agree on them.

`cases()` builds the cases deterministically; `check(cases)` runs both Python implementations
on every case and raises on any difference; `write(path)` writes them with the expected plans
and sequence orders as JSON, which tests/AttAnchor.Tests/RegroupParityTests.cs checks the .NET
core against. Non-finite values are written as the strings "NaN", "Infinity", "-Infinity".
"""
import json
import math

import numpy as np
import torch

from . import attanchor, regroup

PREFIX_LENGTH = 3


def _rows(rng, n, d):
    return rng.standard_normal((n, d)).astype(np.float32)


def _threshold_between(text, image, fraction):
    """A threshold that anchors about `fraction` of the text rows, halfway between two distinct
    best similarities, so float32 noise cannot move a row across it."""
    best = sorted(b for _, b, _ in attanchor.best(attanchor.similarity(text, image)) if math.isfinite(b))
    k = min(len(best) - 1, max(1, int(round(len(best) * (1 - fraction)))))
    return float(np.float32((best[k - 1] + best[k]) / 2))


def cases():
    rng = np.random.default_rng(2509_23109)
    out = []

    def add(name, text, image, threshold, directions=(attanchor.TEXT_INTO_IMAGE, attanchor.IMAGE_INTO_TEXT)):
        for direction in directions:
            out.append({"name": f"{name} ({direction})", "text": text, "image": image,
                        "threshold": float(np.float32(threshold)), "direction": direction})

    for n, m, d, fraction in [(9, 49, 16, 0.1), (14, 49, 32, 0.3), (5, 20, 8, 0.5), (12, 64, 24, 0.1)]:
        text, image = _rows(rng, n, d), _rows(rng, m, d)
        add(f"random {n}x{m}x{d}, about {int(fraction * 100)} % anchored", text, image,
            _threshold_between(text, image, fraction))

    # Exact ties: two equal image rows (and two equal text rows); the lowest index wins.
    text, image = _rows(rng, 6, 12), _rows(rng, 30, 12)
    image[17] = image[4]
    text[5] = text[2]
    image[9] = text[1] * 2.5                        # similarity 1 for text row 1 (clamped)
    add("ties go to the lowest index", text, image, 0.2)

    # Several copies after one patch keep prompt order: text rows close to image row 7.
    text, image = _rows(rng, 6, 10), _rows(rng, 25, 10)
    for k in (0, 3, 4):
        text[k] = image[7] + 0.05 * _rows(rng, 1, 10)[0]
    add("several copies after one patch", text, image, 0.5)

    # Rows that never anchor and are never matched: zero, NaN, +inf, -inf.
    text, image = _rows(rng, 7, 8), _rows(rng, 16, 8)
    text[1] = 0
    text[3, 2] = np.nan
    image[5] = 0
    image[6, 0] = np.inf
    image[11, 7] = -np.inf
    image[2] = text[0] * 3                          # text row 0's best is image row 2 (similarity 1)
    text[6] = 0                                     # a second zero row
    add("zero and non-finite rows", text, image, 0.1)

    # Everything anchors below -1; nothing at 1 or above, even with an exact match.
    text, image = _rows(rng, 4, 6), _rows(rng, 9, 6)
    image[3] = text[2]
    add("threshold below -1: every row anchors", text, image, -1.5)
    add("threshold 1: nothing, even an exact match", text, image, 1.0)
    add("threshold 1.5", text, image, 1.5)
    return out


def expected(case):
    text, image = np.asarray(case["text"], np.float32), np.asarray(case["image"], np.float32)
    anchors = attanchor.plan(text, image, case["threshold"], case["direction"])
    rows = _reference_order(len(text), len(image), anchors, case["direction"])
    return anchors, rows


def _reference_order(n, m, anchors, direction):
    """attanchor.sequence on index rows: which row of cat([prefix, image, text]) each position holds."""
    prefix = [[i] for i in range(PREFIX_LENGTH)]
    image = [[PREFIX_LENGTH + i] for i in range(m)]
    text = [[PREFIX_LENGTH + m + i] for i in range(n)]
    return [int(r[0]) for r in attanchor.sequence(prefix, image, text, anchors, direction)]


def check(all_cases):
    """Raises AssertionError at the first case where PyTorch's training rule differs from NumPy's."""
    for case in all_cases:
        text = torch.from_numpy(np.asarray(case["text"], np.float32))
        image = torch.from_numpy(np.asarray(case["image"], np.float32))
        anchors, rows = expected(case)
        mine = regroup.plan(text, image, case["threshold"], case["direction"])
        assert [(a["text_index"], a["patch_index"]) for a in anchors] == [(n, m) for n, m, _ in mine], case["name"]
        for a, (_, _, s) in zip(anchors, mine):
            assert abs(a["similarity"] - s) < 1e-5, case["name"]
        order = regroup.order(PREFIX_LENGTH, len(case["image"]), len(case["text"]), mine, case["direction"])
        assert order == rows, case["name"]
        assert not attanchor.fragile(np.asarray(case["text"]), np.asarray(case["image"]), case["threshold"],
                                     case["direction"]) or "ties" in case["name"], case["name"]
    return len(all_cases)


def _number(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def write(path):
    all_cases = cases()
    check(all_cases)
    doc = {"prefix_length": PREFIX_LENGTH, "cases": []}
    for case in all_cases:
        anchors, rows = expected(case)
        doc["cases"].append({
            "name": case["name"], "direction": case["direction"], "threshold": case["threshold"],
            "text": [[_number(v) for v in row] for row in np.asarray(case["text"], np.float32)],
            "image": [[_number(v) for v in row] for row in np.asarray(case["image"], np.float32)],
            "anchors": [{"text_index": a["text_index"], "patch_index": a["patch_index"],
                         "similarity": round(a["similarity"], 6)} for a in anchors],
            "order": rows,
        })
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    return len(all_cases)
