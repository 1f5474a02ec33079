"""The committed test fixtures regenerate: make_fixtures.py --check (graphs, weights and images byte
for byte, PyTorch's outputs within the tolerances of llavagen.fixtures), the comparison itself, and the
parts that need no torch (the tokenizer, the test images, the prompts' ids)."""
import gzip
import json
import os
import shutil

import numpy as np
import pytest

from llavagen import fixtures, paths, testimages, tokenizer


def test_the_tokenizer_trains_to_the_committed_model():
    with open(os.path.join(paths.FIXTURES, "tiny-336-gqa", "tokenizer.model"), "rb") as f:
        assert tokenizer.train(tokenizer.VOCAB_SIZE) == f.read()


def test_the_test_images_draw_the_committed_files(tmp_path):
    names = testimages.make(str(tmp_path))
    assert sorted(names) == sorted(os.listdir(paths.IMAGES))
    assert fixtures.compare(paths.IMAGES, str(tmp_path)) == []


@pytest.mark.parametrize("folder", ["tiny-336-gqa", "tiny-noproj-mha"])
def test_prompt_ids_are_the_references(folder):
    """PromptTokenizer (the template split at <image>, BOS before it, the dummy prefix after it) gives
    every prompt of the folder's references.json."""
    root = os.path.join(paths.FIXTURES, folder)
    with open(os.path.join(root, "attanchor.json"), encoding="utf-8") as f:
        spec = json.load(f)
    with open(os.path.join(root, "references", "references.json"), encoding="utf-8") as f:
        prompts = json.load(f)["prompts"]
    with open(os.path.join(root, "tokenizer.model"), "rb") as f:
        ptok = tokenizer.PromptTokenizer(f.read(), spec["prompt_template"], spec["bos_token_id"])
    assert len(prompts) == 5
    for prompt in prompts:
        assert list(ptok.encode(prompt["question"])) == [prompt["prefix_ids"], prompt["text_ids"]], prompt["question"]
        assert list(ptok.question_range(prompt["question"])) == prompt["question_range"], prompt["question"]


def test_make_fixtures_regenerates_every_fixture(tmp_path):
    """What `make_fixtures.py --check` does: graphs, references, images and JSON, written again."""
    pytest.importorskip("torch", reason="PyTorch (Debian's python3-torch) is needed to build and export the fixture models")
    fixtures.generate(str(tmp_path))
    assert fixtures.differences(paths.FIXTURES, str(tmp_path)) == []


def _write_npy_gz(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        np.save(f, array)


def _tree(root, folder, logits, references):
    """A fixture-shaped folder: a graph file, one check tensor and a references.json."""
    refs = os.path.join(root, folder, "references")
    os.makedirs(refs, exist_ok=True)
    with open(os.path.join(root, folder, "decoder_model_merged.onnx"), "wb") as f:
        f.write(b"graph")
    _write_npy_gz(os.path.join(refs, "checks", "decoder-0.logits.npy.gz"), np.asarray(logits, np.float32))
    with open(os.path.join(refs, "references.json"), "w", encoding="utf-8") as f:
        json.dump(references, f)


def _references(fragile_anchor=3, robust_anchor=5, token=17, similarity=0.5, margin=0.25):
    plan = lambda fragile, patch: {"fragile": fragile, "sequence_length": 10, "anchors": [
        {"text_index": 1, "patch_index": patch, "similarity": similarity}]}
    return {"plans": [plan(True, fragile_anchor), plan(False, robust_anchor)],
            "generations": [{"tokens": [token, 2], "margins": [margin]}]}


@pytest.mark.parametrize("change, differs", [
    ({}, False),
    ({"fragile_anchor": 4}, False),                 # a fragile plan's anchors are not compared
    ({"similarity": 0.5 + 4e-6}, False),            # float32 rounding of another CPU
    ({"margin": 0.25 + 1e-3}, True),
    ({"robust_anchor": 6}, True),
    ({"token": 18}, True),
])
def test_differences_holds_references_json_to_its_rule(tmp_path, change, differs):
    _tree(tmp_path / "a", "m", [1.0, 2.0], _references())
    _tree(tmp_path / "b", "m", [1.0, 2.0], _references(**change))
    found = fixtures.differences(str(tmp_path / "a"), str(tmp_path / "b"))
    assert bool(found) == differs, found


@pytest.mark.parametrize("folder, b, differs", [
    ("m", [1.0, 2.0 + 2e-5], False),
    ("m", [1.0, 2.0 + 1e-4], True),
    ("m-fp16", [1.0, 2.0 + 2e-3], False),           # one float16 step at 2
    ("m-fp16", [1.0, 2.1], True),
])
def test_differences_holds_check_tensors_to_the_folders_tolerance(tmp_path, folder, b, differs):
    _tree(tmp_path / "a", folder, [1.0, 2.0], _references())
    _tree(tmp_path / "b", folder, b, _references())
    found = fixtures.differences(str(tmp_path / "a"), str(tmp_path / "b"))
    assert bool(found) == differs, found


def test_differences_wants_graphs_byte_for_byte_and_both_sides_complete(tmp_path):
    _tree(tmp_path / "a", "m", [1.0], _references())
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with open(tmp_path / "b" / "m" / "decoder_model_merged.onnx", "wb") as f:
        f.write(b"Graph")
    os.remove(tmp_path / "b" / "m" / "references" / "references.json")
    found = dict(fixtures.differences(str(tmp_path / "a"), str(tmp_path / "b")))
    assert found == {str(tmp_path / "a" / "m" / "decoder_model_merged.onnx"): "other bytes",
                     str(tmp_path / "a" / "m" / "references" / "references.json"): "missing on one side"}
