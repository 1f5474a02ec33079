"""The committed test fixtures regenerate byte for byte: make_fixtures.py --check, and the parts of
it that need no torch (the tokenizer, the test images, the prompts' ids)."""
import json
import os

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


def test_make_fixtures_regenerates_every_fixture_byte_for_byte(tmp_path):
    """What `make_fixtures.py --check` does: graphs, references, images and JSON, written again."""
    pytest.importorskip("torch", reason="PyTorch (Debian's python3-torch) is needed to build and export the fixture models")
    fixtures.generate(str(tmp_path))
    assert fixtures.compare(paths.FIXTURES, str(tmp_path)) == []
