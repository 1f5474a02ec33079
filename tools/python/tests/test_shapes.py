"""The synthetic shapes task: the committed evaluation sample and the README's example drawn again,
byte for byte (Pillow only)."""
import filecmp
import os

from llavagen import fixtures, paths, shapes

# train_shapes.py's SAMPLE_SIZES: the first scenes of each split, committed as models/shapes/eval-sample.
SAMPLE_SIZES = {"test": 6, "pope": 3}


def test_the_evaluation_sample_is_drawn_again_byte_for_byte(tmp_path):
    root = str(tmp_path / "eval-sample")
    files = shapes.write_splits(root, SAMPLE_SIZES)
    assert files and fixtures.compare(os.path.join(paths.SHAPES, "eval-sample"), root) == []


def test_the_readme_example_is_drawn_again_byte_for_byte(tmp_path):
    shapes.write_example(str(tmp_path))
    match, mismatch, errors = filecmp.cmpfiles(paths.SHAPES, str(tmp_path), ["example.png", "example.json"], shallow=False)
    assert (mismatch, errors) == ([], [])


def test_write_splits_replaces_what_was_there(tmp_path):
    stale = tmp_path / "test" / "stale.jsonl"
    stale.parent.mkdir()
    stale.write_text("{}\n")
    shapes.write_splits(str(tmp_path), {"test": 1})
    assert not stale.exists() and (tmp_path / "test" / "images" / "scenes.json").exists()
