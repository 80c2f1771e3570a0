"""What every stage shares, torch-free: atomic files, locks and publication, the IDX files, the
ONNX interface, the flags generated from a configuration dataclass, and the one-line error of a
stage that needs torch where it is not installed. No stage imports another stage's package, so
editing one never makes `make` rerun another."""
