"""The LLaVA architecture in PyTorch, written for torch 1.13's tracing ONNX exporter.

- CLIP ViT (as transformers' CLIPVisionModel): bias-free conv patch embedding, class embedding,
  learned positions, pre-layernorm, pre-LN encoder layers with a quick_gelu MLP. The output is
  the hidden state at `feature_layer` (-2: the input of the last layer), CLS dropped for the
  "default" select strategy, optionally average-pooled `pool` x `pool` over the patch grid (the
  shapes model; 1, no pooling, for TinyLLaVA and the fixtures).
- Projector (LlavaMultiModalProjector): Linear -> GELU (erf) -> Linear.
- Llama decoder (LlamaForCausalLM without its embedding table, which is a graph of its own):
  RMSNorm, rotary positions (rotate-half convention), grouped-query attention, SiLU-gated MLP,
  untied lm_head, and a KV cache in/out as [B, Hkv, P, hd].

Export-safe choices (torch 1.13 bakes example sizes into some ops):
- key/value heads are repeated with expand + reshape, never repeat_interleave;
- the causal mask is built from positions (key j visible to query i when j <= P + i), never tril
  with a computed diagonal;
- softmax and the RMSNorm statistics run in float32 whatever the weights' type.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


# --- vision ----------------------------------------------------------------------------------

class ClipAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x):                                     # x: [B, T, W]
        b, t, w = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)  # [B, h, T, hd]
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        scores = torch.matmul(q * (self.head_dim ** -0.5), k.transpose(2, 3))     # [B, h, T, T]
        probs = torch.softmax(scores.float(), dim=-1).to(v.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, w)
        return self.out_proj(out)


class ClipLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg.hidden_size
        self.layer_norm1 = nn.LayerNorm(w, eps=cfg.layer_norm_eps)
        self.self_attn = ClipAttention(w, cfg.num_heads)
        self.layer_norm2 = nn.LayerNorm(w, eps=cfg.layer_norm_eps)
        self.fc1 = nn.Linear(w, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, w)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        h = self.fc1(self.layer_norm2(x))
        h = h * torch.sigmoid(1.702 * h)                      # quick_gelu
        return x + self.fc2(h)


class ConvStem(nn.Module):
    """A convolutional stem in place of the patch embedding ("Early convolutions help transformers
    see better", Xiao et al. 2021): stride 4, 2 and 2 (x patch_size / 16) to one vector per patch.
    Used by the shapes model, which learns its vision from zero in minutes; CLIP uses the plain
    patch_size x patch_size convolution."""

    def __init__(self, width, patch_size):
        super().__init__()
        if patch_size % 16:
            raise ValueError("the convolutional stem needs a patch size that is a multiple of 16")
        first = patch_size // 4
        self.conv1 = nn.Conv2d(3, width // 4, kernel_size=first, stride=first)
        self.conv2 = nn.Conv2d(width // 4, width // 2, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(width // 2, width, kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        return self.conv3(x)

    @property
    def weight(self):
        return self.conv1.weight


class ClipVisionTower(nn.Module):
    """pixel_values [B, 3, H, W] -> image_features [B, M, Dv]."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        w = cfg.hidden_size
        if cfg.stem == "conv":
            self.patch_embedding = ConvStem(w, cfg.patch_size)
        else:
            self.patch_embedding = nn.Conv2d(3, w, kernel_size=cfg.patch_size, stride=cfg.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(w))
        self.position_embedding = nn.Parameter(torch.zeros(cfg.num_patches + 1, w))
        self.pre_layrnorm = nn.LayerNorm(w, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(ClipLayer(cfg) for _ in range(cfg.num_layers))

    def forward(self, pixel_values):
        b = pixel_values.shape[0]
        patches = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype))  # [B, W, g, g]
        patches = patches.flatten(2).transpose(1, 2)                                       # [B, g*g, W]
        cls = self.class_embedding.view(1, 1, -1).expand(b, 1, -1)
        x = torch.cat([cls, patches], dim=1) + self.position_embedding.unsqueeze(0)        # [B, 1+g*g, W]
        x = self.pre_layrnorm(x)                                                           # hidden_states[0]
        for layer in self.layers[: self.cfg.layers_run]:
            x = layer(x)                                                                   # hidden_states[i]
        if self.cfg.feature_select != "default":
            return x
        x = x[:, 1:]
        if self.cfg.pool > 1:                                                              # [B, g*g, W]
            g, k = self.cfg.grid, self.cfg.pool
            x = x.transpose(1, 2).reshape(b, -1, g, g)                                     # [B, W, g, g]
            x = F.avg_pool2d(x, kernel_size=k, stride=k)                                   # [B, W, g/k, g/k]
            x = x.flatten(2).transpose(1, 2)                                               # [B, (g/k)^2, W]
        return x


class Projector(nn.Module):
    """image_features [B, M, Dv] -> image_embeds [B, M, D]."""

    def __init__(self, vision_width, text_width):
        super().__init__()
        self.linear_1 = nn.Linear(vision_width, text_width)
        self.linear_2 = nn.Linear(text_width, text_width)

    def forward(self, image_features):
        return self.linear_2(F.gelu(self.linear_1(image_features)))


# --- decoder ---------------------------------------------------------------------------------

