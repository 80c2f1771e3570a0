"""Export stage: turns a trained checkpoint into a verified two-output ONNX model."""
