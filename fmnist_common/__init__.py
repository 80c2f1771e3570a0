"""What every stage shares, torch-free: atomic files, locks and publication, the IDX files, the
ONNX interface and the flags generated from a configuration dataclass. No stage imports another
stage's package, so editing one never makes `make` rerun another."""