class RmsNorm(nn.Module):
    def __init__(self, width, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        w = cfg.hidden_size
        self.q_proj = nn.Linear(w, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(w, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(w, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, w, bias=False)

    def _repeat_kv(self, x):                                  # [B, Hkv, T, hd] -> [B, H, T, hd]
        groups = self.heads // self.kv_heads
        if groups == 1:
            return x
        b, hkv, t, hd = x.shape
        return x[:, :, None].expand(b, hkv, groups, t, hd).reshape(b, hkv * groups, t, hd)

    def forward(self, x, cos, sin, bias, past_key, past_value):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)       # [B, H, S, hd]
        k = self.k_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)    # [B, Hkv, S, hd]
        v = self.v_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        key = torch.cat([past_key, k], dim=2)                                          # [B, Hkv, P+S, hd]
        value = torch.cat([past_value, v], dim=2)
        scores = torch.matmul(q, self._repeat_kv(key).transpose(2, 3)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores.float() + bias, dim=-1).to(q.dtype)               # [B, H, S, P+S]
        out = torch.matmul(probs, self._repeat_kv(value))                              # [B, H, S, hd]
        out = out.transpose(1, 2).reshape(b, s, self.heads * self.head_dim)
        return self.o_proj(out), key, value


class LlamaLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RmsNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RmsNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin, bias, past_key, past_value):
        h, key, value = self.self_attn(self.input_layernorm(x), cos, sin, bias, past_key, past_value)
        x = x + h
        h = self.post_attention_layernorm(x)
        x = x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))
        return x, key, value


class LlamaDecoder(nn.Module):
    """The Llama stack after the embedding table, with a KV cache.

    forward(inputs_embeds [B, S, D], attention_mask i64 [B, P+S], position_ids i64 [B, S] or None,
            past: list of (key, value) [B, Hkv, P, hd], logits_to_keep: i64 scalar tensor or None)
      -> logits [B, S or k, V], presents: list of (key, value) [B, Hkv, P+S, hd]
    position_ids None means P, P+1, ..., P+S-1.
    """

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.layers = nn.ModuleList(LlamaLayer(cfg) for _ in range(cfg.num_layers))
        self.norm = RmsNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.int64).float() / cfg.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, inputs_embeds, attention_mask, position_ids, past, logits_to_keep=None):
        b, s, _ = inputs_embeds.shape
        p = past[0][0].shape[2]
        query_pos = torch.arange(s, dtype=torch.int64) + p                              # [S]
        if position_ids is None:
            position_ids = query_pos.unsqueeze(0).expand(b, s)
        freqs = position_ids.float().unsqueeze(-1) * self.inv_freq                     # [B, S, hd/2]
        emb = torch.cat([freqs, freqs], dim=-1)
        dtype = inputs_embeds.dtype
        cos = emb.cos().unsqueeze(1).to(dtype)                                          # [B, 1, S, hd]
        sin = emb.sin().unsqueeze(1).to(dtype)
        key_pos = torch.arange(attention_mask.shape[1], dtype=torch.int64)              # [P+S]
        visible = (key_pos.unsqueeze(0) <= query_pos.unsqueeze(1)).unsqueeze(0)         # [1, S, P+S]
        visible = visible & (attention_mask.unsqueeze(1) > 0)                           # [B, S, P+S]
        bias = torch.zeros(visible.shape, dtype=torch.float32).masked_fill(
            ~visible, torch.finfo(torch.float32).min).unsqueeze(1)                      # [B, 1, S, P+S]
        x = inputs_embeds
        presents = []
        for layer, (pk, pv) in zip(self.layers, past):
            x, key, value = layer(x, cos, sin, bias, pk, pv)
            presents.append((key, value))
        x = self.norm(x)
        if logits_to_keep is not None:
            keep = torch.arange(s, dtype=torch.int64)
            keep = keep[keep >= s - logits_to_keep]                                     # the last k positions
            x = x.index_select(1, keep)
        return self.lm_head(x), presents


class Llava(nn.Module):
    """All four parts, for references and for export."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.vision = ClipVisionTower(cfg.vision)
        self.projector = Projector(cfg.vision.hidden_size, cfg.text.hidden_size) if cfg.projector else None
        if not cfg.projector and cfg.vision.hidden_size != cfg.text.hidden_size:
            raise ValueError("without a projector the vision width must equal the decoder width")
        self.embed_tokens = nn.Embedding(cfg.text.vocab_size, cfg.text.hidden_size)
        self.decoder = LlamaDecoder(cfg.text)

    def image_embeds(self, pixel_values):
        features = self.vision(pixel_values)
        return self.projector(features) if self.projector is not None else features

    def empty_past(self, batch=1, dtype=torch.float32):
        t = self.cfg.text
        return [(torch.zeros(batch, t.num_kv_heads, 0, t.head_dim, dtype=dtype),
                 torch.zeros(batch, t.num_kv_heads, 0, t.head_dim, dtype=dtype)) for _ in range(t.num_layers)]


@torch.no_grad()
def init_random(model, seed, scale=1.0):
    """Random weights that give a model with a real spread of logits and similarities.

    Linear and conv weights are N(0, scale/fan_in) (variance-preserving), biases and
    layer-norm parameters small random values around 0 and 1, embeddings N(0, 1); the last
    projector layer and lm_head are scaled so that similarities and logits spread widely
    enough for greedy decoding to have clear winners.
    """
    g = torch.Generator().manual_seed(seed)

    def normal(t, std):
        t.copy_(torch.randn(t.shape, generator=g, dtype=torch.float32) * std)

    for name, p in model.named_parameters():
        if name.endswith("class_embedding") or name.endswith("position_embedding"):
            normal(p, 0.5)
        elif "embed_tokens" in name:
            normal(p, 1.0)
        elif p.dim() >= 2:
            fan_in = p[0].numel()
            normal(p, math.sqrt(scale / fan_in) * (3.0 if name.endswith("lm_head.weight") else 1.0))
        elif "norm" in name and name.endswith("weight"):
            p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
        else:
            normal(p, 0.05)
    return model


def build(cfg):
    torch.manual_seed(cfg.seed)
    model = Llava(cfg)
    init_random(model, cfg.seed, cfg.init_scale)
    return model.eval()
