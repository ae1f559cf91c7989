"""A grid's report, from its table (a row per cell and variant, anchorvae/grid.py): the
markdown tables of the README and docs, and its figure. Every cell, heading and error bar
is the metric's kind's (anchorvae/kinds.py); the same code writes every grid's report.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from anchorvae.config import GridParams
from anchorvae.metrics import BY_KEY, METRICS, Metric
from anchorvae.placement import N_DIGITS
from anchorvae.plots import DIGIT_COLORS, plt

REFERENCE = "label_reference"  # the variant a gap table compares the others with
NOT_MEASURED = "–"


def flat_summary(summary: dict[str, dict]) -> pd.DataFrame:
    """variant -> statistics (metrics/details.json) as one row per variant, nested keys
    flattened with dots: the layout every report reads."""
    rows = [{"variant": name, **stats} for name, stats in summary.items()]
    return pd.json_normalize(rows, sep=".")


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def succeeded(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["state"] == "Success"] if "state" in table else table


def _short(key: str) -> str:
    """An axis's column heading: its params key, a variant's without "variants."."""
    return key.removeprefix("variants.")


def _axis_cell(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def cell(row: pd.Series, m: Metric) -> str:
    if not m.kind.measured(row, m.key):
        return NOT_MEASURED
    return m.kind.cell(row, m.key, m.fmt, m.in_unit_range)


def metric_markdown(table: pd.DataFrame, axes: list[str], metrics: list[Metric]) -> str:
    """A row per cell and variant: its axis values, then each metric's cell; a metric no
    row has measured gets no column. A variant whose numbers are the same in every cell
    (the same models, which no axis changes: DVC's run cache trained them once) gets one
    row, its axis cells "every"."""
    ok = succeeded(table)
    cells = {m: [cell(r, m) for _, r in ok.iterrows()] for m in metrics}
    shown = [m for m in metrics if set(cells[m]) != {NOT_MEASURED}]
    columns = [*(_short(a) for a in axes), "variant",
               *(m.kind.heading.format(m.name) for m in shown)]  # fmt: skip
    numbers = [tuple(cells[m][i] for m in shown) for i in range(len(ok))]
    by_variant: dict[str, set] = {}
    for n, v in zip(numbers, ok["variant"], strict=True):
        by_variant.setdefault(v, set()).add(n)
    one_cell = "experiment" not in ok or ok["experiment"].nunique() == 1
    same = set() if one_cell else {v for v, seen in by_variant.items() if len(seen) == 1}
    rows, seen = [], set()
    for i, (_, r) in enumerate(ok.iterrows()):
        every = r["variant"] in same
        if every and r["variant"] in seen:
            continue
        seen.add(r["variant"])
        where = ["every" if every else _axis_cell(r[a]) for a in axes]
        rows.append([*where, f"`{r['variant']}`", *numbers[i]])
    return markdown_table(columns, rows)


def _row_label(row: pd.Series, axes: list[str]) -> str:
    values = ", ".join(_axis_cell(row[a]) for a in axes)
    return f"{values}: `{row['variant']}`" if values else f"`{row['variant']}`"


def arrangement_markdown(table: pd.DataFrame, axes: list[str]) -> str:
    """Per cell and variant: how much of the whole arrangement repeats, beside chance, and
    per digit (stability / same-side share, 2-D only)."""
    digits = [str(d) for d in range(N_DIGITS)]
    columns = ["variant", "all digits (chance)", "same side (chance)", *digits]
    rows = []
    for _, r in succeeded(table).iterrows():
        side = r.get("side_consistency", math.nan)  # 2-D only: a line has sides
        cells = [
            _row_label(r, axes),
            f"{r['arrangement_stability']:.2f} ({r['stability_by_chance']:.2f})",
            NOT_MEASURED if pd.isna(side) else f"{side:.2f} ({r['side_by_chance']:.2f})",
        ]
        for d in digits:
            side = r.get(f"digit_side_share.{d}", math.nan)
            stability = f"{r[f'digit_stability.{d}']:.2f}"
            cells.append(stability if pd.isna(side) else f"{stability} / {side:.2f}")
        rows.append(cells)
    return markdown_table(columns, rows)


def gap_keys() -> list[tuple[str, str]]:
    """(summary column, row label) of every metric a gap table compares."""
    return [(m.key + column, m.name + suffix)
            for m in METRICS if m.gap for column, suffix in m.kind.gap_rows]  # fmt: skip


def gap_markdown(table: pd.DataFrame) -> str:
    """Each compared metric of every variant but the baseline, minus the reference's."""
    by_name = succeeded(table).set_index("variant")
    if REFERENCE not in by_name.index:
        return f"(no `{REFERENCE}` variant here)"
    reference = by_name.loc[REFERENCE]
    others = [v for v in by_name.index if v not in (REFERENCE, "baseline")]
    columns = ["metric", f"`{REFERENCE}`", *(f"`{v}` − reference" for v in others)]
    rows = []
    for key, label in gap_keys():
        if key in by_name.columns and not pd.isna(reference[key]):
            gaps = [f"{by_name.loc[v, key] - reference[key]:+.2f}" for v in others]
            rows.append([label, f"{reference[key]:.2f}", *gaps])
    return markdown_table(columns, rows)


def details_markdown(table: pd.DataFrame, axes: list[str]) -> str:
    """The arrangement per digit, and the gap to the label reference in each cell."""
    gaps = []
    for _, rows in succeeded(table).groupby("experiment", sort=False):
        label = _row_label(rows.iloc[0], axes).rsplit(":", 1)[0] if axes else ""
        gaps.append((f"{label}:\n\n" if label else "") + gap_markdown(rows))
    return "\n\n".join(
        [
            "Arrangement: the mean resultant length of each digit's centroid direction "
            "across seeds (1 = the same direction every time), and the share of seeds in "
            "which digits 2–9 lie on their usual side of the line from the 0s' to the 1s' "
            "centroid; per digit: stability / same-side share.",
            arrangement_markdown(table, axes),
            "Gap to the label-supervised reference (variant minus reference):",
            *gaps,
        ]
    )


def metrics_figure(table: pd.DataFrame, metrics: list[Metric], title: str) -> plt.Figure:
    """One panel per metric, the cells along x and the variants side by side in each, a
    point with its kind's spread; cells that did not succeed are named in the title."""
    ok = succeeded(table)
    experiments = list(dict.fromkeys(ok["experiment"]))
    variants = list(dict.fromkeys(ok["variant"]))
    labels = [ok.loc[ok["experiment"] == e, "label"].iloc[0] for e in experiments]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(7, 1.4 * len(labels)),
                             2.6 * len(metrics) + 1.2), sharex=True, squeeze=False)  # fmt: skip
    width = 0.7 / max(1, len(variants))
    for ax, m in zip(axes[:, 0], metrics, strict=True):
        for i, variant in enumerate(variants):
            rows = ok[ok["variant"] == variant].set_index("experiment").reindex(experiments)
            spread = np.array([m.kind.spread(r, m.key) for _, r in rows.iterrows()])
            if m.in_unit_range:
                spread = spread.clip(0, 1)
            x = np.arange(len(experiments)) + (i - (len(variants) - 1) / 2) * width
            error = [spread[:, 0] - spread[:, 1], spread[:, 2] - spread[:, 0]]
            ax.errorbar(x, spread[:, 0], yerr=error, fmt="o", capsize=3, color=f"C{i}",
                        label=variant)  # fmt: skip
        bar = f" ({m.kind.spread_label})" if m.kind.spread_label else ""
        ax.set_title(f"{m.title or m.name}{bar}", fontsize=10)
        if m.in_unit_range:
            ax.set_ylim(0, 1.03)
        ax.grid(axis="y", color="0.9")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=max(1, len(variants)), fontsize=9)
    axes[-1, 0].set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    title += _not_succeeded(table)
    fig.suptitle(title)
    height = fig.get_figheight()  # room in inches for the title's lines and the legend
    fig.tight_layout(rect=(0, 0.5 / height, 1, 1 - 0.25 * (title.count("\n") + 2) / height))
    return fig


