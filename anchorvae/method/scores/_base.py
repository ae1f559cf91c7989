"""What every anchoring score shares: its inputs and the overlap-over-ink ratio."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ScoreInputs:
    """What a score may read about the training images."""

    images: torch.Tensor  # (N, pixels) in [0, 1]
    labels: torch.Tensor  # (N,) digit of each image
    maps: Mapping[str, torch.Tensor]  # map name -> (pixels,), from the templates stage
    # (N, k) each image's memberships of the clusters stage's k clusters (no label)
    clusters: torch.Tensor | None = None


def overlap_ratio(x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """x (N, pixels) -> (N,): (x . direction) / sum(x); 0 for an all-black image.

    ``direction`` is one map minus another, flattened: one product gives both overlaps.
    """
    ink = x.sum(dim=-1)  # (N,)
    overlap = x @ direction  # (N,)
    return torch.where(ink > 0, overlap / ink.clamp_min(torch.finfo(x.dtype).tiny), 0.0)


def map_difference_score(inputs: ScoreInputs, plus: str, minus: str) -> torch.Tensor:
    """(overlap with map ``plus`` - overlap with map ``minus``) / ink, per image (N,)."""
    direction = inputs.maps[plus] - inputs.maps[minus]  # (pixels,)
    return overlap_ratio(inputs.images, direction.to(inputs.images.dtype))


def class_mean_map(images: np.ndarray, labels: np.ndarray, digit: int) -> np.ndarray:
    """Mean image of ``digit`` scaled to [0, 1]; ``images`` is (N, 28, 28) of any scale."""
    chosen = images[labels == digit]
    if len(chosen) == 0:
        raise ValueError(f"no training images of digit {digit} to average")
    mean = chosen.astype(np.float64).mean(axis=0)
    peak = mean.max()
    return (mean / peak if peak > 0 else mean).astype(np.float32)
