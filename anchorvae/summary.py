"""Across seeds, per variant: how often digits are placed, and how much of the whole
arrangement repeats from retrain to retrain, with confidence intervals and chance levels.

Statistics (scipy): the placed count's exact (Clopper-Pearson) 95 % interval, and the
Rayleigh test of uniform directions (Mardia & Jupp 2000, section 10.4.1) for "the
direction from the 0s' centroid to the 1s' centroid is arbitrary".
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import torch
from scipy import stats

from anchorvae.metrics import headline_paths, per_model
from anchorvae.placement import N_DIGITS, ONE, ZERO

CHANCE_DRAWS = 20_000  # simulated retrains for the chance level of the stability
CHANCE_SEED = 0
CONFIDENCE = 0.95
OTHER_DIGITS = [d for d in range(N_DIGITS) if d not in (ZERO, ONE)]


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
    """p-value of the Rayleigh test that (n, D) directions are uniform on the sphere.

    S = D n R^2 is chi-squared with D degrees of freedom under uniformity; the modified
    statistic S (1 - 1/(2n)) + S^2 / (2n (D + 2)) makes that hold to O(1/n^2), so the
    test is usable from a handful of seeds (Mardia & Jupp 2000, eq. 10.4.6).
    """
    n, dims = vectors.shape
    s = dims * n * mean_resultant_length(vectors) ** 2
    modified = s * (1 - 1 / (2 * n)) + s**2 / (2 * n * (dims + 2))
    return float(stats.chi2.sf(modified, dims))


def placed_interval(placed: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95 % confidence interval of the placed rate."""
    ci = stats.binomtest(placed, n).proportion_ci(CONFIDENCE, method="exact")
    return ci.low, ci.high


def count_summary(key: str, metrics: list[dict]) -> dict:
    """How many seeds have ``key`` true: ``key``_count, _rate and its exact interval;
    nothing if a model lacks the metric (as for absent shares and spreads)."""
    if any(key not in m for m in metrics):
        return {}
    n = len(metrics)
    count = sum(bool(m[key]) for m in metrics)
    low, high = placed_interval(count, n)
    return {f"{key}_count": count, f"{key}_rate": count / n, f"{key}_ci_low": low,
            f"{key}_ci_high": high}  # fmt: skip


def share_summary(values: list[float]) -> dict[str, float]:
    """Corner shares across seeds: a mean hides the seed that fails, so quantiles too."""
    return {
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p5": float(np.percentile(values, 5)),
        "min": min(values),
        "max": max(values),
    }


def spread_summary(values: list[float]) -> dict[str, float]:
    """Mean, sd and minimum across seeds, and the mean's 95 % t-interval (the mean itself
    when the seeds agree or there is one)."""
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    low = high = mean
    if sd > 0:
        low, high = stats.t.interval(
            CONFIDENCE, len(values) - 1, mean, sd / math.sqrt(len(values))
        )
    return {
        "mean": mean,
        "std": sd,
        "min": min(values),
        "ci_low": float(low),
        "ci_high": float(high),
    }


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


def summarize_variant(metrics: list[dict], centroids: torch.Tensor) -> dict:
    """``metrics``: per seed, the evaluation's scalar metrics; ``centroids`` (n, 10, D)."""
    n = len(metrics)
    summary = {"n_seeds": n}
    reducers = {"share": share_summary, "spread": spread_summary}
    for metric in per_model():
        if metric.kind == "count":
            summary.update(count_summary(metric.key, metrics))
        elif metric.kind in reducers:
            key = metric.key
            values = [m[key] for m in metrics if key in m and not math.isnan(m[key])]
            if values:
                summary[key] = reducers[metric.kind](values)
    summary["zeros_stability"] = mean_resultant_length(centroids[:, ZERO])
    summary["ones_stability"] = mean_resultant_length(centroids[:, ONE])
    axis = centroids[:, ONE] - centroids[:, ZERO]  # (n, D) 0s' centroid -> 1s' centroid
    summary["axis_stability"] = mean_resultant_length(axis)
    summary["axis_rayleigh_p"] = rayleigh_p_value(axis)
    summary.update(arrangement(centroids))
    return summary


HEADLINE_DIGITS = 3  # full precision stays in the details


def headline(summary: dict) -> dict[str, float]:
    """metrics/variants/<variant>.json, what `dvc metrics show` prints: the registry's
    headline numbers of one variant's summary, rounded; the whole summary goes to
    metrics/details.json."""
    picked = {}
    for name, path in headline_paths().items():
        value = summary
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:  # absent for this variant (e.g. no anchor points to decode)
            picked[name] = round(value, HEADLINE_DIGITS)
    return picked


def summarize(by_variant: dict[str, tuple[list[dict], torch.Tensor]]) -> dict:
    """variant -> (per-seed metrics, (n, 10, D) centroids) => variant -> summary."""
    return {name: summarize_variant(*models) for name, models in by_variant.items()}
