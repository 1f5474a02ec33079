"""Llama-2's SentencePiece tokenizer.model rebuilt from the npm package llama-tokenizer-js 1.2.2, and
its check against that package's own JavaScript tokenizer. llama_tokenizer.py is the command; its
docstring says what `build` writes and what `check` compares.

Standard library, sentencepiece and protobuf only (Debian: python3-sentencepiece, python3-protobuf).
"""
import base64
import collections
import hashlib
import heapq
import json
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile

from . import llama_reference, paths

DEFAULT_MODEL = os.path.join(paths.FIXTURES, "llama-tokenizer", "tokenizer.model")
JS_NAME = "llama-tokenizer.js"
# llama-tokenizer.js of llama-tokenizer-js 1.2.2 (npm dist.shasum 4db5d5f0120e772fb46162ddc7b119f8d2044f4e).
JS_SHA256 = "34a7b9f7579d40486444590c37cba6564ef40c3dd98ecdfc2f7c886ae72c898d"
VOCAB_SIZE = 32000
SPACE = "\u2581"


class UserError(Exception):
    """A problem with the input; main() prints it as one line."""


# ----------------------------------------------------------------------------------------------- reading


def js_path(path):
    """The llama-tokenizer.js that PATH names (the file itself or the package folder)."""
    if os.path.isdir(path):
        path = os.path.join(path, JS_NAME)
    if not os.path.isfile(path):
        raise UserError(f"{path}: not found; give the unpacked llama-tokenizer-js package folder or its {JS_NAME}")
    return path


def read_package(path, allow_other=False):
    """(vocab, merges) from llama-tokenizer.js: vocab[i] is piece i; merges[k] = (left id, right id)."""
    path = js_path(path)
    with open(path, "rb") as f:
        raw = f.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != JS_SHA256 and not allow_other:
        raise UserError(f"{path}: not the {JS_NAME} of llama-tokenizer-js 1.2.2 (sha256 {digest}); "
                        "pass --allow-other to use it anyway")
    text = raw.decode("utf-8", errors="replace")
    vocab_b64 = re.search(r'const llama_vocab_base64 = "([A-Za-z0-9+/=]*)"', text)
    merges_b64 = re.search(r'const llama_merges_binary = "([A-Za-z0-9+/=]*)"', text)
    if not vocab_b64 or not merges_b64:
        raise UserError(f"{path}: no llama_vocab_base64 / llama_merges_binary in it; is it llama-tokenizer-js?")
    vocab = base64.b64decode(vocab_b64.group(1)).decode("utf-8").split("\n")
    data = base64.b64decode(merges_b64.group(1))
    if len(vocab) != VOCAB_SIZE or len(data) % 4:
        raise UserError(f"{path}: {len(vocab)} pieces and {len(data)} merge bytes; expected {VOCAB_SIZE} pieces "
                        "and pairs of uint16")
    ids = struct.unpack(f"<{len(data) // 2}H", data)
    merges = list(zip(ids[0::2], ids[1::2]))
    expected_head = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    if vocab[:259] != expected_head:
        raise UserError(f"{path}: the vocabulary does not start with <unk>, <s>, </s>, <0x00>..<0xFF>")
    if len(set(vocab)) != VOCAB_SIZE:
        raise UserError(f"{path}: the vocabulary repeats a piece")
    return vocab, merges


def analyse(vocab, merges):
    """Per normal piece: the rank of the first merge that produces it (None: no merge does), and
    facts about the data for the report."""
    index = {p: i for i, p in enumerate(vocab)}
    first_rank = {}
    producers = collections.defaultdict(list)
    for rank, (a, b) in enumerate(merges):
        if not (259 <= a < VOCAB_SIZE and 259 <= b < VOCAB_SIZE):
            raise UserError(f"merge {rank} uses id {a} or {b}, not a normal piece")
        produced = index.get(vocab[a] + vocab[b])
        if produced is None or produced < 259:
            raise UserError(f"merge {rank} ({vocab[a]!r} + {vocab[b]!r}) produces no normal piece")
        first_rank.setdefault(produced, rank)
        producers[produced].append(rank)
    return first_rank, producers


def scores(vocab, merges, rule="rank"):
    """The score of every piece. "rank" is what build writes (see the module's docstring). The check
    compares two variants with it: "tied-whitespace", where the 15 pieces of 2..16 spaces share one score
    (the best of theirs), as the merge list suggests Meta's file has it; and "id", score = -id."""
    first_rank, _ = analyse(vocab, merges)
    ws_best = min(r for i, r in first_rank.items() if set(vocab[i]) == {SPACE})
    out = [0.0] * VOCAB_SIZE
    below = len(merges)
    for i in range(259, VOCAB_SIZE):
        if rule == "id":
            out[i] = -float(i)
        elif i in first_rank:
            tied = rule == "tied-whitespace" and set(vocab[i]) == {SPACE}
            out[i] = -float(ws_best if tied else first_rank[i])
        else:
            out[i] = -float(below)
            below += 1
    return out


