"""LLaVA-architecture model tooling for AttAnchor for .NET (the commands beside this package use it).

Modules:
  paths             where the repository keeps its model data (models/), from this package's location
  config            model configurations, the named presets, and generate.py's --set overrides
  arch              the PyTorch modules: CLIP ViT, projector, Llama decoder
  tokenizer         a Llama-style SentencePiece model trained here, and the prompt template split
  imageproc         the reference CLIP image processing, with PIL
  attanchor         the regrouping rule of docs/spec/attanchor.md, in NumPy
  regroup           the same rule in PyTorch, as training uses it; parity checks the two agree
  export            the four ONNX graphs, attanchor.json, graph checks for ONNX Runtime
  references        the PyTorch references a model folder's references/ holds
  npyio             deterministic .npy.gz files
  onnxio            writing ONNX graphs into a model folder
  fuse, quantize    the fused CPU decoder and weight-only MatMulNBits quantisation (onnx and NumPy only)
  fixtures          the committed test fixtures, written and compared
  testimages        the fixtures' drawn test images
  shapes            the synthetic shapes task; shapes_train trains on it
  hf_config         a Hugging Face LLaVA checkpoint's config read into a ModelConfig (no torch)
  hf_export         that checkpoint's weights mapped, checked against transformers, exported
  llama_tokenizer   Llama-2's tokenizer.model rebuilt from llama-tokenizer-js; llama_reference its test strings
  photos            the real-photograph fixtures; photo_references what Pillow makes of them
"""
