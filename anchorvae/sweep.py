"""The anchor_rate sweep: which DVC experiments to queue, and how to read them back."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd

from anchorvae.metrics import Metric, flat_columns, headlines
from anchorvae.plots import plt
from anchorvae.study import HEADINGS, markdown_table

PREFIX = "sweep-"  # every experiment this module queues is named PREFIX...
RATE_PARAM = "variants.anchored.anchor_rate"
KIND_PARAM = "templates.kind"


def reported() -> list[Metric]:
    """The registry's per-model headline metrics: what a sweep reports at each rate (its
    placed count with the interval, shares as median and range, costs as mean and sd)."""
    return [m for m in headlines() if m.kind in ("count", "share", "spread")]


def experiment_name(rate: float | None = None) -> str:
    """``sweep-rate-0.25`` for a rate; ``sweep-class-mean`` for the template ablation."""
    # repr: the shortest text that reads back as the same float, so no two rates share a
    # name (``:g`` keeps 6 digits: 0.1234561 and 0.1234562 would both be 0.123456)
    return f"{PREFIX}class-mean" if rate is None else f"{PREFIX}rate-{_shortest(rate)}"


def _shortest(rate: float) -> str:
    text = repr(float(rate))
    return text[:-2] if text.endswith(".0") else text


def planned_experiments(rates: list[float]) -> list[tuple[str, list[str]]]:
    """(name, `-S` overrides) for each rate, then class-mean templates at the default rate."""
    planned = [(experiment_name(r), [f"{RATE_PARAM}={_shortest(r)}"]) for r in rates]
    planned.append((experiment_name(None), [f"{KIND_PARAM}=class_mean"]))
    return planned


def number(value) -> float:
    """A value of a flat `dvc.api.exp_show` row as a float, NaN where it is absent."""
    return math.nan if value is None or value == "-" else float(value)


def named_rows(exp_rows: list[dict], prefix: str) -> Iterator[tuple[dict, dict]]:
    """(row, its experiment's name and state) for each `dvc.api.exp_show` row of an
    experiment named ``prefix``..."""
    for row in exp_rows:
        name = row.get("Experiment") or ""
        if name.startswith(prefix):
            yield row, {"experiment": name, "state": row.get("State") or "Success"}


def sweep_table(exp_rows: list[dict]) -> pd.DataFrame:
    """One row per sweep experiment (anchored metrics) plus the baseline's metrics."""
    records = []
    for row, named in named_rows(exp_rows, PREFIX):
        record = {
            **named,
            "anchor_rate": float(row.get(RATE_PARAM, math.nan)),
            "templates": row.get(KIND_PARAM, ""),
        }
        for variant in ("anchored", "baseline"):
            for metric in reported():
                for column in flat_columns(metric):
                    record[f"{variant}.{column}"] = number(row.get(f"{variant}.{column}"))
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


def _panel(ax: plt.Axes, rows: pd.DataFrame, m: Metric, x: pd.Series, **style) -> None:
    """One metric at each rate: the point and its spread (interval, range or sd)."""
    centre, low, high = spread_of(rows, "anchored", m)
    ax.errorbar(x, centre, yerr=[centre - low, high - centre], capsize=3, **style)


def spread_of(rows: pd.DataFrame | pd.Series, variant: str, m: Metric) -> tuple:
    """(centre, low, high) of a metric, per row of a table or for one row: placed rate
    with its 95 % Clopper-Pearson interval, shares as median with min..max over seeds,
    costs as mean +- sd."""
    col = f"{variant}.{m.key}"
    if m.kind == "count":
        ci = (rows[f"{col}_ci_low"], rows[f"{col}_ci_high"])
        return rows[f"{col}_rate"], *ci
    if m.kind == "share":
        return rows[f"{col}.median"], rows[f"{col}.min"], rows[f"{col}.max"]
    mean, sd = rows[f"{col}.mean"], rows[f"{col}.std"]
    return mean, mean - sd, mean + sd


# A panel's title after the metric's, by kind: what its bar shows.
PANEL_SPREAD = {
    "count": "95 % Clopper-Pearson interval",
    "share": "median, min..max",
    "spread": "mean ± sd",
}


def sweep_figure(table: pd.DataFrame) -> plt.Figure:
    """Each metric against anchor_rate (log axis): the post's templates as a line, the
    class-mean templates as a star beside their rate, the baseline as a band (its spread)
    around a dashed line; failed experiments are named in the title."""
    ok = table[table["state"] == "Success"]
    post = ok[ok["templates"] != "class_mean"]
    class_mean = ok[ok["templates"] == "class_mean"]
    panels = reported()
    rows = math.ceil((len(panels) + 1) / 3)  # one cell more, for the legend
    fig, grid = plt.subplots(rows, 3, figsize=(13, 3.75 * rows))
    axes, legend_ax = grid.flat[: len(panels)], grid.flat[len(panels)]
    for ax in grid.flat[len(panels) + 1 :]:
        ax.axis("off")
    for ax, m in zip(axes, panels, strict=True):
        if not ok.empty:
            centre, low, high = (v.iloc[0] for v in spread_of(ok, "baseline", m))
            ax.axhspan(low, high, color="0.85", lw=0, label="baseline (anchor_rate 0), spread")
            ax.axhline(centre, color="0.4", ls="--", label="baseline, centre")
        _panel(ax, post, m, post["anchor_rate"], marker="o", color="C0",
               label="anchored, the post's donut and stick")  # fmt: skip
        if not class_mean.empty:
            _panel(ax, class_mean, m, class_mean["anchor_rate"] * CLASS_MEAN_OFFSET,
                   marker="*", ms=12, ls="", color="C3",
                   label="anchored, class-mean templates (drawn beside their rate)")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xlabel("anchor_rate (log scale)")
        ax.set_title(f"{m.title or m.name} ({PANEL_SPREAD[m.kind]})", fontsize=10)
        if m.kind in ("count", "share"):  # rates and shares of a seed's digits, 0..1
            ax.set_ylim(0, 1.03)
    legend_ax.axis("off")
    legend_ax.legend(*axes[0].get_legend_handles_labels(), loc="center", fontsize=9)
    failed = table.loc[table["state"] != "Success", "experiment"].tolist()
    seeds = ok["anchored.n_seeds"].max() if not ok.empty else math.nan
    title = f"How strong must anchoring be? {seeds:.0f} seeds per point, against anchor_rate"
    fig.suptitle(title + (f"\nfailed: {', '.join(failed)}" if failed else ""))
    fig.tight_layout()
    return fig


def _sweep_cell(row: pd.Series, variant: str, m: Metric) -> str:
    """One metric of one variant with the figure's spread ("–" where it lacks it)."""
    first = f"{variant}.{m.key}" + (
        "_rate" if m.kind == "count" else ".mean" if m.kind == "spread" else ".median"
    )
    if pd.isna(row.get(first, math.nan)):
        return "–"
    centre, low, high = spread_of(row, variant, m)
    f = m.fmt
    if m.kind == "count":
        n, k = int(row[f"{variant}.n_seeds"]), int(row[f"{variant}.{m.key}_count"])
        return f"{k}/{n} ({low:{f}}–{high:{f}})"
    if m.kind == "share":
        return f"{centre:{f}} [{low:{f}}, {high:{f}}]"
    return f"{centre:{f}} ± {row[f'{variant}.{m.key}.std']:{f}}"


def _sweep_cells(row: pd.Series, variant: str) -> list[str]:
    return [_sweep_cell(row, variant, m) for m in reported()]


SWEEP_HEADINGS = {**HEADINGS, "share": "{}: median [min, max]"}  # 4 seeds: no percentiles


def sweep_markdown(table: pd.DataFrame) -> str:
    """The README's sweep table: the baseline, then each successful experiment."""
    columns = ["anchor_rate", "templates",
               *(SWEEP_HEADINGS[m.kind].format(m.name) for m in reported())]  # fmt: skip
    ok = table[table["state"] == "Success"]
    rows = [["0 (baseline)", "–", *_sweep_cells(ok.iloc[0], "baseline")]] if len(ok) else []
    rows += [[f"{r['anchor_rate']:g}", r["templates"], *_sweep_cells(r, "anchored")]
             for _, r in ok.iterrows()]  # fmt: skip
    return markdown_table(columns, rows)
