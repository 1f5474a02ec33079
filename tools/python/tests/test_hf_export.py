"""The weight mapping from both Hugging Face layouts, its refusals, and the export with its checks on
the mapped model: everything of export_llava.py after the transformers parts (needs torch)."""
import json
import os
import re
import types

import pytest

torch = pytest.importorskip("torch", reason="PyTorch (Debian's python3-torch) is needed to map weights and export")

from llavagen import arch, config as lconfig  # noqa: E402
from llavagen.hf_config import TINY_PP, ExportError, build_config  # noqa: E402
from llavagen.hf_export import FIXTURE_TOKENIZER, clear_out, export_and_check, map_weights, prepare  # noqa: E402

TEMPLATE = "USER: <image>\n{question}\nASSISTANT:"
SMALL = {"vision.hidden_size": 32, "vision.num_hidden_layers": 3, "vision.num_attention_heads": 2,
         "vision.intermediate_size": 64, "text.hidden_size": 64, "text.num_hidden_layers": 2, "text.num_attention_heads": 4,
         "text.num_key_value_heads": 2, "text.intermediate_size": 128, "text.vocab_size": 512, "text.max_position_embeddings": 1024}


def to_hf_names(state, new_layout):
    """Our names -> HF names (written independently of hf_export.RULES, to test them)."""
    v, p, t, h = (("model.vision_tower.vision_model.", "model.multi_modal_projector.", "model.language_model.", "lm_head.")
                  if new_layout else ("vision_tower.vision_model.", "multi_modal_projector.", "language_model.model.", "language_model.lm_head."))
    renames = [(r"vision\.(patch_embedding|class_embedding)", v + r"embeddings.\1"),
               (r"vision\.position_embedding$", v + "embeddings.position_embedding.weight"),
               (r"vision\.pre_layrnorm", v + "pre_layrnorm"), (r"vision\.layers\.(\d+)\.(fc[12])", v + r"encoder.layers.\1.mlp.\2"),
               (r"vision\.layers", v + "encoder.layers"), (r"projector\.", p), (r"embed_tokens", t + "embed_tokens"),
               (r"decoder\.layers\.(\d+)\.(gate|up|down)_proj", t + r"layers.\1.mlp.\2_proj"),
               (r"decoder\.lm_head\.", h), (r"decoder\.", t)]
    out = {}
    for name, tensor in state.items():
        for pattern, repl in renames:
            new, n = re.subn("^" + pattern, repl, name)
            if n:
                out[new] = tensor.clone()
                break
    return out


@pytest.fixture(scope="module")
def small(fake_hf_config):
    """(the ModelConfig of a small checkpoint, a source model with all 3 vision layers; the target keeps 2)."""
    cfg = build_config(fake_hf_config(**SMALL), TINY_PP, "self-test", TEMPLATE, 0.12)
    src = arch.init_random(arch.Llava(lconfig.ModelConfig(
        name="src", vision=lconfig.VisionConfig(336, 14, 32, 3, 2, 64), text=cfg.text)), seed=7).eval()
    return cfg, src


def hf_state_dict(src, new_layout):
    """The source model under HF names, with the tensors HF has and we do not use."""
    hf_state = to_hf_names(src.state_dict(), new_layout)
    pre = "model.vision_tower.vision_model." if new_layout else "vision_tower.vision_model."
    hf_state.update({pre + "post_layernorm.weight": torch.ones(32), pre + "embeddings.position_ids": torch.arange(577)[None]})
    return hf_state


@pytest.mark.parametrize("new_layout", [False, True], ids=["old-layout", "new-layout"])
def test_weights_map_by_name_from_either_layout(small, new_layout):
    cfg, src = small
    hf_state = hf_state_dict(src, new_layout)
    model = arch.Llava(cfg)
    ignored = map_weights(hf_state, model)
    assert sorted(ignored) == sorted(k for k in hf_state if ".layers.2." in k or k.endswith(("post_layernorm.weight", "position_ids")))
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, src.state_dict()[name]), name
    with torch.no_grad():
        px = torch.randn(1, 3, 336, 336)
        assert torch.allclose(model.image_embeds(px), src.image_embeds(px), atol=1e-6)


@pytest.mark.parametrize("fragment", ["not found", "twice", "shape"])
def test_broken_state_dicts_are_refused(small, fragment):
    cfg, src = small
    hf_state = hf_state_dict(src, new_layout=True)
    broken = {"not found": lambda: {k: v for k, v in hf_state.items() if "lm_head" not in k},
              "twice": lambda: {**hf_state, **to_hf_names(src.state_dict(), False)},
              "shape": lambda: {**hf_state, "lm_head.weight": torch.zeros(3, 64)}}[fragment]()
    with pytest.raises(ExportError) as refused:
        map_weights(broken, arch.Llava(cfg))
    assert fragment in str(refused.value)


def test_the_mapped_model_exports_with_its_checks(small, tmp_path):
    """Export, graph checks, ONNX checks (when onnxruntime is there) and tokenizer_check.json."""
    cfg, src = small
    model = arch.Llava(cfg)
    map_weights(hf_state_dict(src, new_layout=True), model)
    with open(FIXTURE_TOKENIZER, "rb") as f:
        tok_bytes = f.read()
    out = str(tmp_path / "export")
    clear_out(out)
    args = types.SimpleNamespace(fp16=False, references=False)
    export_and_check(model.eval(), cfg, out, tok_bytes, args, *prepare(cfg, out, tok_bytes))
    with open(os.path.join(out, "attanchor.json"), encoding="utf-8") as f:
        assert json.load(f)["num_image_tokens"] == 576
    with open(os.path.join(out, "tokenizer_check.json"), encoding="utf-8") as f:
        check = json.load(f)
    assert (check["format"], check["tokenizer_legacy"], len(check["prompts"])) == (2, True, 3), check
    assert check["prompts"][0]["input_ids"][:5] == [1, 290, 463, 451, 512], check["prompts"][0]


def test_clear_out_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "attanchor.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="notes.txt"):
        clear_out(str(tmp_path))
    assert (tmp_path / "notes.txt").exists()
