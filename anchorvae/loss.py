"""The VAE loss and its anchoring: the one statement of the maths this project studies.

loss = sum of squared errors + KL(N(m(x), sigma^2) || N(0, I)), with the KL taken at an
input-dependent mean

    m(x) = mu(x) + anchor_rate * sum_k s_k(x) * d_k,

where each s_k is a per-image score (:data:`SCORES`) and d_k its latent direction
(params.yaml, ``variants.<name>.anchors``). The KL is smallest at mu = -rate * sum_k s_k d_k,
so an image with a positive score is pulled against d_k. The seed post's loss is one
score, donutness, along (1, ..., 1): round digits go to (-,-), sticks to (+,+).
``anchor_rate = 0`` (or no anchors) is the plain VAE loss. Training runs this module
through autograd; adding a score is one entry in :data:`SCORES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch


class LossParts(NamedTuple):
    recon: torch.Tensor  # summed squared error over the batch, scalar
    kl: torch.Tensor  # summed KL over the batch, scalar
    total: torch.Tensor  # recon + kl, scalar


@dataclass(frozen=True)
class ScoreInputs:
    """What a score may read about the training images."""

    images: torch.Tensor  # (N, pixels) in [0, 1]
    labels: torch.Tensor  # (N,) digit of each image
    templates: Mapping[str, torch.Tensor]  # map name -> (pixels,), from the templates stage


def donutness(x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """x (N, pixels) -> (N,): (x.donut - x.stick) / sum(x); 0 for an all-black image.

    ``direction`` is (donut - stick) flattened: one product gives both overlaps.
    """
    ink = x.sum(dim=-1)  # (N,)
    overlap = x @ direction  # (N,)
    return torch.where(ink > 0, overlap / ink.clamp_min(torch.finfo(x.dtype).tiny), 0.0)


def donutness_score(inputs: ScoreInputs) -> torch.Tensor:
    """The seed post's score: overlap with the donut map minus overlap with the stick."""
    direction = inputs.templates["donut"] - inputs.templates["stick"]  # (pixels,)
    return donutness(inputs.images, direction.to(inputs.images.dtype))


def sevenness_score(inputs: ScoreInputs) -> torch.Tensor:
    """A second axis: overlap with the mean 7 minus overlap with the mean 6, over the ink.

    Of all pairs of class means among the digits 2-9, this one spreads those digits the
    most relative to their own spread, and it scores 0s and 1s near the others' mean, so
    it leaves the donutness axis alone (data/templates/scores_by_digit.csv has the numbers).
    """
    direction = inputs.templates["seven"] - inputs.templates["six"]  # (pixels,)
    return donutness(inputs.images, direction.to(inputs.images.dtype))


def label_score(inputs: ScoreInputs) -> torch.Tensor:
    """The reference no template can beat: +1 for a 0, -1 for a 1, 0 for other digits."""
    labels = inputs.labels
    score = (labels == 0).to(inputs.images.dtype) - (labels == 1).to(inputs.images.dtype)
    return score  # (N,)


# name -> score function (ScoreInputs -> (N,)); params.yaml names them under `anchors`.
SCORES: dict[str, Callable[[ScoreInputs], torch.Tensor]] = {
    "donutness": donutness_score,
    "sevenness": sevenness_score,
    "label": label_score,
}


def anchor_scores(names: list[str], inputs: ScoreInputs) -> torch.Tensor:
    """(N, len(names)): the named scores of every image, in the order given."""
    columns = [SCORES[name](inputs) for name in names]
    return (
        torch.stack(columns, dim=-1) if columns else inputs.images.new_zeros(len(inputs.images), 0)
    )


def anchor_shift(scores: torch.Tensor, directions: torch.Tensor, rate: float) -> torch.Tensor:
    """rate * sum_k s_k d_k: scores (..., S) and directions (S, D) -> (..., D)."""
    return rate * (scores @ directions)


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Summed KL(N(mean, exp(logvar)) || N(0, I)) in closed form.

    Kingma & Welling 2013, appendix B: -1/2 * sum(1 + logvar - mean^2 - exp(logvar)).
    """
    return -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())


def vae_loss(
    recon: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    shift: torch.Tensor,
) -> LossParts:
    """Loss of one batch; ``shift`` (B, latent_dims) is :func:`anchor_shift` of its scores."""
    sse = torch.sum((recon - x).pow(2))
    kl = kl_to_standard_normal(mu + shift, logvar)  # the KL at m(x) = mu(x) + shift(x)
    return LossParts(sse, kl, sse + kl)
