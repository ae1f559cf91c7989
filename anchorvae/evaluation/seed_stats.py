"""The statistics a variant's seeds are summarised by (scipy): a count's exact
(Clopper-Pearson) 95 % interval, directions' mean resultant length with the Rayleigh test
of "they are uniformly random" (Mardia & Jupp 2000, section 10.4.1), and how consistently
every digit sits in the same place across seeds, beside chance.
"""

from __future__ import annotations

import statistics

import numpy as np
import torch
from scipy import stats

from anchorvae.digits import N_DIGITS, ONE, ZERO

CONFIDENCE = 0.95
CHANCE_DRAWS = 20_000  # simulated retrains for the chance level of the stability
CHANCE_SEED = 0
OTHER_DIGITS = [d for d in range(N_DIGITS) if d not in (ZERO, ONE)]


def exact_interval(count: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95 % confidence interval of a rate ``count`` / ``n``."""
    ci = stats.binomtest(count, n).proportion_ci(CONFIDENCE, method="exact")
    return ci.low, ci.high


def unit_vectors(vectors: torch.Tensor) -> torch.Tensor:
    """(..., D) scaled to length 1; a zero vector stays zero (it points nowhere)."""
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def mean_resultant_length(vectors: torch.Tensor) -> float:
    """|mean of unit vectors|: 1 when all (n, D) vectors point the same way, ~0 when spread."""
    return unit_vectors(vectors).mean(dim=0).norm().item()


def chance_resultant_length(n: int, dims: int) -> float:
    """Expected mean resultant length of ``n`` uniformly random directions in ``dims`` D.

    A seeded simulation (isotropic Gaussians normalised are uniform on the sphere), so
    the number is the same on every run.
    """
    g = torch.Generator().manual_seed(CHANCE_SEED)
    draws = torch.randn(CHANCE_DRAWS, n, dims, generator=g, dtype=torch.float64)
    return unit_vectors(draws).mean(dim=1).norm(dim=1).mean().item()


def rayleigh_p_value(vectors: torch.Tensor) -> float:
    """p-value of the Rayleigh test that (n, D) directions are uniform on the sphere."""
    n, dims = vectors.shape
    return rayleigh_p(mean_resultant_length(vectors), n, dims)


def rayleigh_p(resultant_length: float, n: int, dims: int) -> float:
    """The Rayleigh test's p from the mean resultant length of ``n`` directions in D.

    S = D n R^2 is chi-squared with D degrees of freedom under uniformity; the modified
    statistic S (1 - 1/(2n)) + S^2 / (2n (D + 2)) makes that hold to O(1/n^2), so the
    test is usable from a handful of seeds (Mardia & Jupp 2000, eq. 10.4.6).
    """
    s = dims * n * resultant_length**2
    modified = s * (1 - 1 / (2 * n)) + s**2 / (2 * n * (dims + 2))
    return float(stats.chi2.sf(modified, dims))


def side_of_axis(centroids: torch.Tensor) -> torch.Tensor:
    """(n, 10, 2) centroids -> (n, 10) +1/-1/0: the side of the line from the 0s'
    centroid to the 1s' centroid that each digit's centroid lies on (2-D cross product)."""
    axis = centroids[:, ONE] - centroids[:, ZERO]  # (n, 2)
    offset = centroids - centroids[:, ZERO : ZERO + 1]  # (n, 10, 2)
    cross = axis[:, None, 0] * offset[..., 1] - axis[:, None, 1] * offset[..., 0]
    return torch.sign(cross)


def majority_share(signs: torch.Tensor) -> float:
    """Share of the (n,) signs that agree with the more common of +1 and -1."""
    positive = (signs > 0).sum().item()
    return max(positive, len(signs) - positive) / len(signs)


def chance_majority_share(n: int) -> float:
    """E[max(B, n - B)] / n for B ~ Binomial(n, 1/2): the majority share of coin flips."""
    k = np.arange(n + 1)
    return float((stats.binom.pmf(k, n, 0.5) * np.maximum(k, n - k)).sum() / n)


def arrangement(centroids: torch.Tensor) -> dict:
    """How consistently each digit sits in the same place across seeds.

    ``centroids`` (n seeds, 10, D). Per digit: the mean resultant length of its centroid's
    direction from the origin (1 = the same direction every time) and, in 2-D, the share
    of seeds in which it lies on the majority side of the 0s-to-1s line. Whole
    arrangement: the means of these over the digits, beside their chance levels.
    """
    n, _, dims = centroids.shape
    per_digit = [mean_resultant_length(centroids[:, d]) for d in range(N_DIGITS)]
    result = {
        "digit_stability": {str(d): v for d, v in enumerate(per_digit)},
        "arrangement_stability": statistics.fmean(per_digit),
        "stability_by_chance": chance_resultant_length(n, dims),
    }
    if dims == 2:
        sides = side_of_axis(centroids)  # (n, 10)
        shares = {str(d): majority_share(sides[:, d]) for d in OTHER_DIGITS}
        result["digit_side_share"] = shares
        result["side_consistency"] = statistics.fmean(shares.values())
        result["side_by_chance"] = chance_majority_share(n)
    return result
