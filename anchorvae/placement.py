"""Where digits land in a latent space: orthant fractions, centroids, decoded-grid purity.

Convention, as in the seed post's figures: the first latent dimension runs down the
rows, the second across the columns, so the all-negative corner is the upper left of a
decoded grid (0s are meant to go there) and the all-positive one the bottom right (1s).
"""

from __future__ import annotations

import math

import torch

ZERO, ONE = 0, 1  # the digits that are anchored
N_DIGITS = 10


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
