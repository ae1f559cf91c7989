"""Across seeds, per variant: every registered metric summarised by its kind (with its
interval or test, anchorvae/evaluation/kinds.py), and the headline numbers `dvc metrics` shows."""

from __future__ import annotations

import torch

from anchorvae.evaluation.metrics import METRICS, headline_paths


def summarize_variant(metrics: list[dict], centroids: torch.Tensor) -> dict:
    """``metrics``: per seed, the evaluation's scalar metrics; ``centroids`` (n, 10, D)."""
    summary = {"n_seeds": len(metrics)}
    for m in METRICS:
        summary.update(m.kind.summarise(m.key, metrics, centroids))
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
