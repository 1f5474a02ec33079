"""Shared test helpers: a LlavaConfig look-alike for the Hugging Face checkpoint tests."""
import types

import pytest


def make_fake_hf_config(**changes):
    """A LlavaConfig look-alike with TinyLLaVA v1's values; changes are 'vision.x', 'text.x' or 'x'."""
    ns = types.SimpleNamespace
    cfg = ns(vision_config=ns(model_type="clip_vision_model", image_size=336, patch_size=14, hidden_size=1024,
                              num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                              layer_norm_eps=1e-5, hidden_act="quick_gelu"),
             text_config=ns(model_type="llama", hidden_size=2048, num_hidden_layers=22, num_attention_heads=32,
                            num_key_value_heads=4, intermediate_size=5632, vocab_size=32064, rms_norm_eps=1e-5,
                            rope_theta=10000.0, rope_scaling=None, max_position_embeddings=2048, attention_bias=False,
                            mlp_bias=False, hidden_act="silu", tie_word_embeddings=False, bos_token_id=1, eos_token_id=2),
             vision_feature_layer=-2, vision_feature_select_strategy="default", projector_hidden_act="gelu")
    for key, value in changes.items():
        part, _, attr = key.rpartition(".")
        setattr({"vision": cfg.vision_config, "text": cfg.text_config, "": cfg}[part], attr, value)
    return cfg


@pytest.fixture(scope="session")
def fake_hf_config():
    return make_fake_hf_config