def _not_succeeded(table: pd.DataFrame) -> str:
    """A title's lines naming the cells that have no result, by state."""
    lines = ""
    for state in sorted(set(table["state"]) - {"Success"}):
        names = table.loc[table["state"] == state, "experiment"].unique().tolist()
        lines += f"\n{state.lower()}: {', '.join(names)}"
    return lines


LABEL_BOX = {"boxstyle": "circle,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0}


def centroid_figure(panels: dict[str, pd.DataFrame], title: str, lim: float = 3.0) -> plt.Figure:
    """One panel per (title, centroids of its seeds): every seed's ten digit centroids
    overlaid, one colour per digit, the digit written at its median place; what repeats
    forms a tight cluster."""
    cols = min(len(panels), 2)
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (name, chosen) in zip(axes.flat, panels.items(), strict=False):
        axes_beyond = ["z2"] if "z2" in chosen else []  # beyond 2-D: the first two axes
        for digit in range(N_DIGITS):
            z = chosen.loc[chosen["digit"] == digit, ["z1", *axes_beyond]].to_numpy()
            z = np.pad(z, ((0, 0), (0, 2 - z.shape[1])))  # a 1-D code: drawn on z2 = 0
            z = np.clip(z, -lim, lim)  # points beyond the frame sit on its edge
            ax.scatter(z[:, 0], z[:, 1], s=8, color=DIGIT_COLORS(digit), alpha=0.45, lw=0)
            mid = np.median(z, axis=0)
            ax.text(mid[0], mid[1], str(digit), fontsize=13, weight="bold", ha="center",
                    va="center", color=DIGIT_COLORS(digit), bbox=LABEL_BOX)  # fmt: skip
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(0, color="0.6", lw=0.6)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="z1", ylabel="z2")
        ax.set_title(f"{name} ({chosen['seed'].nunique()} seeds)")
    fig.suptitle(f"{title}\n(each digit's number at its median place; points beyond ±{lim:g} "
                 "drawn on the edge)")  # fmt: skip
    fig.tight_layout()
    return fig


def grid_figure(table: pd.DataFrame, centroids: dict[str, pd.DataFrame], grid: GridParams,
                title: str) -> plt.Figure:  # fmt: skip
    """The figure a grid names: its metrics along the cells, or every seed's centroids
    (``centroids``: a cell's label -> its centroids table), a panel per cell and variant."""
    if grid.figure == "metrics":
        metrics = [BY_KEY[m] for m in grid.metrics]
        return metrics_figure(table, metrics, f"{title} per cell and variant")
    panels = {}
    for label, rows in centroids.items():
        for variant in dict.fromkeys(rows["variant"]):
            panel = f"{label}, {variant}" if len(centroids) > 1 else variant
            panels[panel] = rows[rows["variant"] == variant]
    return centroid_figure(panels, f"Digit centroids of every seed, overlaid ({title})")
