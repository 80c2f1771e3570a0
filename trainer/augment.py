"""Whole-batch augmentation as tensor ops: no per-image PIL calls, no DataLoader workers.

Clothes are left-right symmetric and centred in their 28x28 frame, so the augmentations are a
horizontal flip and a small shift; crops that rescale (RandomResizedCrop) change garment
proportions that tell, e.g., a shirt from a dress, and cost accuracy here. Everything, the random
draws included, runs on the images' device: on a GPU a batch never visits the CPU.
"""

from __future__ import annotations

import torch


def flip_and_shift(
    images: torch.Tensor, max_shift: int, flip: bool, generator: torch.Generator
) -> torch.Tensor:
    """Randomly flip each image and shift it by up to `max_shift` pixels (zero fill).

    images: (B, 1, H, W) float; `generator` lives on the images' device. Returns a new
    (B, 1, H, W) tensor.
    """
    batch, _, height, width = images.shape
    device = images.device
    if flip:
        flipped = torch.rand(batch, generator=generator, device=device) < 0.5
        images = torch.where(flipped[:, None, None, None], images.flip(3), images)
    if max_shift == 0:
        return images
    padded = torch.nn.functional.pad(images, (max_shift,) * 4)  # (B, 1, H+2s, W+2s)
    dy = torch.randint(0, 2 * max_shift + 1, (batch,), generator=generator, device=device)
    dx = torch.randint(0, 2 * max_shift + 1, (batch,), generator=generator, device=device)
    rows = (dy[:, None] + torch.arange(height, device=device)[None, :])[:, :, None]  # (B, H, 1)
    cols = (dx[:, None] + torch.arange(width, device=device)[None, :])[:, None, :]  # (B, 1, W)
    return padded[torch.arange(batch, device=device)[:, None, None], 0, rows, cols].unsqueeze(1)