# ------------------------------------------------------------------------------------------------ build


def model_proto(vocab, merges, rule="rank"):
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    score = scores(vocab, merges, rule)
    for i, piece in enumerate(vocab):
        p = m.pieces.add()
        p.piece = piece
        p.score = score[i]
        if i == 0:
            p.type = pb.ModelProto.SentencePiece.UNKNOWN
        elif i in (1, 2):
            p.type = pb.ModelProto.SentencePiece.CONTROL
        elif i < 259:
            p.type = pb.ModelProto.SentencePiece.BYTE
        # NORMAL is the field's default and is left out, as in Meta's file
    t = m.trainer_spec
    t.model_type = pb.TrainerSpec.BPE
    t.vocab_size = VOCAB_SIZE
    t.byte_fallback = True
    t.split_digits = True
    t.allow_whitespace_only_pieces = True
    t.unk_id, t.bos_id, t.eos_id, t.pad_id = 0, 1, 2, -1
    t.unk_surface = " \u2047 "
    n = m.normalizer_spec
    n.name = "identity"
    n.precompiled_charsmap = b""
    n.add_dummy_prefix = True
    n.remove_extra_whitespaces = False
    n.escape_whitespaces = True
    return m


def serialize(m):
    return m.SerializeToString(deterministic=True)


