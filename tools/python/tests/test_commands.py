"""Every command starts and prints its help from any working directory: its imports resolve with
nothing but the script's own folder on sys.path."""
import os
import subprocess
import sys

import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = sorted(f for f in os.listdir(TOOLS) if f.endswith(".py"))
# Commands whose modules import torch at start.
NEED_TORCH = {"export_llava.py", "generate.py", "make_fixtures.py", "pytorch_eager.py", "train_shapes.py"}


def test_every_command_is_listed():
    assert COMMANDS == sorted(NEED_TORCH | {
        "fuse.py", "hf_reference.py", "llama_tokenizer.py", "llama_tokenizer_reference.py",
        "make_icon.py", "make_photo_references.py", "make_photos.py", "make_pope_excerpts.py", "quantize.py"})


@pytest.mark.parametrize("command", COMMANDS)
def test_the_command_prints_its_help(command, tmp_path):
    if command in NEED_TORCH:
        pytest.importorskip("torch", reason=f"{command} imports PyTorch (Debian's python3-torch)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, os.path.join(TOOLS, command), "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: " + command), done.stdout[:200]
