"""A Llama-style SentencePiece tokenizer trained here, and the prompt template split.

Llama's tokenizer.model is a BPE SentencePiece model with unk/BOS/EOS at ids 0/1/2, byte
fallback (<0x00> ... <0xFF>), identity normalisation, a dummy prefix and no whitespace
collapsing. The model trained here has the same settings and a small vocabulary, from a corpus
this module writes deterministically.
"""
import io
import random

import sentencepiece as spm

VOCAB_SIZE = 512   # the tokenizer every generated model here uses: 256 bytes, 3 specials, 253 pieces

SHAPES = ["circle", "square", "triangle", "star", "dog", "cat", "car", "tree", "house", "person"]
COLORS = ["red", "green", "blue", "yellow", "black", "white", "orange", "purple"]
WORDS = ("the a an of in on at to is are there what which how many where color shape image picture "
         "left right top bottom middle center next behind front big small large tiny one two three "
         "four five yes no and or with without this that it its describe show see look find count "
         "answer question user assistant please briefly").split()


def corpus(seed=0, lines=4000):
    """Deterministic training text: prompts in both fixture templates, answers and filler."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        shape, color = rng.choice(SHAPES), rng.choice(COLORS)
        kind = i % 6
        if kind == 0:
            q = f"What color is the {shape}?"
        elif kind == 1:
            q = f"Is there a {color} {shape} in the image?"
        elif kind == 2:
            q = f"How many {shape}s are there?"
        elif kind == 3:
            q = f"What shape is {color}?"
        elif kind == 4:
            q = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))).capitalize() + "."
        else:
            q = f"Where is the {color} {shape}? It is {rng.choice(['left', 'right', 'in the middle'])}."
        if i % 2:
            out.append(f"USER: \n{q}\nASSISTANT: {color.capitalize()}.")
        else:
            out.append(f"\nQuestion: {q}\nAnswer: {rng.choice(['Yes', 'No'])}, {rng.randint(0, 99)}.")
    return out


def train(vocab_size, seed=0):
    """Returns the serialized tokenizer.model bytes (deterministic for a given vocab_size and seed)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus(seed)),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        character_coverage=1.0,
        byte_fallback=True,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return model.getvalue()


def without_dummy_prefix(model_bytes):
    """The same SentencePiece model with normalizer_spec.add_dummy_prefix off: how Hugging Face's
    `legacy: false` Llama tokenizer encodes text that follows an added token."""
    from sentencepiece import sentencepiece_model_pb2
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_bytes)
    proto.normalizer_spec.add_dummy_prefix = False
    return proto.SerializeToString()


class PromptTokenizer:
    """Builds a prompt's token ids as docs/spec/model-folder.md says.

    The template is split at <image>: the text before it is encoded with BOS, the text after it
    (with {question} filled in) without BOS; with the dummy prefix when `legacy` (Hugging Face's
    legacy Llama tokenizer, LLaVA's training code), without it otherwise (`legacy: false`).
    """

    def __init__(self, model_bytes, template, bos_id=1, legacy=True):
        self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        self.sp_after = self.sp if legacy else spm.SentencePieceProcessor(model_proto=without_dummy_prefix(model_bytes))
        if template.count("<image>") != 1 or template.count("{question}") != 1:
            raise ValueError("the prompt template must hold <image> and {question} exactly once")
        self.template, self.bos_id, self.legacy = template, bos_id, legacy

    def encode(self, question):
        before, after = self.template.split("<image>")
        prefix = [self.bos_id] + self.sp.encode(before)
        text = self.sp_after.encode(after.replace("{question}", question))
        return prefix, text

    def input_ids(self, question, image_token_id):
        """The whole prompt as Hugging Face's LLaVA processor gives it before expanding the image."""
        prefix, text = self.encode(question)
        return prefix + [image_token_id] + text

    def question_range(self, question):
        """[start, end) of the question's own tokens inside the text after <image>, found by
        encoding the template up to and through the question (as a tokenizer would see it)."""
        _, after = self.template.split("<image>")
        head = after.split("{question}")[0]
        start = len(self.sp_after.encode(head)) if head else 0
        end = len(self.sp_after.encode(head + question))
        return start, end

    @property
    def size(self):
        """The tokenizer's vocabulary size (a model's may be larger: TinyLLaVA's is 32064 over 32000)."""
        return self.sp.get_piece_size()

    def pieces(self, ids):
        return [self.sp.id_to_piece(i) for i in ids]

    def decode(self, ids):
        return self.sp.decode(ids)
