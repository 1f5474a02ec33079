"""LLaVA-architecture model tooling for AttAnchor for .NET.

Modules:
  config      model configurations and the named presets (fixtures, full size)
  arch        the PyTorch modules: CLIP ViT, projector, Llama decoder
  tokenizer   a Llama-style SentencePiece model trained here, and the prompt template split
  imageproc   the reference CLIP image processing, with PIL
  attanchor   the regrouping rule of docs/spec/attanchor.md, in plain Python
  export      the four ONNX graphs, attanchor.json, graph checks for ONNX Runtime
  npyio       deterministic .npy.gz files
"""
