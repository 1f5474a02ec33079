#!/usr/bin/python3
"""Rebuilds Llama-2's SentencePiece tokenizer.model from the npm package llama-tokenizer-js 1.2.2,
and checks the result against that package's own JavaScript tokenizer.

    npm pack llama-tokenizer-js@1.2.2 && tar xzf llama-tokenizer-js-1.2.2.tgz    # gives ./package/
    /usr/bin/python3 tools/python/llama_tokenizer.py build package      # writes models/fixtures/llama-tokenizer/tokenizer.model
    /usr/bin/python3 tools/python/llama_tokenizer.py check package      # needs node; compares with the JS tokenizer

PACKAGE is the unpacked package folder or its llama-tokenizer.js. That file embeds the Llama vocabulary
(32,000 pieces in id order, base64) and Hugging Face's merge list (pairs of uint16 ids, in priority order).

build: pieces in id order; <unk> UNKNOWN, <s> and </s> CONTROL, <0x00>..<0xFF> BYTE, the rest NORMAL
  (the type field's default, so not written).
  A piece that merges produce scores -(rank of the first merge that produces it), rank 0 being the first
  merge; the pieces no merge produces (single characters) score below all of them, in id order.
  trainer_spec: BPE, byte_fallback, unk/bos/eos/pad 0/1/2/-1, vocab 32000, unk_surface " ⁇ " (and, as in
  Meta's model, split_digits and allow_whitespace_only_pieces, which encoding does not read);
  normalizer_spec: "identity", empty charsmap, add_dummy_prefix, no remove_extra_whitespaces,
  escape_whitespaces. The same input gives the same bytes.

check: encodes many strings (the reference corpus of llama_tokenizer_reference.py, every vocabulary piece
  as text, seeded random strings) with Python sentencepiece on the model and with the package's
  encode(text, false, add_preceding_space) in one node process, with and without the dummy prefix, and
  reports every disagreement by class. Two small Python BPEs explain the classes: one with SentencePiece's
  rule (best-scored piece first, leftmost on ties), one with Hugging Face's (lowest-ranked merge pair
  first, leftmost on ties); the check requires that the first reproduces sentencepiece and the second the
  JS tokenizer on every string. It also encodes every string with two other scorings of the same
  pieces: "tied-whitespace" (the 15 pieces of 2..16 spaces share one score, as the merge list suggests
  Meta's file has it) must change nothing; "id" (score -id) is shown for information.
  Exit status 1 if anything is unexplained, a known id is wrong, or "tied-whitespace" changes anything.

Standard library, sentencepiece and protobuf only (Debian: python3-sentencepiece, python3-protobuf).
"""
import argparse
import sys

from llavagen import llama_tokenizer as lt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write tokenizer.model from the package")
    b.add_argument("package", help=f"the unpacked llama-tokenizer-js folder or its {lt.JS_NAME}")
    b.add_argument("-o", "--out", default=lt.DEFAULT_MODEL, help="default: models/fixtures/llama-tokenizer/tokenizer.model")
    b.add_argument("--allow-other", action="store_true", help=f"accept a {lt.JS_NAME} other than 1.2.2's")
    c = sub.add_parser("check", help="compare the model with the package's JS tokenizer (needs node)")
    c.add_argument("package", help=f"the unpacked llama-tokenizer-js folder or its {lt.JS_NAME}")
    c.add_argument("--model", default=lt.DEFAULT_MODEL, help="default: models/fixtures/llama-tokenizer/tokenizer.model")
    c.add_argument("--allow-other", action="store_true", help=f"accept a {lt.JS_NAME} other than 1.2.2's")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            return lt.build(args.package, args.out, args.allow_other)
        return lt.check(args.package, args.model, args.allow_other)
    except lt.UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"error: {e}; use Debian's /usr/bin/python3 with python3-sentencepiece and python3-protobuf",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
