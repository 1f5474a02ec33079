#!/usr/bin/env python3
"""Exports a Hugging Face LLaVA checkpoint (LlavaForConditionalGeneration) to the model folder
of docs/spec/model-folder.md, and checks the result.

    pip install -r tools/python/requirements.txt
    python tools/python/export_llava.py --model bczhou/tiny-llava-v1-hf --out models/generated/tiny-llava-v1
    python tools/python/export_llava.py --model /path/to/checkpoint-folder --out DIR --fp16
    python tools/python/export_llava.py --random-small --out /tmp/llava-small   # no download: a tiny random
                                                                               # checkpoint, the whole path

Without transformers, tests/test_hf_config.py and tests/test_hf_export.py run everything but the
Hugging Face parts (the config mapping, the weight mapping, the export and its checks).

Options: --fp16 (float16 weights and float I/O, float32 arithmetic), --prompt-template
(default "USER: <image>\\n{question}\\nASSISTANT:"), --threshold (AttAnchor default, 0.12),
--revision, --references (also references/references.json, as tools/python/generate.py writes it), -v.

How: HF modules are never traced. The checkpoint is loaded with transformers, its config is
checked and turned into a llavagen ModelConfig, the weights are copied by name into
llavagen.arch.Llava (which keeps only the vision layers the feature layer needs), and that
module is exported with llavagen.export. Checks, each failing the run above its tolerance:
  1. PyTorch vs PyTorch: HF's vision features, projector output, logits and greedy tokens
     against ours, on models/fixtures/images/square.png;
  2. ONNX vs PyTorch (when onnxruntime is installed): every graph on the inputs of
     references/checks.json, and greedy decoding through the four graphs.
It always writes references/checks.json (+ tensors) for `dotnet run --project tools/GraphCheck`
and tokenizer_check.json (whole prompts as the checkpoint's HF tokenizer gives them, <image> as
its added token). attanchor.json records the tokenizer's convention after <image> ("legacy" in
tokenizer_config.json, as tokenizer_legacy) and config.json's image_token_index.
"""
import argparse
import sys

try:
    from llavagen import hf_export
    from llavagen.hf_config import CheckFailed, ExportError
except ImportError as e:
    sys.exit(f"error: {e}: run `pip install -r tools/python/requirements.txt`")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="Hub id or local folder of a LlavaForConditionalGeneration checkpoint")
    p.add_argument("--random-small", action="store_true", help="a tiny random checkpoint instead (no download)")
    p.add_argument("--out", help="the model folder to write")
    p.add_argument("--revision", help="Hub revision")
    p.add_argument("--fp16", action="store_true", help="float16 weights and I/O")
    p.add_argument("--prompt-template", default="USER: <image>\n{question}\nASSISTANT:",
                   help="holds <image> and {question} once each; \\n is a newline")
    p.add_argument("--threshold", type=float, default=0.12, help="AttAnchor default threshold")
    p.add_argument("--references", action="store_true",
                   help="also references/references.json (pixels, prompts, plans, greedy generations; as generate.py)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.prompt_template = args.prompt_template.replace("\\n", "\n")   # a typed \n is a newline
    try:
        if args.prompt_template.count("<image>") != 1 or args.prompt_template.count("{question}") != 1:
            raise ExportError("--prompt-template must hold <image> and {question} exactly once")
        if not args.out or bool(args.model) == args.random_small:
            p.error("give --out and one of --model or --random-small")
        hf_export.run(args)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
