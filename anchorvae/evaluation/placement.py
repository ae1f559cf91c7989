"""Where digits land in a latent space: orthant fractions, centroids, decoded-grid purity.

Two readings of "0s and 1s in their corners", which agree in spirit in 2-D and part
ways as the latent space grows:

- *placed* (the seed post's): the 0s' centroid in the all-negative orthant and the 1s'
  in the all-positive one. Every one of D coordinates must have the right sign, so by
  chance a centroid lands in a given orthant 2^-D of the time.
- *aligned* (along the anchor direction): the 0s' centroid on the negative side of the
  hyperplane through the origin normal to the post's direction (1, ..., 1), the 1s' on
  the positive side. It asks only what the anchored loss pulls on (the KL is shifted
  along that direction alone), so its chance level is 1/2 per digit in any D.

Convention, as in the seed post's figures: the first latent dimension runs down the
rows, the second across the columns, so the all-negative corner is the upper left of a
decoded grid (0s are meant to go there) and the all-positive one the bottom right (1s).
"""

from __future__ import annotations

import math

import torch

from anchorvae.digits import N_DIGITS, ONE, ZERO


def in_negative_orthant(z: torch.Tensor) -> torch.Tensor:
    """(N, D) -> (N,) bool: every coordinate < 0."""
    return (z < 0).all(dim=-1)


def in_positive_orthant(z: torch.Tensor) -> torch.Tensor:
    """(N, D) -> (N,) bool: every coordinate > 0."""
    return (z > 0).all(dim=-1)


def corner_fractions(means: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Share of 0s in the all-negative orthant and of 1s in the all-positive one."""
    zeros, ones = means[labels == ZERO], means[labels == ONE]
    return {
        "zeros_in_corner": _mean_or_nan(in_negative_orthant(zeros)),
        "ones_in_corner": _mean_or_nan(in_positive_orthant(ones)),
    }


def _mean_or_nan(flags: torch.Tensor) -> float:
    return flags.float().mean().item() if len(flags) else math.nan


def diagonal(dims: int) -> torch.Tensor:
    """(D,) the post's anchor direction (1, ..., 1), scaled to length 1."""
    return torch.ones(dims) / math.sqrt(dims)


def side_fractions(means: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Share of 0s with a negative and of 1s with a positive projection on (1, ..., 1)."""
    along = means @ diagonal(means.shape[-1]).to(means)  # (N,)
    zeros, ones = along[labels == ZERO], along[labels == ONE]
    return {"zeros_on_side": _mean_or_nan(zeros < 0), "ones_on_side": _mean_or_nan(ones > 0)}


def is_aligned(centroids: torch.Tensor) -> bool:
    """True when the 0s' centroid projects negatively on (1, ..., 1), the 1s' positively."""
    along = centroids @ diagonal(centroids.shape[-1]).to(centroids)  # (10,)
    return bool(along[ZERO] < 0 and along[ONE] > 0)


def digit_centroids(means: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N_DIGITS, D) mean code of each digit; NaN rows for digits that are absent."""
    rows = [
        means[labels == d].mean(dim=0)
        if (labels == d).any()
        else means.new_full(means.shape[1:], math.nan)
        for d in range(N_DIGITS)
    ]
    return torch.stack(rows)


def is_placed(centroids: torch.Tensor) -> bool:
    """True when the 0s' centroid is all-negative and the 1s' centroid all-positive."""
    return bool(in_negative_orthant(centroids[ZERO]) and in_positive_orthant(centroids[ONE]))


def normal_grid(n: int, latent_dims: int = 2) -> torch.Tensor:
    """(n, n, 2) codes at standard-normal quantiles 0.05..0.95; [i, j] = (q[i], q[j])."""
    if latent_dims != 2:
        raise ValueError("a decoded grid needs latent_dims = 2")
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, n))  # (n,)
    rows, cols = torch.meshgrid(q, q, indexing="ij")
    return torch.stack([rows, cols], dim=-1)


def grid_purity(grid: torch.Tensor, predicted: torch.Tensor) -> dict[str, float]:
    """Share of the (-,-) quarter's cells predicted 0 and of the (+,+) quarter's predicted 1.

    ``grid`` is (n, n, 2) codes, ``predicted`` (n, n) digit labels of the decoded cells.
    Cells on a zero row or column belong to neither quarter.
    """
    flat = grid.reshape(-1, 2)
    labels = predicted.reshape(-1)
    negative, positive = in_negative_orthant(flat), in_positive_orthant(flat)
    return {
        "grid_zero_purity": _mean_or_nan(labels[negative] == ZERO),
        "grid_one_purity": _mean_or_nan(labels[positive] == ONE),
    }
