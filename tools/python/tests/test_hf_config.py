"""A Hugging Face LLaVA config read into a ModelConfig, every refusal, and the tokenizer convention
after <image> (export_llava.py's first step; no torch, no transformers)."""
import pytest

from llavagen import config as lconfig
from llavagen.hf_config import TINY_PP, ExportError, build_config, probe_legacy, tokenizer_legacy

TEMPLATE = "USER: <image>\n{question}\nASSISTANT:"


def test_tiny_llava_config_gives_the_spec_attanchor_json(fake_hf_config):
    cfg = build_config(fake_hf_config(), TINY_PP, "tiny-llava-v1-hf", TEMPLATE, 0.12)
    spec = {"model_type": "llava", "image_size": 336, "patch_size": 14, "num_image_tokens": 576, "image_mean": lconfig.CLIP_MEAN,
            "image_std": lconfig.CLIP_STD, "resize_mode": "shortest_edge_center_crop", "hidden_size": 2048,
            "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 64, "vocab_size": 32064,
            "bos_token_id": 1, "eos_token_id": 2, "max_position_embeddings": 2048,
            "prompt_template": "USER: <image>\n{question}\nASSISTANT:", "attanchor": {"threshold": 0.12, "direction": "text_into_image"}}
    assert cfg.attanchor_json() == spec
    assert (cfg.vision.num_layers, cfg.vision.layers_run, cfg.text.rope_theta) == (23, 23, 10000.0)


def test_full_selection_stretch_and_rope_parameters(fake_hf_config):
    full = build_config(fake_hf_config(vision_feature_select_strategy="full", **{"text.rope_theta": None,
                        "text.rope_parameters": {"rope_type": "default", "rope_theta": 5e5}}),
                        dict(TINY_PP, do_center_crop=False, size={"height": 336, "width": 336}), "x", "<image>{question}", 0.2)
    assert (full.vision.num_image_tokens, full.resize_mode, full.text.rope_theta, full.threshold) == (577, "stretch", 5e5, 0.2)


@pytest.mark.parametrize("fragment, changes", [
    ("vision_feature_layer", {"vision_feature_layer": [-2, -5]}),
    ("vision_feature_layer", {"vision_feature_layer": -26}),
    ("rope", {"text.rope_scaling": {"type": "linear", "factor": 2.0}}),
    ("attention_bias", {"text.attention_bias": True}),
    ("mlp_bias", {"text.mlp_bias": True}),
    ("text_config.hidden_act", {"text.hidden_act": "gelu"}),
    ("tie_word_embeddings", {"text.tie_word_embeddings": True}),
    ("vision_config.hidden_act", {"vision.hidden_act": "gelu"}),
    ("projector_hidden_act", {"projector_hidden_act": "relu"}),
    ("multimodal_projector_bias", {"multimodal_projector_bias": False}),
    ("select_strategy", {"vision_feature_select_strategy": "cls"}),
    ("head_dim", {"text.head_dim": 128}),
    ("model_type", {"text.model_type": "mistral"}),
])
def test_what_the_architecture_cannot_express_is_refused(fake_hf_config, fragment, changes):
    with pytest.raises(ExportError) as refused:
        build_config(fake_hf_config(**changes), TINY_PP, "x", TEMPLATE, 0.12)
    assert fragment in str(refused.value)


@pytest.mark.parametrize("pp, fragment", [
    (dict(TINY_PP, resample=2), "resample"),
    (dict(TINY_PP, size={"shortest_edge": 384}), "crop_size"),
    (dict(TINY_PP, do_center_crop=False), "without centre crop"),
])
def test_unsupported_image_processors_are_refused(fake_hf_config, pp, fragment):
    with pytest.raises(ExportError) as refused:
        build_config(fake_hf_config(), pp, "x", TEMPLATE, 0.12)
    assert fragment in str(refused.value)


def test_a_template_needs_image_and_question_once(fake_hf_config):
    with pytest.raises(ExportError, match="exactly once"):
        build_config(fake_hf_config(), TINY_PP, "x", "USER: {question}\nASSISTANT:", 0.12)


def test_tokenizer_legacy_reads_tokenizer_config():
    assert tokenizer_legacy({"legacy": False}) is False and tokenizer_legacy({}) is True
    assert tokenizer_legacy({"legacy": None}) is True
    with pytest.raises(ExportError, match="legacy"):
        tokenizer_legacy({"legacy": "yes"})


def test_probe_legacy_reads_the_piece_after_image():
    pieces = {1: "a", 2: "<image>", 3: "\u2581b", 4: "b"}
    assert probe_legacy(lambda t: [1, 2, 3], pieces.get) is True and probe_legacy(lambda t: [1, 2, 4], pieces.get) is False
    with pytest.raises(ExportError, match="one token"):
        probe_legacy(lambda t: [1, 4], pieces.get)
