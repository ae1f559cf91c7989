"""A variant's anchors: their latent directions, and the point the anchored loss pulls
each digit to.

The KL of an image x is taken at mu(x) + rate * sum_k s_k(x) d_k (loss.py), so it is
smallest where mu(x) = -rate * sum_k s_k(x) d_k. A digit's *anchor point* is that place
at the digit's mean scores over the training images: -rate * sum_k E[s_k | digit] d_k.
Decoding it (anchorvae/evaluation/evaluate.py) asks the seed post's question directly: is
the latent space's meaning known at a given point? A CVAE's meaning is its label, not a
place: its points are the prior's centre, and its decode is prior samples with the
digit's label (the ceiling the seed post names). A plain VAE decodes the points of the
control variant (params.yaml's ``evaluate.control``; the post's loss by default): the
same places, read without anchoring. A membership score (layouts.py) pulls each of k
clusters to a point of its own: :class:`Layout`, read as the cluster's majority digit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol

import torch

from anchorvae.digits import ANCHORED_DIGITS, N_DIGITS, ONE, ZERO
from anchorvae.method.layouts import MEMBERSHIP_POINTS, layout_directions
from anchorvae.method.loss import anchor_shift


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
        directions = anchor_directions(variant, latent_dims, scores.shape[1])
        return anchor_points(scores, labels, directions, variant.anchor_rate)
    if variant.conditional:
        return torch.zeros(N_DIGITS, latent_dims, dtype=torch.float64)
    return None


def anchor_directions(variant: Anchoring, latent_dims: int, columns: int = 0) -> torch.Tensor:
    """(S, D) latent direction of each anchor score's column, in params.yaml's order: a
    list as given, one number c as c (1, ..., 1) (so that it fits any latent size), a
    layout name as the directions of a membership score's ``columns`` points."""
    rows = []
    for direction in variant.anchors.values():
        if isinstance(direction, str):
            rows += layout_directions(direction, columns, latent_dims)
        else:
            rows.append(direction if isinstance(direction, list) else [direction] * latent_dims)
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), latent_dims)


def score_columns(variant: Anchoring, points_of: Callable[[str], int]) -> int:
    """The columns of a variant's scores: one per score, ``points_of(score)`` for a
    membership score's (params.yaml's clusters.k, or 10)."""
    return sum(points_of(s) if s in MEMBERSHIP_POINTS else 1 for s in variant.anchors)


def layout_of(variant: Anchoring) -> str | None:
    """The layout of a variant's membership score (its only anchor), None without one."""
    return next((d for d in variant.anchors.values() if isinstance(d, str)), None)


class Layout(NamedTuple):
    """The k points a variant's evaluation reads, each as the digit it should draw."""

    points: torch.Tensor  # (k, D)
    digits: torch.Tensor  # (k,) the digit each point stands for (-1: a cluster with no image)
    accuracy: float | None  # the clusters' Hungarian-matched accuracy on the training images


def layout_points(
    memberships: torch.Tensor, labels: torch.Tensor, directions: torch.Tensor, rate: float
) -> Layout:
    """The k points of a membership score (N, k) laid out by ``directions`` (k, D): where
    the loss pulls each cluster's images on average (rate * u_k when memberships are
    one-hot), each named by its cluster's majority digit, read off the ``labels`` here
    and nowhere in training; and the clusters' matched accuracy."""
    from scipy.optimize import linear_sum_assignment

    k = memberships.shape[1]
    assigned = memberships.argmax(dim=1)
    counts = torch.zeros(k, N_DIGITS, dtype=torch.float64)
    counts.index_put_((assigned, labels.long()), torch.ones(len(labels), dtype=torch.float64),
                      accumulate=True)  # fmt: skip
    shift = anchor_shift(memberships.double(), directions.double(), rate)  # (N, D)
    # a cluster no image is most a member of: its layout point itself, rate * u_c
    points = -torch.stack([shift[assigned == c].mean(dim=0) if (assigned == c).any()
                           else rate * directions[c].double() for c in range(k)])  # fmt: skip
    digits = torch.where(counts.sum(dim=1) > 0, counts.argmax(dim=1), -1)
    rows, cols = linear_sum_assignment(-counts.numpy())
    accuracy = float(counts.numpy()[rows, cols].sum() / max(len(labels), 1))
    return Layout(points, digits, accuracy)


def own_layout(
    variant: Anchoring, scores: torch.Tensor, labels: torch.Tensor, latent_dims: int
) -> Layout | None:
    """The points of a variant with a membership score; a CVAE's ten: the prior's centre,
    each with its label's digit; None otherwise (a plain VAE reads the control's)."""
    if has_anchors(variant) and layout_of(variant):
        directions = anchor_directions(variant, latent_dims, scores.shape[1])
        return layout_points(scores, labels, directions, variant.anchor_rate)
    if variant.conditional:
        return Layout(torch.zeros(N_DIGITS, latent_dims, dtype=torch.float64),
                      torch.arange(N_DIGITS), None)  # fmt: skip
    return None


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
