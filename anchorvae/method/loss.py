"""The VAE loss and its anchoring: the one statement of the maths this project studies.

loss = sum of squared errors + KL(N(m(x), sigma^2) || N(0, I)), with the KL taken at an
input-dependent mean

    m(x) = mu(x) + anchor_rate * sum_k s_k(x) * d_k,

where each s_k is a per-image score (anchorvae/method/scores/) and d_k its latent direction
(params.yaml, ``variants.<name>.anchors``). The KL is smallest at mu = -rate * sum_k s_k d_k,
so an image with a positive score is pulled against d_k. The seed post's loss is one
score, donutness, along (1, ..., 1): round digits go to (-,-), sticks to (+,+).
``anchor_rate = 0`` (or no anchors) is the plain VAE loss. Training runs this module
through autograd; the scores live beside their maps in anchorvae/method/scores/.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class LossParts(NamedTuple):
    recon: torch.Tensor  # summed squared error over the batch, scalar
    kl: torch.Tensor  # summed KL over the batch, scalar
    total: torch.Tensor  # recon + kl, scalar


def anchor_shift(scores: torch.Tensor, directions: torch.Tensor, rate: float) -> torch.Tensor:
    """rate * sum_k s_k d_k: scores (..., S) and directions (S, D) -> (..., D)."""
    return rate * (scores @ directions)


def kl_to_standard_normal(
    mean: torch.Tensor, logvar: torch.Tensor, dim: int | None = None
) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) in closed form, summed over everything (a
    scalar) or, with ``dim``, over that dimension only (one per code).

    Kingma & Welling 2013, appendix B: -1/2 * sum(1 + logvar - mean^2 - exp(logvar)).
    """
    terms = 1 + logvar - mean.pow(2) - logvar.exp()
    return -0.5 * (terms.sum() if dim is None else terms.sum(dim))


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
