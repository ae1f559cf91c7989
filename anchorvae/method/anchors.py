"""A variant's anchors: their latent directions, and the point the anchored loss pulls
each digit to.

The KL of an image x is taken at mu(x) + rate * sum_k s_k(x) d_k (loss.py), so it is
smallest where mu(x) = -rate * sum_k s_k(x) d_k. A digit's *anchor point* is that place
at the digit's mean scores over the training images: -rate * sum_k E[s_k | digit] d_k.
Decoding it (anchorvae/evaluation/evaluate.py) asks the seed post's question directly: is
the latent space's meaning known at a given point? A CVAE's meaning is its label, not a
place: its points are the prior's centre, and its decode is prior samples with the
digit's label (the ceiling the seed post names). A plain VAE decodes the points of the
:data:`CONTROL` variant, the post's loss: the same places, read without anchoring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import torch

from anchorvae.digits import ANCHORED_DIGITS, N_DIGITS, ONE, ZERO
from anchorvae.method.loss import anchor_shift

CONTROL = "anchored"  # a variant without anchors decodes this one's points (the post's loss)


class Anchoring(Protocol):
    """What the maths reads of a variant (params.yaml's ``variants.<name>`` has it)."""

    anchor_rate: float
    anchors: Mapping[str, float | list[float]]  # score name -> its latent direction
    conditional: bool  # a CVAE


def has_anchors(variant: Anchoring) -> bool:
    return bool(variant.anchors) and variant.anchor_rate > 0


def decodes_own_points(variant: Anchoring) -> bool:
    """Whether a variant's evaluation decodes points of its own (else the control's)."""
    return has_anchors(variant) or variant.conditional


def own_points(
    variant: Anchoring, scores: torch.Tensor, labels: torch.Tensor, latent_dims: int
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


def anchor_directions(variant: Anchoring, latent_dims: int) -> torch.Tensor:
    """(S, D) latent direction of each anchor score, in params.yaml's order: a list as
    given, one number c as c (1, ..., 1) (so that it fits any latent size)."""
    rows = [d if isinstance(d, list) else [d] * latent_dims for d in variant.anchors.values()]
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), latent_dims)


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


def anchor_distance(points: torch.Tensor) -> float:
    """The mean distance from the origin of the anchored digits' points (10, D): how far
    out the places are whose decode is read (a CVAE's: 0)."""
    return points[list(ANCHORED_DIGITS)].double().norm(dim=1).mean().item()


def template_purity(
    scores: torch.Tensor, labels: torch.Tensor, directions: torch.Tensor
) -> dict[str, float]:
    """How pure a variant's template is, read off the labels once it is fixed: the share
    of 0s among the n0 training images (n0: the number of 0s) its scores (N, S) pull
    furthest towards (-, ..., -), and of 1s among the n1 pulled furthest towards
    (+, ..., +). The pull is the anchor shift along (1, ..., 1) (a second axis across it,
    as two_axis's sevenness, does not count); ties keep the images' order."""
    dims = directions.shape[1]
    pull = (scores.double() @ directions.double()).sum(dim=1) / math.sqrt(dims)  # (N,)
    order = torch.argsort(pull, descending=True, stable=True)
    ranked = labels[order]
    n0, n1 = int((ranked == ZERO).sum()), int((ranked == ONE).sum())
    zeros, ones = ranked[:n0], ranked[len(ranked) - n1 :]
    return {"template_purity_zero": _share(zeros, ZERO), "template_purity_one": _share(ones, ONE)}


def _share(labels: torch.Tensor, digit: int) -> float:
    return (labels == digit).double().mean().item() if len(labels) else math.nan
