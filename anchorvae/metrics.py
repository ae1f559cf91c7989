"""The one registry of reported metrics: every table, report and headline file reads it.

A metric is a per-model number that the evaluation writes (kinds ``count``, ``share``,
``spread``), or a statistic of a variant's seeds taken together (``axis``,
``arrangement``, computed in anchorvae/summary.py). Its kind says how it is summarised
across seeds, which number stands for it in a headline, and how a table cell reads.
Adding a metric is the evaluation's code plus one entry in :data:`METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["count", "share", "spread", "axis", "arrangement"]
PER_MODEL: tuple[Kind, ...] = ("count", "share", "spread")


def count_keys(key: str) -> list[str]:
    """The summary keys of a count metric (seeds for which ``key`` is true), as a table
    keeps them: its rate, count, exact 95 % interval, and the number of seeds."""
    return [f"{key}_rate", f"{key}_count", f"{key}_ci_low", f"{key}_ci_high", "n_seeds"]


@dataclass(frozen=True)
class Metric:
    key: str  # per-model key in metrics.json, or the summary key of a seeds statistic
    name: str  # short label: table columns and rows
    kind: Kind
    title: str = ""  # a figure panel's title ("" = the name)
    headline: str | None = None  # its name in metrics/variants/<variant>.json, if any
    gap: bool = False  # compared with the label reference in the study's gap table
    shown: bool = False  # a column of the variant tables though not a headline (width)
    fmt: str = ".2f"  # how a cell writes its numbers


METRICS: tuple[Metric, ...] = (
    Metric("placed", "placed", "count", "seeds placed", headline="placed", gap=True),
    Metric("zeros_in_corner", "0s in (−,−)", "share", "0s in the (−,−) corner",
           headline="zeros", gap=True),
    Metric("ones_in_corner", "1s in (+,+)", "share", "1s in the (+,+) corner",
           headline="ones", gap=True),
    Metric("aligned", "aligned", "count", "seeds aligned along (1, …, 1)", gap=True,
           shown=True),
    Metric("zeros_on_side", "0s on − side", "share", "0s on the − side of (1, …, 1)",
           gap=True),
    Metric("ones_on_side", "1s on + side", "share", "1s on the + side of (1, …, 1)",
           gap=True),
    Metric("axis", "0→1 axis", "axis"),
    Metric("arrangement_stability", "arrangement", "arrangement", headline="arrangement",
           gap=True),
    Metric("grid_zero_purity", "decoded (−,−) quarter read as 0", "spread", gap=True),
    Metric("grid_one_purity", "decoded (+,+) quarter read as 1", "spread", gap=True),
    Metric("test_recon", "test SSE", "spread", "test reconstruction SSE per image",
           headline="sse"),
    Metric("test_kl", "test KL", "spread", "test KL per image, nats", headline="kl"),
    Metric("recon_accuracy", "reconstructions read as their digit", "spread"),
    Metric("anchor_point_read", "anchor points read as their digit", "spread", gap=True),
    Metric("anchor_decode", "anchor samples read as their digit", "spread",
           "samples around the 0s' and 1s' anchor points read as that digit", gap=True,
           shown=True),
)  # fmt: skip


def per_model() -> list[Metric]:
    """The metrics every evaluated model has, in the registry's order."""
    return [m for m in METRICS if m.kind in PER_MODEL]


def headlines() -> list[Metric]:
    return [m for m in METRICS if m.headline]


def headline_paths() -> dict[str, tuple[str, ...]]:
    """Headline file key -> where its number sits in a variant's summary."""
    paths: dict[str, tuple[str, ...]] = {}
    for m in headlines():
        if m.kind == "count":
            paths.update(
                {
                    m.headline: (f"{m.key}_count",),
                    "ci_low": (f"{m.key}_ci_low",),
                    "ci_high": (f"{m.key}_ci_high",),
                }  # fmt: skip
            )
        elif m.kind == "share":
            paths[m.headline] = (m.key, "median")
        elif m.kind == "spread":
            paths[m.headline] = (m.key, "mean")
        else:
            paths[m.headline] = (m.key,)
    return paths


def flat_columns(m: Metric) -> list[str]:
    """The flattened summary columns (``key.stat``) a sweep keeps of a per-model metric."""
    if m.kind == "count":
        return count_keys(m.key)
    stats = (
        ("median", "min", "max", "mean")
        if m.kind == "share"
        else ("mean", "std", "ci_low", "ci_high")
    )
    return [f"{m.key}.{stat}" for stat in stats]
