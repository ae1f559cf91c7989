"""MNIST as in-memory tensors, read from the raw files by torchvision."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.datasets import MNIST

from anchorvae.download import raw_dir
from anchorvae.errors import UsageError

PIXELS = 28 * 28


def load_mnist(root: str | Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels): uint8 (N, 28, 28) and int64 (N,) from ``root``'s raw files."""
    if not raw_dir(root).is_dir():
        raise UsageError(f"no MNIST files under {raw_dir(root)}: run the download stage")
    try:
        dataset = MNIST(root=str(root), train=train, download=False)
    except RuntimeError as err:
        raise UsageError(f"MNIST under {root} cannot be read: {err}") from None
    return dataset.data, dataset.targets


def as_flat_floats(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 784) in [0, 1], the model's input."""
    return images.reshape(len(images), PIXELS).float().div_(255.0)