def build(package, out, allow_other=False):
    """Writes the tokenizer.model that `package` (the unpacked llama-tokenizer-js or its
    llama-tokenizer.js) gives to `out`, and reports on its merge list. Returns 0."""
    vocab, merges = read_package(package, allow_other)
    data = serialize(model_proto(vocab, merges))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(data)
    processor(data)  # sentencepiece must load it
    print(f"{os.path.relpath(out)}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    report_data(vocab, merges)
    return 0


def report_data(vocab, merges):
    """What the merge list says about ranks versus ids."""
    first_rank, producers = analyse(vocab, merges)
    produced = sorted(first_rank, key=first_rank.get)
    out_of_order = [i for prev, i in zip(produced, produced[1:]) if i < prev]
    ws = [i for i in first_rank if set(vocab[i]) == {SPACE}]
    multi = sum(1 for r in producers.values() if len(r) > 1)
    never = [i for i in range(259, VOCAB_SIZE) if i not in first_rank]
    print(f"{len(merges)} merges produce {len(first_rank)} pieces ({multi} of them by more than one merge, "
          f"up to {max(len(r) for r in producers.values())}); {len(never)} pieces no merge produces "
          f"(ids {min(never)}..{max(never)}, all single characters: {all(len(vocab[i]) == 1 for i in never)})")
    non_ws = [i for i in produced if i not in ws]
    print(f"first-merge rank order equals id order for the {len(non_ws)} pieces that are not all spaces: "
          f"{non_ws == sorted(non_ws)}")
    print(f"the {len(ws)} pieces of 2..16 spaces come last, merges {min(first_rank[i] for i in ws)}.."
          f"{len(merges) - 1}; {SPACE * 2!r} (id {vocab.index(SPACE * 2)}) is the very last merge "
          f"({len(merges) - 1}); {len(out_of_order)} places where rank order goes back in id")


# ------------------------------------------------------------------------------------------ sentencepiece


def processor(model_bytes, add_dummy_prefix=True):
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    if not add_dummy_prefix:
        m = pb.ModelProto()
        m.ParseFromString(model_bytes)
        m.normalizer_spec.add_dummy_prefix = False
        model_bytes = serialize(m)
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(model_bytes)
    return sp


def load_model(path):
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such model; run 'build' first")
    with open(path, "rb") as f:
        data = f.read()
    try:
        processor(data)
    except ImportError:
        raise
    except Exception as e:  # sentencepiece raises RuntimeError/OSError with a long message
        raise UserError(f"{path}: sentencepiece cannot load it ({str(e).splitlines()[0]})")
    return data


# ------------------------------------------------------------------------------ the two BPEs, in Python


class PyBpe:
    """Byte-fallback BPE over the vocabulary, in one of two rules:
    "sentencepiece": a pair may merge when its concatenation is a normal piece; the best-scored piece
        first (score = -first merge rank), the leftmost on ties;
    "hf": a pair may merge when it is in the merge list; the lowest merge rank first, leftmost on ties."""

    def __init__(self, vocab, merges, rule):
        self.index = {p: i for i, p in enumerate(vocab)}
        first_rank, _ = analyse(vocab, merges)
        if rule == "sentencepiece":
            pieces = {vocab[i]: r for i, r in first_rank.items()}
            self.rank = lambda a, b: pieces.get(a + b)
        else:
            pairs = {(vocab[a], vocab[b]): r for r, (a, b) in enumerate(merges)}
            self.rank = lambda a, b: pairs.get((a, b))

    def encode(self, text, dummy_prefix=True, trace=None):
        if not text:
            return []
        text = (" " + text if dummy_prefix else text).replace(" ", SPACE)
        sym = list(text)
        n = len(sym)
        nxt = list(range(1, n + 1))
        prv = list(range(-1, n - 1))
        alive = [True] * n
        heap = []

        def push(i):
            j = nxt[i]
            if i >= 0 and j < n:
                r = self.rank(sym[i], sym[j])
                if r is not None:
                    heapq.heappush(heap, (r, i, sym[i], sym[j]))

        for i in range(n - 1):
            push(i)
        while heap:
            r, i, a, b = heapq.heappop(heap)
            j = nxt[i] if alive[i] else n
            if j >= n or sym[i] != a or sym[j] != b:
                continue  # stale
            if trace is not None:
                trace.append((i, a, b))
            sym[i] = a + b
            alive[j] = False
            nxt[i] = nxt[j]
            if nxt[j] < n:
                prv[nxt[j]] = i
            if prv[i] >= 0:
                push(prv[i])
            push(i)
        ids = []
        i = 0
        while i < n:
            piece = sym[i]
            if piece in self.index and self.index[piece] >= 259:
                ids.append(self.index[piece])
            else:
                ids.extend(3 + b for b in piece.encode("utf-8"))
            i = nxt[i]
        return ids


# ------------------------------------------------------------------------------------------------ check

NODE_SCRIPT = r"""
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [js, input, output] = process.argv.slice(1);
const tokenizer = (await import(pathToFileURL(js).href)).default;
const texts = JSON.parse(readFileSync(input, 'utf8'));
const out = texts.map(t => [tokenizer.encode(t, false, true), tokenizer.encode(t, false, false)]);
writeFileSync(output, JSON.stringify(out));
"""


def run_js(package, texts):
    """[(ids with the dummy prefix, ids without)] from the package's encode(), in one node process."""
    node = shutil.which("node")
    if node is None:
        raise UserError("node is not on PATH; the check runs the JS tokenizer with Node.js")
    scratch = tempfile.mkdtemp()
    try:
        js = os.path.join(scratch, "llama-tokenizer.mjs")  # an ES module whatever package.json says
        shutil.copyfile(js_path(package), js)
        src, dst = os.path.join(scratch, "in.json"), os.path.join(scratch, "out.json")
        with open(src, "w", encoding="utf-8") as f:
            json.dump(texts, f, ensure_ascii=True)
        done = subprocess.run([node, "--input-type=module", "-e", NODE_SCRIPT, js, src, dst],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"node failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        with open(dst, encoding="utf-8") as f:
            return [tuple(x) for x in json.load(f)]
    finally:
        shutil.rmtree(scratch)


def check_corpus(vocab, merges, reference_texts):
    """The strings the check compares: the reference corpus; every normal piece as text, alone and after
    a letter; for every piece that more than one merge makes, strings where it occurs twice or
    overlapping (P P, P P P, the first half of P then P, P then its second half), where ties between
    equal merges could decide; and seeded random strings of pieces and of characters."""
    texts = list(reference_texts)
    normal = [p.replace(SPACE, " ") for p in vocab[259:]]
    texts += normal
    texts += ["x" + p for p in normal]
    _, producers = analyse(vocab, merges)
    for i in sorted(producers):
        if len(producers[i]) > 1:
            p = vocab[i].replace(SPACE, " ")
            h = len(p) // 2
            texts += [p * 2, p * 3, p[:h] + p, p + p[h:]]
    rng = random.Random(20240611)
    chars = sorted({c for p in normal for c in p})
    for _ in range(10000):
        texts.append("".join(rng.choice(normal) for _ in range(rng.randint(2, 8))))
    for _ in range(5000):
        texts.append("".join(rng.choice(chars) for _ in range(rng.randint(1, 24))))
    for _ in range(5000):
        alphabet = rng.choice(["ab", "a b", "*", "*-", "=-", ".!?", "01", "th e", "ing ", "-_", "<>/", " \n"])
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 30))))
    return list(dict.fromkeys(texts))


def first_divergence(a, b):
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return k, x, y
    return min(len(a), len(b)), None, None


