"""A grid's figure, from its table (a row per cell and variant): its metrics along the
cells, or every seed's digit centroids; each error bar is the metric's kind's
(anchorvae/evaluation/kinds.py). A grid names which in params.yaml (`figure:`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from anchorvae.digits import N_DIGITS
from anchorvae.evaluation.metrics import BY_KEY, Metric
from anchorvae.reports.figures import DIGIT_COLORS, plt
from anchorvae.reports.markdown import succeeded
from anchorvae.reports.points_figure import points_figure


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


REFERENCES = {"label_reference": ("0.45", "--"), "cvae": ("0.15", ":")}  # colour, line
DESIGN = "anchored"  # the variant whose template a semantics grid's cells vary


def semantics_figure(
    table: pd.DataFrame, pictures: dict[tuple[str, str], np.ndarray], title: str
) -> plt.Figure:
    """Left: the share of anchor samples read as their digit against the anchor points'
    distance from the origin, a marker per design (each cell's anchored variant) with its
    95 % interval, the label reference and the CVAE as reference lines. Right: what each
    design draws at its 0s' and 1s' points (``pictures``: (cell label, variant) -> uint8
    (2, 28, 28), one seed)."""
    ok = succeeded(table)
    designs = ok[ok["variant"] == DESIGN]
    rows = [(r["label"], DESIGN) for _, r in designs.iterrows()]
    for variant in REFERENCES:  # a row per distinct model (the same in every cell: one)
        shown = ok[ok["variant"] == variant].drop_duplicates("anchor_decode.mean")
        rows += [(label, variant) for label in shown["label"]]
    rows = [row for row in rows if row in pictures]
    fig = plt.figure(figsize=(12, max(4.5, 0.62 * len(rows) + 1.4)))
    grid = fig.add_gridspec(max(1, len(rows)), 3, width_ratios=[6, 0.7, 0.7], wspace=0.05)
    ax = fig.add_subplot(grid[:, 0])
    decode = BY_KEY["anchor_decode"]
    for i, (_, r) in enumerate(designs.iterrows()):
        centre, low, high = decode.kind.spread(r, decode.key)
        x = r.get("anchor_distance.mean", math.nan)
        ax.errorbar(x, centre, yerr=[[centre - max(low, 0)], [min(high, 1) - centre]], fmt="o",
                    capsize=3, color=f"C{i % 10}", label=r["label"])  # fmt: skip
        ax.annotate(r["label"], (x, centre), xytext=(6, -3), textcoords="offset points",
                    fontsize=7, color=f"C{i % 10}")  # fmt: skip
    for variant, (colour, style) in REFERENCES.items():
        values = ok.loc[ok["variant"] == variant, "anchor_decode.mean"].dropna()
        for j, value in enumerate(dict.fromkeys(values)):
            ax.axhline(value, color=colour, ls=style, lw=1.2,
                       label=f"{variant}: {value:.3f}" if j == 0 else None)  # fmt: skip
    ax.set(xlabel="anchor points' distance from the origin",
           ylabel="anchor samples read as their digit", ylim=(0, 1.03))  # fmt: skip
    right = designs["anchor_distance.mean"].max() if "anchor_distance.mean" in designs else 1
    ax.set_xlim(0, 1.4 * right if right == right else None)  # room for the labels
    ax.grid(color="0.9")
    ax.legend(fontsize=7.5, loc="lower right")
    ax.set_title(decode.title, fontsize=10)
    for i, (label, variant) in enumerate(rows):
        for j in range(2):
            image = fig.add_subplot(grid[i, 1 + j])
            image.imshow(pictures[(label, variant)][j], cmap="gray_r", vmin=0, vmax=255)
            image.set_xticks([])
            image.set_yticks([])
            if j == 1:
                image.yaxis.set_label_position("right")
                name = label if variant == DESIGN else variant
                image.set_ylabel(name, rotation=0, ha="left", va="center", fontsize=7.5)
            if i == 0:
                image.set_title(f"{j}s' point", fontsize=8)
    fig.suptitle(title + _not_succeeded(table))
    fig.subplots_adjust(left=0.07, right=0.72, top=0.9, bottom=0.1)
    return fig


def grid_figure(
    table: pd.DataFrame, centroids: dict[str, pd.DataFrame], figure: str, metrics: list[str],
    title: str, pictures: dict[tuple[str, str], np.ndarray] | None = None,
) -> plt.Figure:  # fmt: skip
    """The figure a grid names: its metrics along the cells, every seed's centroids
    (``centroids``: a cell's label -> its centroids table), a panel per cell and variant,
    its semantics (``pictures``: see :func:`semantics_figure`) or its points (``pictures``:
    a PointPictures, anchorvae/reports/points_figure.py)."""
    if figure == "metrics":
        return metrics_figure(table, [BY_KEY[m] for m in metrics], f"{title} per cell and variant")
    if figure == "semantics":
        return semantics_figure(table, pictures or {}, f"Known semantics at the anchor ({title})")
    if figure == "points":
        return points_figure(table, pictures or None, f"Every digit at a point ({title})")
    panels = {}
    for label, rows in centroids.items():
        for variant in dict.fromkeys(rows["variant"]):
            panel = f"{label}, {variant}" if len(centroids) > 1 else variant
            panels[panel] = rows[rows["variant"] == variant]
    return centroid_figure(panels, f"Digit centroids of every seed, overlaid ({title})")
