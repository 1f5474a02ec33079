"""A Hugging Face LLaVA checkpoint's configuration read for llavagen, without torch or transformers:
its LlavaConfig and image processor settings turned into a ModelConfig (refusing what llavagen.arch
does not implement), and the tokenizer's convention after <image>. export_llava.py's first step;
hf_export.py does the rest."""
import json

from . import config as lconfig


class ExportError(Exception):
    """A one-line problem with what to do about it (exit status 2)."""


class CheckFailed(Exception):
    """A verification above its tolerance (exit status 1)."""


# TinyLLaVA v1's preprocessor_config.json (CLIPImageProcessor, 336 px).
# TinyLLaVA v1's preprocessor_config.json (CLIPImageProcessor, 336 px).
TINY_PP = {"crop_size": {"height": 336, "width": 336}, "do_center_crop": True, "do_normalize": True, "do_rescale": True,
           "do_resize": True, "image_mean": lconfig.CLIP_MEAN, "image_std": lconfig.CLIP_STD, "resample": 3,
           "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336}}


def _get(obj, name, default=None):
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def _unsupported(what, value, fix):
    raise ExportError(f"unsupported checkpoint: {what} = {value!r}: {fix}; this exporter covers LLaVA-1.5-style "
                      "CLIP ViT + Llama checkpoints, anything else needs tools/python/llavagen/arch.py extended first")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _image_settings(pp, image_size):
    """(mean, std, resize_mode) from a CLIPImageProcessor config dict."""
    if pp.get("resample", 3) != 3:
        _unsupported("image processor resample", pp["resample"], "only bicubic (3) is implemented")
    if not pp.get("do_resize", True) or not pp.get("do_normalize", True):
        _unsupported("image processor do_resize/do_normalize", False, "both must be true")
    if pp.get("do_rescale", True) and abs(pp.get("rescale_factor", 1 / 255) - 1 / 255) > 1e-9:
        _unsupported("image processor rescale_factor", pp["rescale_factor"], "only 1/255 is implemented")
    size = pp.get("size", {"shortest_edge": image_size})
    if pp.get("do_center_crop", True):   # CLIPImageProcessor's default
        crop = pp.get("crop_size", image_size)
        crop = (crop["height"], crop["width"]) if isinstance(crop, dict) else (crop, crop)
        edge = size if isinstance(size, int) else size.get("shortest_edge")
        if crop != (image_size, image_size) or edge != image_size:
            _unsupported("image processor crop_size/size", (pp.get("crop_size"), size),
                         f"the shortest edge and the crop must both be the vision tower's image_size {image_size}")
        mode = "shortest_edge_center_crop"
    else:
        if not isinstance(size, dict) or (size.get("height"), size.get("width")) != (image_size, image_size):
            _unsupported("image processor size without centre crop", size, f"expected height = width = {image_size}")
        mode = "stretch"
    return list(pp.get("image_mean", lconfig.CLIP_MEAN)), list(pp.get("image_std", lconfig.CLIP_STD)), mode


def build_config(hf, pp, name, template, threshold):
    """llavagen ModelConfig from a LlavaConfig (or anything with its fields) and the image
    processor's config dict. Refuses what llavagen.arch does not implement."""
    v, t = hf.vision_config, hf.text_config
    if _get(v, "model_type", "clip_vision_model") != "clip_vision_model":
        _unsupported("vision_config.model_type", _get(v, "model_type"), "only CLIP vision towers are implemented")
    if _get(t, "model_type", "llama") != "llama":
        _unsupported("text_config.model_type", _get(t, "model_type"), "only Llama decoders are implemented")
    if _get(v, "hidden_act", "quick_gelu") != "quick_gelu":
        _unsupported("vision_config.hidden_act", _get(v, "hidden_act"), "only quick_gelu is implemented")
    if _get(v, "num_channels", 3) != 3:
        _unsupported("vision_config.num_channels", _get(v, "num_channels"), "only RGB is implemented")
    layer = _get(hf, "vision_feature_layer", -2)
    if not isinstance(layer, int):
        _unsupported("vision_feature_layer", layer, "a list of layers is not implemented; use one layer")
    select = _get(hf, "vision_feature_select_strategy", "default")
    if select not in ("default", "full"):
        _unsupported("vision_feature_select_strategy", select, "expected default or full")
    if _get(hf, "projector_hidden_act", "gelu") != "gelu":
        _unsupported("projector_hidden_act", _get(hf, "projector_hidden_act"), "only gelu is implemented")
    if _get(hf, "multimodal_projector_bias", True) is not True:
        _unsupported("multimodal_projector_bias", _get(hf, "multimodal_projector_bias"), "a projector without bias is not implemented")
    rope = _get(t, "rope_parameters") or _get(t, "rope_scaling") or {}
    if _get(rope, "rope_type", _get(rope, "type", "default")) != "default":
        _unsupported("text_config rope scaling", rope, "only plain RoPE is implemented")
    for key, ok in (("attention_bias", False), ("mlp_bias", False), ("hidden_act", "silu"), ("tie_word_embeddings", False)):
        if _get(t, key, ok) != ok:
            _unsupported(f"text_config.{key}", _get(t, key), f"only {ok!r} is implemented")
    heads = _get(t, "num_attention_heads")
    if _get(t, "head_dim") not in (None, t.hidden_size // heads):
        _unsupported("text_config.head_dim", _get(t, "head_dim"), "only hidden_size / num_attention_heads is implemented")
    total = v.num_hidden_layers
    needed = layer if layer >= 0 else total + 1 + layer
    if not 0 <= needed <= total:
        _unsupported("vision_feature_layer", layer, f"outside the tower's 0..{total} hidden states")
    vision = lconfig.VisionConfig(image_size=v.image_size, patch_size=v.patch_size, hidden_size=v.hidden_size,
                                  num_layers=needed, num_heads=v.num_attention_heads,
                                  intermediate_size=v.intermediate_size, feature_layer=needed,
                                  feature_select=select, layer_norm_eps=_get(v, "layer_norm_eps", 1e-5))
    text = lconfig.TextConfig(hidden_size=t.hidden_size, num_layers=t.num_hidden_layers, num_heads=heads,
                              num_kv_heads=_get(t, "num_key_value_heads") or heads,
                              intermediate_size=t.intermediate_size, vocab_size=t.vocab_size,
                              rms_norm_eps=_get(t, "rms_norm_eps", 1e-6),
                              rope_theta=float(_get(t, "rope_theta") or _get(rope, "rope_theta", 10000.0)),
                              max_position_embeddings=_get(t, "max_position_embeddings", 2048))
    seq = _get(hf, "image_seq_length")
    if seq is not None and seq != vision.num_image_tokens:
        print(f"warning: image_seq_length {seq} differs from the {vision.num_image_tokens} image tokens the tower gives")
    bos, eos = _get(t, "bos_token_id"), _get(t, "eos_token_id")
    bos, eos = 1 if bos is None else bos, 2 if eos is None else eos
    mean, std, mode = _image_settings(pp, v.image_size)
    if template.count("<image>") != 1 or template.count("{question}") != 1:
        raise ExportError("--prompt-template must hold <image> and {question} exactly once")
    image_token = _get(hf, "image_token_index", _get(hf, "image_token_id"))
    return lconfig.ModelConfig(name=name, vision=vision, text=text, projector=True, image_mean=mean, image_std=std,
                               resize_mode=mode, prompt_template=template, bos_token_id=bos,
                               eos_token_id=eos[0] if isinstance(eos, list) else eos, threshold=threshold,
                               image_token_index=image_token)


def probe_legacy(tokenize, to_token):
    """What the loaded Hugging Face tokenizer does after an added token: True when the text after
    <image> gets the dummy prefix (legacy), False when not. `tokenize(text)` gives ids, `to_token(id)`
    a piece. Asking the tokenizer is the only reliable way: transformers 4 and 5 read an absent
    "legacy" differently (true and false), and a tokenizer.json can decide it too."""
    ids = tokenize("a<image>b")
    image = next((i for i, t in enumerate(ids) if to_token(t) == "<image>"), None)
    if image is None or image + 1 >= len(ids):
        raise ExportError("the tokenizer does not keep <image> as one token; is it a LLaVA checkpoint's tokenizer?")
    return to_token(ids[image + 1]).startswith("\u2581")


def tokenizer_legacy(tok_config):
    """The checkpoint tokenizer's convention after an added token when no Hugging Face tokenizer can be
    asked (probe_legacy): tokenizer_config.json's "legacy" (absent: true, as transformers 4 reads it)."""
    legacy = tok_config.get("legacy", True)
    if legacy is None:
        legacy = True
    if not isinstance(legacy, bool):
        raise ExportError(f"tokenizer_config.json: \"legacy\" is {legacy!r}; expected true or false")
    return legacy
