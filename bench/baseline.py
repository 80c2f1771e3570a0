"""The usual recipe this project is measured against, written as its users run it.

Four conv blocks 64/64/128/128 (conv 3x3 + batch norm + ReLU) with strides 2, 1, 2, 1, global
average pooling, Linear(128 -> 2) as the bottleneck, Linear(2 -> 10); Adam at 1e-3, batch 1,024,
fp32; a torch DataLoader over torchvision's FashionMNIST with per-sample RandomHorizontalFlip +
RandomResizedCrop(28, scale=(0.7, 1.1)) + ToTensor, and a test pass after every epoch. Its users
train it for 100 epochs; the benchmark times a few and projects.

    python bench/baseline.py --data-dir data --epochs 2 --workers 2 --out RESULT.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.datasets import FashionMNIST

BATCH = 1024
LR = 1e-3
THREADS = 2  # as every stage of this project runs


def block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def baseline_model(bottleneck_dim: int = 2, num_classes: int = 10) -> nn.Sequential:
    """28x28 -> 64@14 -> 64@14 -> 128@7 -> 128@7 -> average -> D -> classes (18.2 M MACs)."""
    return nn.Sequential(
        block(1, 64, 2),
        block(64, 64, 1),
        block(64, 128, 2),
        block(128, 128, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, bottleneck_dim),
        nn.Linear(bottleneck_dim, num_classes),
    )


def loaders(data_dir: str, workers: int) -> tuple[DataLoader, DataLoader]:
    """Per-sample PIL transforms in `workers` worker processes (0: in the training process)."""
    augment = transforms.Compose([
        transforms.RandomHorizontalFlip(),
        transforms.RandomResizedCrop(28, scale=(0.7, 1.1)),
        transforms.ToTensor(),
    ])
    train = FashionMNIST(data_dir, train=True, transform=augment)
    test = FashionMNIST(data_dir, train=False, transform=transforms.ToTensor())
    return (
        DataLoader(train, batch_size=BATCH, shuffle=True, num_workers=workers),
        DataLoader(test, batch_size=BATCH, num_workers=workers),
    )


@torch.no_grad()
def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
    model.train()
    return correct / len(loader.dataset)


def run(data_dir: str, epochs: int, workers: int, seed: int) -> dict:
    """Train for `epochs`; per-epoch wall seconds (train pass and test pass) and accuracy."""
    torch.manual_seed(seed)
    model = baseline_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    train_loader, test_loader = loaders(data_dir, workers)
    seconds, accuracies = [], []
    for _ in range(epochs):
        started = time.perf_counter()
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        accuracies.append(accuracy(model, test_loader))
        seconds.append(time.perf_counter() - started)
        print(f"epoch {len(seconds)}/{epochs}  test_acc {accuracies[-1]:.4f}  {seconds[-1]:.1f} s", flush=True)
    return {"epochs": epochs, "workers": workers, "seed": seed, "epoch_seconds": seconds,
            "test_accuracy": accuracies[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data", help="dataset root (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs to time (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--out", help="write the result as JSON here (default: print only)")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    result = run(args.data_dir, args.epochs, args.workers, args.seed)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
