"""A variant's anchors: their latent directions, its scores file, and the point the
anchored loss pulls each digit to.

The KL of an image x is taken at mu(x) + rate * sum_k s_k(x) d_k (loss.py), so it is
smallest where mu(x) = -rate * sum_k s_k(x) d_k. A digit's *anchor point* is that place
at the digit's mean scores over the training images: -rate * sum_k E[s_k | digit] d_k.
Decoding it (evaluate.py) asks the seed post's question directly: is the latent space's
meaning known at a given point? The train stage writes a variant's points beside its
checkpoints (anchorvae/checkpoints.py), from the very images and scores it trained on.
A CVAE's meaning is its label, not a place: its points are the prior's centre, and its
decode is prior samples with the digit's label (the ceiling the seed post names).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from anchorvae.checkpoints import read_anchor_points
from anchorvae.digits import N_DIGITS
from anchorvae.errors import BadInputFile, UsageError
from anchorvae.loss import anchor_shift

if TYPE_CHECKING:
    from anchorvae.config import Params, VariantParams

CONTROL = "anchored"  # a variant without anchors decodes this one's points (the post's loss)


def has_anchors(variant: VariantParams) -> bool:
    return bool(variant.anchors) and variant.anchor_rate > 0


def decodes_own_points(variant: VariantParams) -> bool:
    """Whether a variant's evaluation decodes points of its own (else the control's)."""
    return has_anchors(variant) or variant.conditional


def own_points(
    variant: VariantParams, scores: torch.Tensor, labels: torch.Tensor, latent_dims: int
) -> torch.Tensor | None:
    """The (10, D) points a variant's evaluation decodes, from its training images'
    scores (N, S) and labels (N,): where its loss pulls each digit, the origin for a
    plain CVAE, None for a plain VAE (it decodes the control's)."""
    if has_anchors(variant):
        directions = anchor_directions(variant, latent_dims)
        return anchor_points(scores, labels, directions, variant.anchor_rate)
    if variant.conditional:
        return torch.zeros(N_DIGITS, latent_dims, dtype=torch.float64)
    return None


def anchor_directions(variant: VariantParams, latent_dims: int) -> torch.Tensor:
    """(S, D) latent direction of each anchor score, in params.yaml's order: a list as
    given, one number c as c (1, ..., 1) (so that it fits any latent size)."""
    rows = [d if isinstance(d, list) else [d] * latent_dims for d in variant.anchors.values()]
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


def points_to_decode(models: str | Path, variant: str, params: Params) -> torch.Tensor | None:
    """The (10, D) anchor points the evaluation of ``variant`` (its models in folder
    ``models``) decodes: its own if it is anchored; else the control's, which sit beside
    its folder (None when the control has no anchors either, at anchor_rate 0). What a
    file holds must agree with the params that trained it: a BadInputFile otherwise."""
    dims = params.train.latent_dims
    own = _expected_points(Path(models), variant, params, dims)
    if decodes_own_points(params.variant(variant)):
        return own
    return _expected_points(Path(models).parent / CONTROL, CONTROL, params, dims)


def _expected_points(folder: Path, name: str, params: Params, dims: int) -> torch.Tensor | None:
    points = read_anchor_points(folder, dims)
    variant = params.variant(name)
    own = decodes_own_points(variant)
    if own == (points is None):
        holds = "no anchor points" if own else "anchor points"
        which = ("anchored" if has_anchors(variant) else "a CVAE" if own
                 else "a plain VAE (no anchors or rate 0)")  # fmt: skip
        raise BadInputFile(f"{folder}/anchors.json holds {holds}, but variant {name} is "
                           f"{which} in params.yaml: run the train stage")  # fmt: skip
    return points
