"""CPU-only analysis of a bottleneck classifier exported to ONNX (no torch needed)."""
