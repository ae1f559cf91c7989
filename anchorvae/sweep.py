"""The anchor_rate sweep: which DVC experiments to queue, and how to read them back."""

from __future__ import annotations

import math

import pandas as pd

from anchorvae.plots import plt
from anchorvae.study import markdown_table

PREFIX = "sweep-"  # every experiment this module queues is named PREFIX...
RATE_PARAM = "variants.anchored.anchor_rate"
KIND_PARAM = "templates.kind"
# What the report keeps of each variant's metrics/details.json: the placed count with its
# interval, corner shares as median and range (shares stay within 0..1), costs as mean+sd.
REPORTED = {
    "placed_rate": None, "placed_count": None, "placed_ci_low": None, "placed_ci_high": None,
    "n_seeds": None,
    "zeros_in_corner": ("median", "min", "max", "mean"),
    "ones_in_corner": ("median", "min", "max", "mean"),
    "test_recon": ("mean", "std"),
    "test_kl": ("mean", "std"),
}  # fmt: skip


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
            for key, stats in REPORTED.items():
                for stat in stats or (None,):
                    column = f"{variant}.{key}" + (f".{stat}" if stat else "")
                    record[column] = _metric(row, variant, key, stat)
        if math.isnan(record["anchored.placed_rate"]) and record["state"] == "Success":
            record["state"] = "Failed"  # ran, but left no summary
        records.append(record)
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return table
    class_mean_last = table["templates"].eq("class_mean")  # the ablation after the rates
    order = table.assign(_last=class_mean_last).sort_values(["_last", "anchor_rate"]).index
    return table.loc[order].reset_index(drop=True)


CLASS_MEAN_OFFSET = 1.25  # the class-mean point is drawn at its rate x this, beside it


def _panel(ax: plt.Axes, rows: pd.DataFrame, key: str, x: pd.Series, **style) -> None:
    """One metric at each rate: the point and its spread (interval, range or sd)."""
    centre, low, high = spread_of(rows, "anchored", key)
    ax.errorbar(x, centre, yerr=[centre - low, high - centre], capsize=3, **style)


def spread_of(rows: pd.DataFrame | pd.Series, variant: str, key: str) -> tuple:
    """(centre, low, high) of a metric, per row of a table or for one row: placed rate
    with its 95 % Clopper-Pearson interval, corner shares as median with min..max over
    seeds, costs as mean +- sd."""
    col = f"{variant}.{key}"
    if key == "placed_rate":
        return rows[col], rows[f"{variant}.placed_ci_low"], rows[f"{variant}.placed_ci_high"]
    if key in SHARES:
        return rows[f"{col}.median"], rows[f"{col}.min"], rows[f"{col}.max"]
    mean, sd = rows[f"{col}.mean"], rows[f"{col}.std"]
    return mean, mean - sd, mean + sd


PANELS = [
    ("placed_rate", "seeds placed (95 % Clopper-Pearson interval)"),
    ("zeros_in_corner", "0s in the (−,−) corner (median, min..max)"),
    ("ones_in_corner", "1s in the (+,+) corner (median, min..max)"),
    ("test_recon", "test reconstruction SSE per image (mean ± sd)"),
    ("test_kl", "test KL per image, nats (mean ± sd)"),
]
SHARES = ("zeros_in_corner", "ones_in_corner")  # shares of a seed's digits, 0..1


def sweep_figure(table: pd.DataFrame) -> plt.Figure:
    """Each metric against anchor_rate (log axis): the post's templates as a line, the
    class-mean templates as a star beside their rate, the baseline as a band (its spread)
    around a dashed line; failed experiments are named in the title."""
    ok = table[table["state"] == "Success"]
    post = ok[ok["templates"] != "class_mean"]
    class_mean = ok[ok["templates"] == "class_mean"]
    fig, grid = plt.subplots(2, 3, figsize=(13, 7.5))
    axes, legend_ax = grid.flat[: len(PANELS)], grid.flat[len(PANELS)]
    for ax, (key, label) in zip(axes, PANELS, strict=True):
        if not ok.empty:
            centre, low, high = (v.iloc[0] for v in spread_of(ok, "baseline", key))
            ax.axhspan(low, high, color="0.85", lw=0, label="baseline (anchor_rate 0), spread")
            ax.axhline(centre, color="0.4", ls="--", label="baseline, centre")
        _panel(ax, post, key, post["anchor_rate"], marker="o", color="C0",
               label="anchored, the post's donut and stick")  # fmt: skip
        if not class_mean.empty:
            _panel(ax, class_mean, key, class_mean["anchor_rate"] * CLASS_MEAN_OFFSET,
                   marker="*", ms=12, ls="", color="C3",
                   label="anchored, class-mean templates (drawn beside their rate)")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xlabel("anchor_rate (log scale)")
        ax.set_title(label, fontsize=10)
        if key == "placed_rate" or key in SHARES:
            ax.set_ylim(0, 1.03)
    legend_ax.axis("off")
    legend_ax.legend(*axes[0].get_legend_handles_labels(), loc="center", fontsize=9)
    failed = table.loc[table["state"] != "Success", "experiment"].tolist()
    seeds = ok["anchored.n_seeds"].max() if not ok.empty else math.nan
    title = f"How strong must anchoring be? {seeds:.0f} seeds per point, against anchor_rate"
    fig.suptitle(title + (f"\nfailed: {', '.join(failed)}" if failed else ""))
    fig.tight_layout()
    return fig


def _sweep_cells(row: pd.Series, variant: str) -> list[str]:
    """Placed, corner shares and costs of one variant, each with the figure's spread."""
    _, low, high = spread_of(row, variant, "placed_rate")
    n, k = int(row[f"{variant}.n_seeds"]), int(row[f"{variant}.placed_count"])
    cells = [f"{k}/{n} ({low:.2f}–{high:.2f})"]
    for key in SHARES:
        median, low, high = spread_of(row, variant, key)
        cells.append(f"{median:.2f} [{low:.2f}, {high:.2f}]")
    for key in ("test_recon", "test_kl"):
        cells.append(f"{row[f'{variant}.{key}.mean']:.2f} ± {row[f'{variant}.{key}.std']:.2f}")
    return cells


def sweep_markdown(table: pd.DataFrame) -> str:
    """The README's sweep table: the baseline, then each successful experiment."""
    columns = ["anchor_rate", "templates", "placed (95 % CI)", "0s in (−,−): median [min, max]",
               "1s in (+,+): median [min, max]", "test SSE", "test KL"]  # fmt: skip
    ok = table[table["state"] == "Success"]
    rows = [["0 (baseline)", "–", *_sweep_cells(ok.iloc[0], "baseline")]] if len(ok) else []
    rows += [[f"{r['anchor_rate']:g}", r["templates"], *_sweep_cells(r, "anchored")]
             for _, r in ok.iterrows()]  # fmt: skip
    return markdown_table(columns, rows)
