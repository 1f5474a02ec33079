"""The AttAnchor regrouping rule of docs/spec/attanchor.md, in plain NumPy (no PyTorch needed).

Similarities are computed in float64 from the given rows and clamped to [-1, 1]; a row whose
norm is 0 or whose values are not all finite never anchors and is never matched; ties go to
the lowest index; a copy is inserted when the best similarity is >= threshold; threshold >= 1
inserts nothing. This is the same rule as the .NET core (src/AttAnchor), written independently.
"""
import numpy as np

TEXT_INTO_IMAGE = "text_into_image"
IMAGE_INTO_TEXT = "image_into_text"


def similarity(text, image):
    """[N, M] cosine similarities in float64, NaN where either row is invalid."""
    t = np.asarray(text, dtype=np.float64)
    i = np.asarray(image, dtype=np.float64)

    def unit(rows):
        finite = np.isfinite(rows).all(axis=1)
        norms = np.linalg.norm(np.where(np.isfinite(rows), rows, 0.0), axis=1)
        valid = finite & (norms > 0)
        out = np.where(valid[:, None], rows / np.where(valid, norms, 1.0)[:, None], 0.0)
        return out, valid

    tu, tv = unit(t)
    iu, iv = unit(i)
    sim = np.clip(tu @ iu.T, -1.0, 1.0)
    sim[~tv, :] = np.nan
    sim[:, ~iv] = np.nan
    return sim


def best(sim_rows):
    """For each row: (index of the best finite value, lowest on ties; that value; runner-up value).
    Rows with no finite value give (-1, -inf, -inf)."""
    out = []
    for row in sim_rows:
        finite = np.where(np.isfinite(row))[0]
        if finite.size == 0:
            out.append((-1, -np.inf, -np.inf))
            continue
        values = row[finite]
        k = int(finite[np.argmax(values)])          # argmax returns the first maximum
        second = np.partition(values, -2)[-2] if values.size > 1 else -np.inf
        out.append((k, float(row[k]), float(second)))
    return out


def plan(text, image, threshold, direction=TEXT_INTO_IMAGE):
    """The anchors, in sequence order, as dicts with text_index, patch_index, similarity,
    runner_up (the second-best similarity of the source row)."""
    if direction not in (TEXT_INTO_IMAGE, IMAGE_INTO_TEXT):
        raise ValueError(f"unknown direction {direction!r}")
    if threshold >= 1:
        return []
    sim = similarity(text, image)
    anchors = []
    if direction == TEXT_INTO_IMAGE:
        for n, (m, s, second) in enumerate(best(sim)):
            if m >= 0 and s >= threshold:
                anchors.append({"text_index": n, "patch_index": m, "similarity": s, "runner_up": second})
        anchors.sort(key=lambda a: (a["patch_index"], a["text_index"]))
    else:
        for m, (n, s, second) in enumerate(best(sim.T)):
            if n >= 0 and s >= threshold:
                anchors.append({"text_index": n, "patch_index": m, "similarity": s, "runner_up": second})
        anchors.sort(key=lambda a: (a["text_index"], a["patch_index"]))
    return anchors


def fragile(text, image, threshold, direction=TEXT_INTO_IMAGE, eps=1e-4):
    """True when float32 noise of size eps could change the plan: some source row's best
    similarity is within eps of the threshold, or its two best are within eps (a near-tie)."""
    if threshold >= 1:
        return False
    sim = similarity(text, image)
    rows = best(sim if direction == TEXT_INTO_IMAGE else sim.T)
    for k, s, second in rows:
        if k < 0:
            continue
        if abs(s - threshold) < eps or (s >= threshold - eps and s - second < eps):
            return True
    return False


def sequence(prefix, image, text, anchors, direction=TEXT_INTO_IMAGE):
    """The regrouped rows [L, d]: prefix, image block, text block, with copies inserted."""
    rows = list(prefix)
    if direction == TEXT_INTO_IMAGE:
        after = {}
        for a in anchors:
            after.setdefault(a["patch_index"], []).append(text[a["text_index"]])
        for m, row in enumerate(image):
            rows.append(row)
            rows.extend(after.get(m, []))
        rows.extend(text)
    else:
        after = {}
        for a in anchors:
            after.setdefault(a["text_index"], []).append(image[a["patch_index"]])
        rows.extend(image)
        for n, row in enumerate(text):
            rows.append(row)
            rows.extend(after.get(n, []))
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
