"""Across seeds, per variant: how often and how consistently digits are placed."""

from __future__ import annotations

import math
import statistics

import torch

CHANCE_DRAWS = 20_000  # simulated retrains for the chance level of the stability
CHANCE_SEED = 0
SPREAD_KEYS = (
    "zeros_in_corner",
    "ones_in_corner",
    "grid_zero_purity",
    "grid_one_purity",
    "test_recon",
    "test_kl",
    "recon_accuracy",
)


def mean_resultant_length(vectors: torch.Tensor) -> float:
    """|mean of unit vectors|: 1 when all (n, D) vectors point the same way, ~0 when spread."""
    units = vectors / vectors.norm(dim=1, keepdim=True)
    return units.mean(dim=0).norm().item()


def chance_resultant_length(n: int, dims: int) -> float:
    """Expected mean resultant length of ``n`` uniformly random directions in ``dims`` D.

    A seeded simulation (isotropic Gaussians normalised are uniform on the sphere), so
    the number is the same on every run.
    """
    g = torch.Generator().manual_seed(CHANCE_SEED)
    draws = torch.randn(CHANCE_DRAWS, n, dims, generator=g, dtype=torch.float64)
    units = draws / draws.norm(dim=2, keepdim=True)
    return units.mean(dim=1).norm(dim=1).mean().item()


def _mean_and_std(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
    }


def summarize_variant(models: list[dict]) -> dict:
    """``models``: per seed, {"metrics": {...}, "centroids": (10, D) tensor}."""
    n = len(models)
    placed = sum(bool(m["metrics"]["placed"]) for m in models)
    summary = {"n_seeds": n, "placed_count": placed, "placed_rate": placed / n}
    for key in SPREAD_KEYS:
        values = [m["metrics"][key] for m in models if key in m["metrics"]]
        values = [v for v in values if not math.isnan(v)]
        if values:
            summary[key] = _mean_and_std(values)
    for digit, name in ((0, "zeros"), (1, "ones")):
        directions = torch.stack([m["centroids"][digit] for m in models])
        summary[f"{name}_stability"] = mean_resultant_length(directions)
    dims = models[0]["centroids"].shape[1]
    summary["stability_by_chance"] = chance_resultant_length(n, dims)
    return summary


def summarize(by_variant: dict[str, list[dict]]) -> dict:
    return {variant: summarize_variant(models) for variant, models in by_variant.items()}
