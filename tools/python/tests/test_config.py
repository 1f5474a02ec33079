"""generate.py's --set overrides on the frozen configurations (pure Python)."""
import pytest

from llavagen import config


def test_assignments_reach_nested_fields_as_json_values():
    base = config.PRESETS["tiny-336-gqa"]
    cfg = config.override(base, ["text.num_layers=4", "projector=false", "vision.image_size=224", "name=m"])
    assert (cfg.text.num_layers, cfg.projector, cfg.vision.image_size, cfg.name) == (4, False, 224, "m")
    assert (cfg.text.hidden_size, cfg.vision.patch_size) == (base.text.hidden_size, base.vision.patch_size)
    assert base.text.num_layers != 4      # the preset itself is left as it was


def test_a_value_that_is_not_json_is_a_string():
    assert config.override(config.PRESETS["tiny-336-gqa"], ["resize_mode=stretch"]).resize_mode == "stretch"


@pytest.mark.parametrize("item, message", [
    ("text.num_layers", "expected field=value"),
    ("text.layers=4", "no field 'layers'; fields are"),
])
def test_malformed_assignments_are_command_line_errors(item, message):
    with pytest.raises(SystemExit, match=message):
        config.override(config.PRESETS["tiny-336-gqa"], [item])
