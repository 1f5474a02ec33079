"""AttAnchor's regrouping in PyTorch, for training on regrouped sequences.

The same rule as docs/spec/attanchor.md, `llavagen/attanchor.py` (NumPy, float64) and the .NET core
(src/AttAnchor): cosine similarity between each candidate text row and each image row; a row
whose norm is 0 or whose values are not all finite never anchors and is never matched; the best
match is the lowest index among equal maxima; a copy is inserted when the best similarity is
>= threshold; threshold >= 1 inserts nothing.
- text_into_image: the copy of text row n goes right after image row m*; copies after the same
  image row keep text order; the prompt stays whole after the image block.
- image_into_text: the copy of image row m goes right after text row n*; copies after the same
  text row keep image order; the image block stays whole.

`plan` returns the anchors as (text_index, patch_index, similarity) in sequence order;
`order` turns a plan into the sequence as indices into cat([prefix, image, text]) rows, which is
what training gathers its embeddings with. parity.py (run by make_fixtures.py) checks both against the
NumPy rule and writes the fixture that the .NET tests check the core against.
"""
import torch

TEXT_INTO_IMAGE = "text_into_image"
IMAGE_INTO_TEXT = "image_into_text"


def _unit(rows):
    """Rows scaled to unit length in float32, and which rows are valid (finite, non-zero)."""
    rows = rows.float()
    finite = torch.isfinite(rows).all(dim=1)
    clean = torch.where(torch.isfinite(rows), rows, torch.zeros_like(rows))
    norms = clean.norm(dim=1)
    valid = finite & (norms > 0)
    return clean / torch.where(valid, norms, torch.ones_like(norms)).unsqueeze(1), valid


def similarity(text, image):
    """[N, M] cosine similarities in float32, clamped to [-1, 1]; -inf where either row is invalid."""
    tu, tv = _unit(text)
    iu, iv = _unit(image)
    # Each pair's dot product on its own, not a matrix product: BLAS rounds a row by where it falls in
    # its tile (OpenBLAS on AVX2 does), so two equal rows would not tie and the lowest index could lose.
    sim = (tu.unsqueeze(1) * iu.unsqueeze(0)).sum(dim=2).clamp(-1.0, 1.0)
    invalid = ~(tv.unsqueeze(1) & iv.unsqueeze(0))
    return sim.masked_fill(invalid, float("-inf"))


def best_match(sim, dim):
    """For each row (dim=1) or column (dim=0): (the best value, the lowest index that has it)."""
    values = sim.max(dim=dim).values
    hits = sim == values.unsqueeze(dim)
    positions = torch.arange(sim.shape[dim]).view((1, -1) if dim == 1 else (-1, 1)).expand_as(sim)
    big = torch.full_like(positions, sim.shape[dim])
    index = torch.where(hits, positions, big).min(dim=dim).values
    return values, index


@torch.no_grad()
def plan(text, image, threshold, direction=TEXT_INTO_IMAGE):
    """The anchors [(text_index, patch_index, similarity)] in sequence order."""
    if direction not in (TEXT_INTO_IMAGE, IMAGE_INTO_TEXT):
        raise ValueError(f"unknown direction {direction!r}")
    if threshold >= 1 or text.shape[0] == 0 or image.shape[0] == 0:
        return []
    sim = similarity(text, image)
    if direction == TEXT_INTO_IMAGE:
        values, index = best_match(sim, dim=1)                      # per text row
        keep = torch.isfinite(values) & (values >= threshold)
        anchors = [(n, int(index[n]), float(values[n])) for n in torch.nonzero(keep).flatten().tolist()]
        anchors.sort(key=lambda a: (a[1], a[0]))
    else:
        values, index = best_match(sim, dim=0)                      # per image row
        keep = torch.isfinite(values) & (values >= threshold)
        anchors = [(int(index[m]), m, float(values[m])) for m in torch.nonzero(keep).flatten().tolist()]
        anchors.sort(key=lambda a: (a[0], a[1]))
    return anchors


def order(prefix_len, image_len, text_len, anchors, direction=TEXT_INTO_IMAGE):
    """The regrouped sequence as row indices into cat([prefix, image, text])."""
    rows = list(range(prefix_len))
    image0, text0 = prefix_len, prefix_len + image_len
    after = {}
    if direction == TEXT_INTO_IMAGE:
        for n, m, _ in anchors:
            after.setdefault(m, []).append(text0 + n)
        for m in range(image_len):
            rows.append(image0 + m)
            rows.extend(after.get(m, ()))
        rows.extend(range(text0, text0 + text_len))
    else:
        for n, m, _ in anchors:
            after.setdefault(n, []).append(image0 + m)
        rows.extend(range(image0, text0))
        for n in range(text_len):
            rows.append(text0 + n)
            rows.extend(after.get(n, ()))
    return rows


def best_similarities(text, image):
    """Each valid text row's best similarity to any image row (for choosing a threshold)."""
    values, _ = best_match(similarity(text, image), dim=1)
    return values[torch.isfinite(values)]
