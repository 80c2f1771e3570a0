"""Training stage: fits the bottleneck CNN on Fashion-MNIST and records its run folder."""
