#!/usr/bin/python3
"""Writes the SentencePiece reference the C# tokenizer tests read, from the rebuilt Llama tokenizer.model.

    /usr/bin/python3 tools/python/llama_tokenizer_reference.py
        # reads  models/fixtures/llama-tokenizer/tokenizer.model
        # writes models/fixtures/llama-tokenizer/sentencepiece-reference.jsonl

One JSON object per line, in generation order:
    {"text": ..., "ids": [...], "ids_no_dummy_prefix": [...], "category": ...}
ids is sentencepiece's encode(text) on the model (dummy prefix, no BOS); ids_no_dummy_prefix the same
model with normalizer_spec.add_dummy_prefix off (how Hugging Face's non-legacy Llama tokenizer encodes
text that follows a special token). The strings are fixed lists and seeded random draws, so every run
writes the same bytes. No string holds NUL or a lone surrogate. U+0085, U+2028 and U+2029 are written
as \\u escapes so that no line reader splits a line; everything else non-ASCII is written as UTF-8.
Prints the count per category.
"""
import argparse
import os
import sys

from llavagen import llama_reference as reference, llama_tokenizer as lt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(reference.FOLDER, "tokenizer.model"))
    parser.add_argument("-o", "--out", default=os.path.join(reference.FOLDER, "sentencepiece-reference.jsonl"))
    args = parser.parse_args(argv)
    try:
        model = lt.load_model(args.model)
        counts = reference.write(model, args.out)
    except ImportError as e:
        print(f"error: {e}; use Debian's /usr/bin/python3 with python3-sentencepiece", file=sys.stderr)
        return 2
    except lt.UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for category, n in counts.items():
        print(f"{category:18} {n}")
    print(f"{'total':18} {sum(counts.values())} -> {os.path.relpath(args.out)} ({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
