"""A ten-digit grid's figure (`figure: points`): how well each cell's points read, and
for the best cell what each point draws, beside the cluster mean that names it without a
label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anchorvae.evaluation.metrics import BY_KEY
from anchorvae.reports.figures import plt
from anchorvae.reports.markdown import succeeded

SHOWN = "point_read"  # the metric the cells are compared by, and the best cell chosen by


@dataclass(frozen=True)
class PointPictures:
    """What the best cell's design drew (seed 0) and the clusters that name its points."""

    label: str  # the cell's
    images: np.ndarray  # uint8 (k, n, 28, 28): each point, then samples around it
    reads: pd.DataFrame  # point, digit, read: the digit each point stands for, its read
    means: np.ndarray  # (k, 28, 28) the clusters' mean images, in [0, 1]


def best_cell(table: pd.DataFrame, design: str) -> str | None:
    """The label of the cell whose ``design`` variant reads best at its points."""
    rows = succeeded(table)
    rows = rows[rows["variant"] == design].dropna(subset=[f"{SHOWN}.mean"])
    return None if rows.empty else rows.loc[rows[f"{SHOWN}.mean"].idxmax(), "label"]


def points_figure(table: pd.DataFrame, pictures: PointPictures | None, title: str):
    """Left: the mean point read of every variant per cell, with its 95 % interval. Right:
    for the best cell, a row per point: its cluster's mean, what the model draws at the
    point and around it, and the share of samples read as the point's digit."""
    k = 0 if pictures is None else len(pictures.images)
    n = 0 if pictures is None else pictures.images.shape[1]
    fig = plt.figure(figsize=(13, max(5.0, 0.5 * k + 1.6)))
    grid = fig.add_gridspec(max(k, 1), 3 + n, width_ratios=[8, 1.2, 0.3] + [0.7] * n,
                            wspace=0.05, hspace=0.08)  # fmt: skip
    _reads_panel(fig.add_subplot(grid[:, 0]), succeeded(table))
    for i in range(k):
        _point_row(fig, grid, i, pictures)
    if pictures is not None:
        label = short_labels(table).get(pictures.label, pictures.label)
        fig.text(0.52, 0.93, f"best cell: {label} (seed 0); left: the cluster's mean image, "
                 "then the point and samples around it; right: its digit, its read",
                 fontsize=8)  # fmt: skip
    fig.suptitle(title)
    fig.subplots_adjust(left=0.06, right=0.97, top=0.9, bottom=0.22)
    return fig


def short_labels(table: pd.DataFrame) -> dict[str, str]:
    """Cell label -> the axis values that differ between cells, each once (a zipped grid
    sets one layout and one rate for two variants)."""
    axes = list(
        table.columns[table.columns.get_loc("label") + 1 : table.columns.get_loc("variant")]
    )
    varying = [a for a in axes if table[a].astype(str).nunique() > 1]
    cells = table.drop_duplicates("label")
    return {row["label"]: ", ".join(dict.fromkeys(str(row[a]) for a in varying)) or row["label"]
            for _, row in cells.iterrows()}  # fmt: skip


def _reads_panel(ax, ok: pd.DataFrame) -> None:
    metric = BY_KEY[SHOWN]
    labels = list(dict.fromkeys(ok["label"]))
    short = short_labels(ok)
    variants = list(dict.fromkeys(ok["variant"]))
    width = 0.7 / max(1, len(variants))
    for j, variant in enumerate(variants):
        rows = ok[ok["variant"] == variant].set_index("label").reindex(labels)
        spread = np.array([metric.kind.spread(r, SHOWN) for _, r in rows.iterrows()]).clip(0, 1)
        x = np.arange(len(labels)) + (j - (len(variants) - 1) / 2) * width
        error = [spread[:, 0] - spread[:, 1], spread[:, 2] - spread[:, 0]]
        ax.errorbar(x, spread[:, 0], yerr=error, fmt="o", capsize=2, color=f"C{j}",
                    label=variant)  # fmt: skip
    ax.set_xticks(range(len(labels)), [short[label] for label in labels], rotation=45,
                  ha="right", fontsize=7.5)  # fmt: skip
    ax.set(ylim=(0, 1.03), ylabel=f"{metric.title} ({metric.kind.spread_label})")
    ax.grid(axis="y", color="0.9")
    ax.legend(fontsize=7.5, loc="lower left")


def _point_row(fig, grid, i: int, pictures: PointPictures) -> None:
    row = pictures.reads.iloc[i]
    images = [pictures.means[i] * 255, *pictures.images[i]]
    for j, image in enumerate(images):
        ax = fig.add_subplot(grid[i, 1 if j == 0 else 2 + j])
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        if j == 0:
            ax.set_ylabel(f"{int(row['point'])}", rotation=0, ha="right", va="center",
                          fontsize=7)  # fmt: skip
    ax.yaxis.set_label_position("right")
    ax.set_ylabel(f"{int(row['digit'])}: {row['read']:.2f}", rotation=0, ha="left",
                  va="center", fontsize=8)  # fmt: skip