def check(package, model_path, allow_other=False):
    """Compares the tokenizer.model at `model_path` with the package's JS tokenizer (needs node) and
    prints every disagreement by class. Returns the exit status: 1 if anything is unexplained."""
    if shutil.which("node") is None:
        raise UserError("node is not on PATH; the check runs the JS tokenizer with Node.js")
    vocab, merges = read_package(package, allow_other)
    model = load_model(model_path)
    if serialize(model_proto(vocab, merges)) != model:
        print(f"note: {os.path.relpath(model_path)} is not what 'build' makes from this package")
    sp = {dp: processor(model, dp) for dp in (True, False)}
    variants = {rule: {dp: processor(serialize(model_proto(vocab, merges, rule)), dp) for dp in (True, False)}
                for rule in ("tied-whitespace", "id")}
    py_sp = PyBpe(vocab, merges, "sentencepiece")
    py_hf = PyBpe(vocab, merges, "hf")
    status = 0

    def show(ids):
        return f"{ids} {[vocab[i] for i in ids]}"

    known = [("Hello world!", True, [15043, 3186, 29991]),
             ("\n", True, [29871, 13]),
             ("<image>\n", False, [29966, 3027, 29958, 13]),
             ("*********", False, [4189, 29930])]
    for text, dp, want in known:
        got = sp[dp].encode(text)
        ok = got == want
        status |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {text!r} ({'dummy prefix' if dp else 'no dummy prefix'}): {show(got)}"
              + ("" if ok else f", expected {want}"))
    for text in ["*********", " " * 16, "????", ".....", "aaaa"]:
        print(f"     {text!r}: {show(sp[True].encode(text))}; no dummy prefix: {show(sp[False].encode(text))}")

    texts = check_corpus(vocab, merges, [t for _, t in llama_reference.cases(vocab)])
    print(f"comparing {len(texts)} distinct strings, each with and without the dummy prefix ...")
    js = run_js(package, texts)
    classes = collections.OrderedDict()
    compared = agree = same_merges = 0
    variant_diffs = {rule: [] for rule in variants}
    for text, (js_dp, js_nodp) in zip(texts, js):
        for dp, j in ((True, js_dp), (False, js_nodp)):
            compared += 1
            ids = sp[dp].encode(text)
            for rule, v in variants.items():
                if v[dp].encode(text) != ids:
                    variant_diffs[rule].append((text, dp))
            t_sp, t_hf = [], []
            mine_sp = py_sp.encode(text, dp, t_sp)
            mine_hf = py_hf.encode(text, dp, t_hf)
            same_merges += t_sp == t_hf
            if mine_sp != ids:
                cls = "UNEXPLAINED: the Python SentencePiece rule differs from sentencepiece"
            elif mine_hf != j:
                cls = "UNEXPLAINED: the Python HF rule differs from the JS tokenizer"
            elif ids == j:
                agree += 1
                continue
            else:
                _, x, y = first_divergence(t_sp, t_hf)
                if x is not None and x[1] + x[2] == y[1] + y[2]:
                    cls = ("tie: both rules next make the same piece; SentencePiece scores the piece, so it "
                           "takes the leftmost pair that makes it; HF ranks the pairs, so it takes the best-"
                           "ranked split wherever it is")
                else:
                    cls = "other: the rules' first different merges make different pieces"
            entry = classes.setdefault(cls, {"count": 0, "examples": []})
            entry["count"] += 1
            if len(entry["examples"]) < 3:
                entry["examples"].append((text, dp, ids, j))
    print(f"{compared} encodings compared ({len(texts)} strings x 2): {agree} agree, {compared - agree} differ")
    print(f"the two Python rules made the same merges in the same order on {same_merges} of {compared}")
    for cls, entry in classes.items():
        print(f"\n[{entry['count']}] {cls}")
        for text, dp, ids, j in entry["examples"]:
            shown = text if len(text) <= 60 else text[:57] + "..."
            print(f"  {shown!r} ({'dummy prefix' if dp else 'no dummy prefix'})")
            print(f"    sentencepiece {show(ids)}")
            print(f"    JS            {show(j)}")
        if cls.startswith("UNEXPLAINED"):
            status = 1
    for rule, diffs in variant_diffs.items():
        print(f"\nscores '{rule}' instead of 'rank': {len(diffs)} of {compared} encodings differ")
        for text, dp in diffs[:3]:
            print(f"  {text[:40]!r} ({'dummy prefix' if dp else 'no dummy prefix'}): rank {show(sp[dp].encode(text))}, "
                  f"{rule} {show(variants[rule][dp].encode(text))}")
    if variant_diffs["tied-whitespace"]:
        status = 1
    print("\ncheck " + ("passed" if status == 0 else "FAILED"))
    return status
