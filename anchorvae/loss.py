"""The VAE loss, plain and anchored.

loss = sum of squared errors + KL(N(m, sigma^2) || N(0, 1)), where
m = mu + anchor_rate * donutness(x). With anchor_rate = 0 this is the plain VAE loss;
otherwise the KL term is smallest when mu = -anchor_rate * donutness, so round images
(donutness > 0) are pulled towards negative codes and stick-like ones towards positive.

Training computes this loss and its gradient by hand (backprop.py); vae_loss here,
through autograd, is the reference that tests/test_backprop.py holds it to.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class LossParts(NamedTuple):
    recon: torch.Tensor  # summed squared error over the batch, scalar
    kl: torch.Tensor  # summed KL over the batch, scalar
    total: torch.Tensor  # recon + kl, scalar


def anchor_direction(donut: torch.Tensor, stick: torch.Tensor) -> torch.Tensor:
    """(donut - stick) flattened to (pixels,): one dot product gives both overlaps."""
    return (donut - stick).reshape(-1).float()


def donutness(x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """x (B, pixels) -> (B,): (x.donut - x.stick) / sum(x); 0 for an all-black image."""
    ink = x.sum(dim=-1)  # (B,)
    overlap = x @ direction  # (B,)
    return torch.where(ink > 0, overlap / ink.clamp_min(torch.finfo(x.dtype).tiny), 0.0)


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
    donut_score: torch.Tensor,
    anchor_rate: float,
) -> LossParts:
    """Loss of one batch; ``donut_score`` is (B,) from :func:`donutness` of ``x``."""
    sse = torch.sum((recon - x).pow(2))
    anchored_mu = mu + anchor_rate * donut_score.unsqueeze(-1)  # (B, latent_dims)
    kl = kl_to_standard_normal(anchored_mu, logvar)
    return LossParts(sse, kl, sse + kl)
