"""The rebuilt Llama tokenizer.model and its SentencePiece reference (sentencepiece only)."""
import os

import pytest

from llavagen import llama_reference, llama_tokenizer as lt


def test_the_sentencepiece_reference_regenerates_byte_for_byte(tmp_path):
    """What `llama_tokenizer_reference.py` writes, against the committed file."""
    out = tmp_path / "sentencepiece-reference.jsonl"
    counts = llama_reference.write(lt.load_model(lt.DEFAULT_MODEL), str(out))
    assert sum(counts.values()) == 9809
    with open(os.path.join(llama_reference.FOLDER, "sentencepiece-reference.jsonl"), "rb") as f:
        assert out.read_bytes() == f.read()


@pytest.mark.parametrize("text, dummy_prefix, ids", [
    ("Hello world!", True, [15043, 3186, 29991]),
    ("\n", True, [29871, 13]),
    ("<image>\n", False, [29966, 3027, 29958, 13]),
    ("*********", False, [4189, 29930]),
])
def test_known_ids_of_the_committed_model(text, dummy_prefix, ids):
    """The ids `llama_tokenizer.py check` requires of Llama 2's tokenizer."""
    assert lt.processor(lt.load_model(lt.DEFAULT_MODEL), dummy_prefix).encode(text) == ids


def test_a_missing_package_or_model_is_a_user_error(tmp_path):
    with pytest.raises(lt.UserError, match="not found"):
        lt.read_package(str(tmp_path))
    with pytest.raises(lt.UserError, match="no such model"):
        lt.load_model(str(tmp_path / "tokenizer.model"))
