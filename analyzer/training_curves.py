"""The overview page's training curves: loss and accuracy per epoch from `history.json`."""

from __future__ import annotations

from pathlib import Path

from analyzer.figures import plt, save_figure
from analyzer.inputs import Inputs, Subject

FIGURES = {"training_curves": "training_curves.png"}


def figure(history: list[dict], path: Path) -> None:
    """Loss and accuracy per epoch, train (augmented batches) and test."""
    epochs = [row["epoch"] for row in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    loss_ax.plot(epochs, [r["train_loss"] for r in history], "o-", ms=3, label="train")
    loss_ax.plot(epochs, [r["test_loss"] for r in history], "o-", ms=3, label="test")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    acc_ax.plot(epochs, [100 * r["train_accuracy"] for r in history], "o-", ms=3, label="train")
    acc_ax.plot(epochs, [100 * r["test_accuracy"] for r in history], "o-", ms=3, label="test")
    last = 100 * history[-1]["test_accuracy"]
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title=f"Accuracy (last test: {last:.2f}%)")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def analyse(inputs: Inputs, out: Path) -> Subject:
    """The figure under `out`; the history itself is the page's block of results.json (None
    without --history)."""
    if inputs.history is None:
        return Subject(None)
    figure(inputs.history, out / FIGURES["training_curves"])
    return Subject(inputs.history, FIGURES)
