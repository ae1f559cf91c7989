"""A variant's anchors: their latent directions, its scores file, and the point the
anchored loss pulls each digit to.

The KL of an image x is taken at mu(x) + rate * sum_k s_k(x) d_k (loss.py), so it is
smallest where mu(x) = -rate * sum_k s_k(x) d_k. A digit's *anchor point* is that place
at the digit's mean scores over the training images: -rate * sum_k E[s_k | digit] d_k.
Decoding it (evaluate.py) asks the seed post's question directly: is the latent space's
meaning known at a given point? The train stage writes a variant's points beside its
checkpoints (anchorvae/checkpoints.py), from the very images and scores it trained on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from anchorvae.digits import N_DIGITS, ONE, ZERO
from anchorvae.errors import UsageError
from anchorvae.loss import anchor_shift

if TYPE_CHECKING:
    from anchorvae.config import VariantParams

ANCHORED_DIGITS = (ZERO, ONE)  # the digits whose anchor points are decoded and read
CONTROL = "anchored"  # a variant without anchors decodes this one's points (the post's loss)


def has_anchors(variant: VariantParams) -> bool:
    return bool(variant.anchors) and variant.anchor_rate > 0


def anchor_directions(variant: VariantParams, latent_dims: int) -> torch.Tensor:
    """(S, D) latent direction of each anchor score, in params.yaml's order."""
    rows = list(variant.anchors.values())
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), latent_dims)


def load_scores(path: str | Path, n_images: int, n_scores: int) -> torch.Tensor:
    """The (N, S) scores of the scores stage, checked against the images and the anchors."""
    try:
        scores = np.load(path)
    except (OSError, ValueError) as err:
        raise UsageError(
            f"{path} cannot be read as scores ({err}): run the scores stage"
        ) from None
    if scores.shape != (n_images, n_scores):
        raise UsageError(
            f"{path} holds scores of shape {scores.shape}, expected ({n_images}, {n_scores}): "
            "run the scores stage for this variant"
        )
    return torch.from_numpy(scores)


def anchor_points(
    scores: torch.Tensor, labels: torch.Tensor, directions: torch.Tensor, rate: float
) -> torch.Tensor:
    """(10, D) anchor point of each digit from the images' scores (N, S), their labels
    (N,) and the directions (S, D); a row of NaN for a digit that has no image."""
    mean_scores = torch.stack(
        [
            scores[labels == d].double().mean(dim=0)
            if (labels == d).any()
            else scores.new_full(scores.shape[1:], math.nan, dtype=torch.float64)
            for d in range(N_DIGITS)
        ]
    )  # (10, S)
    return -anchor_shift(mean_scores, directions.double(), rate)
