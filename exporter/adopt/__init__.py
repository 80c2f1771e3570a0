"""Adoption: a Fashion-MNIST classifier exported to ONNX elsewhere, rewritten to follow the interface.

Run `python -m exporter.adopt IN.onnx --out OUT.onnx`; needs onnx and onnxruntime, never torch.
"""
