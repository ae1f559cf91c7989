"""The anchor_rate sweep: which DVC experiments to queue, and how to read them back."""

from __future__ import annotations

import math

import pandas as pd

from anchorvae.plots import plt

PREFIX = "sweep-"  # every experiment this module queues is named PREFIX...
RATE_PARAM = "variants.anchored.anchor_rate"
KIND_PARAM = "templates.kind"
REPORTED = ("placed_rate", "zeros_in_corner", "ones_in_corner", "test_recon", "test_kl")


def experiment_name(rate: float | None = None) -> str:
    """``sweep-rate-0.25`` for a rate; ``sweep-class-mean`` for the template ablation."""
    return f"{PREFIX}class-mean" if rate is None else f"{PREFIX}rate-{rate:g}"


def planned_experiments(rates: list[float]) -> list[tuple[str, list[str]]]:
    """(name, `-S` overrides) for each rate, then class-mean templates at the default rate."""
    planned = [(experiment_name(r), [f"{RATE_PARAM}={r:g}"]) for r in rates]
    planned.append((experiment_name(None), [f"{KIND_PARAM}=class_mean"]))
    return planned


def _metric(row: dict, variant: str, key: str, stat: str | None = None) -> float:
    """A summary metric from a flat `dvc.api.exp_show` row, NaN if absent."""
    name = f"{variant}.{key}" + (f".{stat}" if stat else "")
    value = row.get(name)
    return math.nan if value is None or value == "-" else float(value)


def sweep_table(exp_rows: list[dict]) -> pd.DataFrame:
    """One row per sweep experiment (anchored metrics) plus the baseline's metrics."""
    records = []
    for row in exp_rows:
        name = row.get("Experiment") or ""
        if not name.startswith(PREFIX):
            continue
        record = {
            "experiment": name,
            "state": row.get("State") or "Success",
            "anchor_rate": float(row.get(RATE_PARAM, math.nan)),
            "templates": row.get(KIND_PARAM, ""),
        }
        for variant in ("anchored", "baseline"):
            for key in REPORTED:
                if key == "placed_rate":
                    record[f"{variant}.{key}"] = _metric(row, variant, key)
                    continue
                for stat in ("mean", "std"):
                    record[f"{variant}.{key}.{stat}"] = _metric(row, variant, key, stat)
        if math.isnan(record["anchored.placed_rate"]) and record["state"] == "Success":
            record["state"] = "Failed"  # ran, but left no summary
        records.append(record)
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return table
    return table.sort_values(["templates", "anchor_rate"], ignore_index=True)


PANELS = [
    ("placed_rate", "placed rate (share of seeds)", False),
    ("zeros_in_corner", "0s in the (−,−) corner", True),
    ("ones_in_corner", "1s in the (+,+) corner", True),
    ("test_recon", "test reconstruction SSE per image", True),
    ("test_kl", "test KL per image (nats)", True),
]


SHARES = ("placed_rate", "zeros_in_corner", "ones_in_corner")  # panels drawn on 0..1


def sweep_figure(table: pd.DataFrame) -> plt.Figure:
    """Each metric against anchor_rate (log axis): seed-template line, class-mean marker,
    baseline as a horizontal reference line; failed experiments listed in the title."""
    ok = table[table["state"] == "Success"]
    seed = ok[ok["templates"] != "class_mean"]  # the post's templates ("seed" before)
    class_mean = ok[ok["templates"] == "class_mean"]
    fig, grid = plt.subplots(2, 3, figsize=(13, 7.5))
    axes, legend_ax = grid.flat[: len(PANELS)], grid.flat[len(PANELS)]
    for ax, (key, label, has_spread) in zip(axes, PANELS, strict=True):
        column = f"anchored.{key}" + (".mean" if has_spread else "")
        spread = seed.get(f"anchored.{key}.std") if has_spread else None
        ax.errorbar(seed["anchor_rate"], seed[column], yerr=spread, marker="o", capsize=3,
                    label="anchored, seed templates (mean ± sd over seeds)")  # fmt: skip
        if not class_mean.empty:
            ax.plot(class_mean["anchor_rate"], class_mean[column], marker="*", ms=14, ls="",
                    color="C3", label="anchored, class-mean templates")  # fmt: skip
        baseline = ok[f"baseline.{key}" + (".mean" if has_spread else "")].median()
        ax.axhline(baseline, color="0.4", ls="--", label="baseline (anchor_rate 0)")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("anchor_rate (log scale)")
        ax.set_title(label, fontsize=10)
        if key in SHARES:
            ax.set_ylim(0, 1.05)
    legend_ax.axis("off")
    legend_ax.legend(*axes[0].get_legend_handles_labels(), loc="center", fontsize=9)
    failed = table.loc[table["state"] != "Success", "experiment"].tolist()
    title = "How strong must anchoring be? Metrics over seeds against anchor_rate"
    fig.suptitle(title + (f"\nfailed: {', '.join(failed)}" if failed else ""))
    fig.tight_layout()
    return fig
