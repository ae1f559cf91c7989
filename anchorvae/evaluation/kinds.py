"""How a metric is summarised across seeds, by kind: one class per kind.

A kind knows the statistic it takes over a variant's seeds (with its interval or test),
the flat columns that statistic has in a table (``key.stat`` or ``key_stat``), the
number that stands for it in a headline, its table cell, and its centre and spread in a
figure. No other module tests a kind's name: a new kind is one class here.

The statistics themselves (intervals, tests, the arrangement) are in seed_stats.py; a
mean's t-interval is scipy's.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import torch
from scipy import stats

from anchorvae.digits import ONE, ZERO
from anchorvae.evaluation.seed_stats import (
    CONFIDENCE,
    arrangement,
    exact_interval,
    mean_resultant_length,
    rayleigh_p_value,
)


def _value(row: pd.Series, column: str) -> float:
    value = row.get(column, math.nan)
    return math.nan if value is None else float(value)


class Kind:
    """A kind of metric: a number each model has (the evaluation's), summarised over
    seeds, or a statistic of the seeds' centroids taken together."""

    bounded = False  # its numbers are shares, 0..1
    heading = "{}"  # a table's column heading, the metric's name in place of {}
    spread_label = ""  # what a figure's bar shows
    # the summary stats (``key.stat``) of (centre, low, high), for kinds summarised so
    spread_stats: tuple[str, str, str] | None = None
    gap_rows: tuple[tuple[str, str], ...] = ()  # (column suffix, label suffix) of a gap table

    def summarise(self, key: str, metrics: list[dict], centroids: torch.Tensor) -> dict:
        """The summary entries of metric ``key`` over seeds: per-seed ``metrics`` (the
        evaluation's scalars) and their (n, 10, D) ``centroids``; {} if it was not measured."""
        raise NotImplementedError

    def columns(self, key: str) -> list[str]:
        """The flat summary columns of the metric (the first one says whether it is there)."""
        raise NotImplementedError

    def headline(self, key: str, name: str) -> dict[str, tuple[str, ...]]:
        """Headline file key -> where its number sits in a variant's summary."""
        return {name: (key,)}

    def spread(self, row: pd.Series, key: str) -> tuple[float, float, float]:
        """(centre, low, high) of the metric in one row of a flat table."""
        if self.spread_stats:
            return tuple(_value(row, f"{key}.{stat}") for stat in self.spread_stats)
        centre = _value(row, self.columns(key)[0])
        return centre, centre, centre

    def cell(self, row: pd.Series, key: str, fmt: str, bounded: bool) -> str:
        """The metric as a table cell ("–" where the row lacks it)."""
        return f"{_value(row, self.columns(key)[0]):{fmt}}"

    def measured(self, row: pd.Series, key: str) -> bool:
        return not math.isnan(_value(row, self.columns(key)[0]))


class Count(Kind):
    """Seeds for which a per-model flag holds: the count, its rate and exact interval."""

    bounded = True
    heading = "{} (95 % CI)"
    spread_label = "95 % Clopper-Pearson interval"
    gap_rows = (("_rate", " rate"),)

    def summarise(self, key, metrics, centroids):
        if any(key not in m for m in metrics):
            return {}
        n = len(metrics)
        count = sum(bool(m[key]) for m in metrics)
        low, high = exact_interval(count, n)
        return {f"{key}_count": count, f"{key}_rate": count / n, f"{key}_ci_low": low,
                f"{key}_ci_high": high}  # fmt: skip

    def columns(self, key):
        return [f"{key}_rate", f"{key}_count", f"{key}_ci_low", f"{key}_ci_high", "n_seeds"]

    def headline(self, key, name):
        return {name: (f"{key}_count",), "ci_low": (f"{key}_ci_low",),
                "ci_high": (f"{key}_ci_high",)}  # fmt: skip

    def spread(self, row, key):
        return tuple(_value(row, f"{key}_{stat}") for stat in ("rate", "ci_low", "ci_high"))

    def cell(self, row, key, fmt, bounded):
        n, k = int(row["n_seeds"]), int(row[f"{key}_count"])
        return f"{k}/{n} ({row[f'{key}_ci_low']:{fmt}}–{row[f'{key}_ci_high']:{fmt}})"


class Share(Kind):
    """A per-model share of test images: quantiles across seeds, since a mean hides the
    seed that fails."""

    bounded = True
    heading = "{}: median [min, max]"
    spread_label = "median, min..max"
    spread_stats = ("median", "min", "max")
    gap_rows = ((".median", ", median"), (".p5", ", 5th percentile"))

    def summarise(self, key, metrics, centroids):
        values = _finite(key, metrics)
        if not values:
            return {}
        return {key: {"mean": statistics.fmean(values), "median": statistics.median(values),
                      "p5": float(np.percentile(values, 5)), "min": min(values),
                      "max": max(values)}}  # fmt: skip

    def columns(self, key):
        return [f"{key}.{stat}" for stat in ("median", "min", "max", "mean", "p5")]

    def headline(self, key, name):
        return {name: (key, "median")}

    def cell(self, row, key, fmt, bounded):
        centre, low, high = self.spread(row, key)
        return f"{centre:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


class Mean(Kind):
    """A per-model number (a cost, a share read by the classifier): the mean across seeds
    with its 95 % t-interval, and the seeds' sd."""

    heading = "{}: mean (95 % CI)"
    spread_label = "mean, 95 % t-interval"
    spread_stats = ("mean", "ci_low", "ci_high")
    gap_rows = ((".mean", ", mean"),)

    def summarise(self, key, metrics, centroids):
        values = _finite(key, metrics)
        if not values:
            return {}
        mean = statistics.fmean(values)
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        low = high = mean  # the mean itself when the seeds agree or there is one
        if sd > 0:
            low, high = stats.t.interval(CONFIDENCE, len(values) - 1, mean,
                                         sd / math.sqrt(len(values)))  # fmt: skip
        return {key: {"mean": mean, "std": sd, "min": min(values), "ci_low": float(low),
                      "ci_high": float(high)}}  # fmt: skip

    def columns(self, key):
        return [f"{key}.{stat}" for stat in ("mean", "std", "ci_low", "ci_high")]

    def headline(self, key, name):
        return {name: (key, "mean")}

    def cell(self, row, key, fmt, bounded):
        centre, low, high = self.spread(row, key)
        if bounded:  # with few seeds the t-interval of a spread-out share can pass 0 or 1
            low, high = max(0.0, low), min(1.0, high)
        return f"{centre:{fmt}} ({low:{fmt}}–{high:{fmt}})"


class Axis(Kind):
    """The direction from the 0s' centroid to the 1s': how much it repeats over seeds (its
    mean resultant length), with the Rayleigh test of "it is uniformly random"."""

    bounded = True
    heading = "{}: stability, Rayleigh p"

    def summarise(self, key, metrics, centroids):
        axis = centroids[:, ONE] - centroids[:, ZERO]  # (n, D)
        return {
            "zeros_stability": mean_resultant_length(centroids[:, ZERO]),
            "ones_stability": mean_resultant_length(centroids[:, ONE]),
            "axis_stability": mean_resultant_length(axis),
            "axis_rayleigh_p": rayleigh_p_value(axis),
        }

    def columns(self, key):
        return ["axis_stability", "axis_rayleigh_p"]

    def cell(self, row, key, fmt, bounded):
        p = _value(row, "axis_rayleigh_p")
        shown = "< 0.0001" if p < 0.0001 else f"= {p:.4f}" if p < 0.01 else f"= {p:.2f}"
        return f"{_value(row, 'axis_stability'):{fmt}}, p {shown}"


class Arrangement(Kind):
    """How consistently every digit sits in the same place across seeds, beside chance."""

    bounded = True
    heading = "{} (chance)"
    gap_rows = (("", " stability"),)

    def summarise(self, key, metrics, centroids):
        return arrangement(centroids)

    def columns(self, key):
        return [key, "stability_by_chance"]

    def cell(self, row, key, fmt, bounded):
        return f"{_value(row, key):{fmt}} ({_value(row, 'stability_by_chance'):{fmt}})"


COUNT, SHARE, MEAN, AXIS, ARRANGEMENT = Count(), Share(), Mean(), Axis(), Arrangement()


def _finite(key: str, metrics: list[dict]) -> list[float]:
    """The seeds' values of ``key`` (NaN where a test set lacks a digit: left out)."""
    return [m[key] for m in metrics if key in m and not math.isnan(m[key])]
