"""Model configurations and the named presets.

A configuration describes one LLaVA-architecture model: the CLIP vision tower, the optional
projector, the Llama decoder, the image processing and the prompt template. It is also what
`attanchor.json` is written from.
"""
import dataclasses
import json
from dataclasses import dataclass, field, asdict

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


@dataclass(frozen=True)
class VisionConfig:
    image_size: int
    patch_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    feature_layer: int = -2          # index into hidden_states (embeddings, layer 1, ..., layer L)
    feature_select: str = "default"  # "default" drops CLS, "full" keeps it
    layer_norm_eps: float = 1e-5
    pool: int = 1                    # average-pool the patch features pool x pool before the projector
    stem: str = "patch"              # "patch": CLIP's patch_size conv; "conv": a small convolutional stem

    @property
    def token_patch_size(self):
        """The side in pixels of the image area one image token covers (patch_size x pool)."""
        return self.patch_size * self.pool

    @property
    def grid(self):
        return self.image_size // self.patch_size

    @property
    def num_patches(self):
        return self.grid * self.grid

    @property
    def num_image_tokens(self):
        if self.pool > 1:
            if self.feature_select != "default" or self.grid % self.pool:
                raise ValueError("pooling needs feature_select 'default' and a grid divisible by the pool")
            return (self.grid // self.pool) ** 2
        return self.num_patches + (1 if self.feature_select == "full" else 0)

    @property
    def layers_run(self):
        """How many encoder layers the selected hidden state needs."""
        index = self.feature_layer if self.feature_layer >= 0 else self.num_layers + 1 + self.feature_layer
        if not 0 <= index <= self.num_layers:
            raise ValueError(f"feature_layer {self.feature_layer} is outside 0..{self.num_layers}")
        return index


@dataclass(frozen=True)
class TextConfig:
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    vocab_size: int
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048

    @property
    def head_dim(self):
        return self.hidden_size // self.num_heads


@dataclass(frozen=True)
class ModelConfig:
    name: str
    vision: VisionConfig
    text: TextConfig
    projector: bool = True                 # False: the vision encoder is already text.hidden_size wide
    image_mean: list = field(default_factory=lambda: list(CLIP_MEAN))
    image_std: list = field(default_factory=lambda: list(CLIP_STD))
    resize_mode: str = "shortest_edge_center_crop"
    prompt_template: str = "USER: <image>\n{question}\nASSISTANT:"
    bos_token_id: int = 1
    eos_token_id: int = 2
    threshold: float = 0.12
    direction: str = "text_into_image"
    # The checkpoint tokenizer's convention after <image> (tokenizer_config.json "legacy") and the
    # image token's id (config.json image_token_index); None: not written (the library's defaults).
    tokenizer_legacy: bool = None
    image_token_index: int = None
    # What the exported decoder declares besides the required inputs.
    decoder_position_ids: bool = True
    decoder_logits_to_keep: bool = True
    # Random initialisation.
    seed: int = 0
    init_scale: float = 1.0

    def attanchor_json(self):
        v, t = self.vision, self.text
        return {
            "model_type": "llava",
            "image_size": v.image_size,
            "patch_size": v.token_patch_size,
            "num_image_tokens": v.num_image_tokens,
            "image_mean": list(self.image_mean),
            "image_std": list(self.image_std),
            "resize_mode": self.resize_mode,
            "hidden_size": t.hidden_size,
            "num_hidden_layers": t.num_layers,
            "num_attention_heads": t.num_heads,
            "num_key_value_heads": t.num_kv_heads,
            "head_dim": t.head_dim,
            "vocab_size": t.vocab_size,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "max_position_embeddings": t.max_position_embeddings,
            "prompt_template": self.prompt_template,
            **({} if self.tokenizer_legacy is None else {"tokenizer_legacy": self.tokenizer_legacy}),
            **({} if self.image_token_index is None else {"image_token_index": self.image_token_index}),
            "attanchor": {"threshold": self.threshold, "direction": self.direction},
        }

    def to_dict(self):
        return asdict(self)


# --- presets -------------------------------------------------------------------------------

# TinyLLaVA v1's image geometry (336 px, patch 14, 576 tokens) and grouped-query attention,
# with tiny widths. Committed as a fixture.
TINY_336_GQA = ModelConfig(
    name="tiny-336-gqa",
    vision=VisionConfig(image_size=336, patch_size=14, hidden_size=32, num_layers=3, num_heads=2,
                        intermediate_size=64),
    text=TextConfig(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=128,
                    vocab_size=512, max_position_embeddings=1024),
    seed=336,
)

# No projector (the vision encoder outputs the decoder's width), plain multi-head attention,
# another image geometry, mean/std and template, and a decoder that declares neither
# position_ids nor num_logits_to_keep. Committed as a fixture.
TINY_NOPROJ_MHA = ModelConfig(
    name="tiny-noproj-mha",
    vision=VisionConfig(image_size=160, patch_size=16, hidden_size=48, num_layers=2, num_heads=3,
                        intermediate_size=96),
    text=TextConfig(hidden_size=48, num_layers=2, num_heads=3, num_kv_heads=3, intermediate_size=96,
                    vocab_size=512, max_position_embeddings=512),
    projector=False,
    image_mean=[0.5, 0.5, 0.5],
    image_std=[0.5, 0.5, 0.5],
    resize_mode="pad_to_square",
    prompt_template="<image>\nQuestion: {question}\nAnswer:",
    decoder_position_ids=False,
    decoder_logits_to_keep=False,
    seed=160,
)

# TinyLLaVA v1's exact shapes (CLIP ViT-L/14-336 + TinyLlama 1.1B), random weights. Never committed.
TINYLLAVA_V1 = ModelConfig(
    name="tinyllava-v1",
    vision=VisionConfig(image_size=336, patch_size=14, hidden_size=1024, num_layers=24, num_heads=16,
                        intermediate_size=4096),
    text=TextConfig(hidden_size=2048, num_layers=22, num_heads=32, num_kv_heads=4, intermediate_size=5632,
                    vocab_size=32064, max_position_embeddings=2048),
    seed=1,
)

PRESETS = {c.name: c for c in (TINY_336_GQA, TINY_NOPROJ_MHA, TINYLLAVA_V1)}
FIXTURES = (TINY_336_GQA, TINY_NOPROJ_MHA)
FP16_FIXTURES = (TINY_NOPROJ_MHA,)  # also committed as <name>-fp16
FUSED_FIXTURES = (TINY_336_GQA,)    # also committed as <name>-fused (fuse.py)


def override(cfg, assignments):
    """Applies 'a.b=value' assignments (generate.py's --set; the value is JSON, else a string) to a
    frozen dataclass tree. A malformed assignment or an unknown field is a command-line error:
    SystemExit with the message."""
    for item in assignments:
        if "=" not in item:
            raise SystemExit(f"--set {item!r}: expected field=value, e.g. text.num_layers=4")
        path, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        cfg = _replace(cfg, path.split("."), value, item)
    return cfg


def _replace(obj, parts, value, item):
    names = {f.name for f in dataclasses.fields(obj)}
    if parts[0] not in names:
        raise SystemExit(f"--set {item!r}: no field {parts[0]!r}; fields are {', '.join(sorted(names))}")
    if len(parts) == 1:
        return dataclasses.replace(obj, **{parts[0]: value})
    return dataclasses.replace(obj, **{parts[0]: _replace(getattr(obj, parts[0]), parts[1:], value, item)})
