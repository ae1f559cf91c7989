"""Matplotlib figures written as PNG files (headless backend, atomic writes)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI or a training box
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from anchorvae.artifacts.atomic import atomic_path  # noqa: E402
from anchorvae.evaluation.placement import normal_grid  # noqa: E402

LATENT_POINTS = 400  # test means per model in plots/latent.csv: the page stays light


def latent_table(panels: dict[str, list]) -> pd.DataFrame:
    """variant, rank, seed, digit, z1, z2 of the first LATENT_POINTS sampled test means of
    every model: the headline figure as data, which `dvc plots show` draws first. ``rank``
    is the variant's place in params.yaml, by which the plot orders its columns."""
    frames = []
    for rank, (variant, models) in enumerate(panels.items()):
        for seed, codes, labels in models:
            n = min(LATENT_POINTS, len(codes))
            z2 = codes[:n, 1] if codes.shape[1] > 1 else np.zeros(n)
            columns = {"digit": labels[:n], "z1": codes[:n, 0], "z2": z2}
            frames.append(
                pd.DataFrame({"variant": variant, "rank": rank, "seed": seed, **columns})
            )
    return pd.concat(frames, ignore_index=True)


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 110) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def templates_figure(maps: dict[str, np.ndarray], titles: dict[str, str], kind: str) -> plt.Figure:
    """Every anchor map side by side, on the same 0..1 scale, titled from ``titles``."""
    fig, axes = plt.subplots(1, len(maps), figsize=(3.1 * len(maps), 3.6))
    for ax, (name, image) in zip(axes, maps.items(), strict=True):
        title = titles.get(name, name)
        shown = ax.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(title)
        ax.set_xticks([0, 27])
        ax.set_yticks([0, 27])
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"Anchor templates (donut and stick: {kind}), 28×28 pixels")
    return fig


DIGIT_COLORS = plt.get_cmap("tab10")
LATENT_LIM = 4.0  # scatters span ±4 (the anchored 1s reach about +3.5); beyond: on the edge
TARGETS = {0: "target of 0s (−,…,−)", 1: "target of 1s (+,…,+)"}


def latent_scatter(ax: plt.Axes, codes: np.ndarray, labels: np.ndarray, title: str) -> None:
    """Encoder means (N, >=1) coloured by digit; 0s and 1s drawn larger, on top.

    Axes are ordinary math axes (z1 right, z2 up), so the (−,−) corner that the seed
    post calls "upper left" of its decoded image is the lower left here.
    """
    lim = LATENT_LIM
    z1 = np.clip(codes[:, 0], -lim, lim)  # points beyond the frame sit on its edge
    z2 = np.clip(codes[:, 1], -lim, lim) if codes.shape[1] > 1 else np.zeros_like(z1)
    ax.axhspan(-lim, 0, xmin=0, xmax=0.5, color=DIGIT_COLORS(0), alpha=0.08, lw=0)
    ax.axhspan(0, lim, xmin=0.5, xmax=1, color=DIGIT_COLORS(1), alpha=0.08, lw=0)
    others = (labels != 0) & (labels != 1)
    ax.scatter(z1[others], z2[others], s=3, c=DIGIT_COLORS(labels[others]), alpha=0.35, lw=0)
    for digit in (0, 1):
        chosen = labels == digit
        ax.scatter(z1[chosen], z2[chosen], s=9, color=DIGIT_COLORS(digit), lw=0,
                   label=f"{digit}s", alpha=0.9)  # fmt: skip
    ax.axhline(0, color="0.6", lw=0.6)
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)


def manifold_canvas(grid: np.ndarray) -> np.ndarray:
    """uint8 (n, n, 28, 28) grid with grid[i, j] decoded at (q[i], q[j]) -> one image.

    Laid out on math axes like :func:`latent_scatter`: z1 grows to the right, z2 upwards.
    """
    n, _, height, width = grid.shape
    # rows top to bottom are z2 falling: tile (row, col) is grid[col, n - 1 - row]. A
    # reshape, not torchvision's make_grid: importing torchvision costs the plots stage
    # about 2.5 s (it loads torch._dynamo), longer than drawing every figure.
    tiles = grid[:, ::-1].transpose(1, 0, 2, 3)  # (row, col, 28, 28)
    return np.ascontiguousarray(tiles.transpose(0, 2, 1, 3).reshape(n * height, n * width))


GRID_HALF = float(normal_grid(2)[-1, -1, 0])  # the outermost code evaluate decodes at


def _grid_outline(ax: plt.Axes) -> None:
    ax.add_patch(plt.Rectangle((-GRID_HALF, -GRID_HALF), 2 * GRID_HALF, 2 * GRID_HALF,
                               fill=False, ls=":", lw=0.9, color="0.25"))  # fmt: skip


def manifold_axes(ax: plt.Axes, grid: np.ndarray, title: str) -> None:
    """The decoded grid at its true latent coordinates: a zoom on the dotted square that
    the scatter draws (the whole ±LATENT_LIM frame would leave 15 px per decoded digit)."""
    h = GRID_HALF
    ax.imshow(manifold_canvas(grid), cmap="gray_r", extent=(-h, h, -h, h))
    _grid_outline(ax)
    ax.set_title(title, fontsize=9)


def _axis_labels(ax: plt.Axes) -> None:
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")


def model_figures(codes: np.ndarray, labels: np.ndarray, grid: np.ndarray | None, name: str):
    """(latent scatter figure, manifold figure or None) for one model."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    latent_scatter(ax, codes, labels, f"{name}: test-set encoder means")
    _axis_labels(ax)
    _digit_legend(fig)
    manifold = None
    if grid is not None:
        _grid_outline(ax)  # where the manifold figure's decoded images sit
        manifold, ax = plt.subplots(figsize=(4.6, 4.4))
        title = f"{name}: decoded, zoom on the latent figure's dotted\nsquare (tiles at N(0,1)"
        manifold_axes(ax, grid, f"{title} quantiles 5 %–95 %, ±{GRID_HALF:.3f})")
        _axis_labels(ax)
    return fig, manifold


def _digit_legend(fig: plt.Figure) -> None:
    handles = [
        plt.Line2D([], [], marker="o", ls="", color=DIGIT_COLORS(d), label=str(d))
        for d in range(10)
    ]
    fig.legend(handles=handles, title="digit", loc="center left", bbox_to_anchor=(0.9, 0.5),
               fontsize=7, title_fontsize=8, frameon=False)  # fmt: skip
    fig.subplots_adjust(right=0.88)


def headline_figure(panels: dict[str, list[tuple[int, np.ndarray, np.ndarray]]]) -> plt.Figure:
    """Variants as rows x seeds as columns of latent scatters.

    ``panels[variant]`` is a list of (seed, codes, labels).
    """
    n_rows = len(panels)
    n_cols = max(len(models) for models in panels.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.3 * n_cols + 1.2, 2.4 * n_rows + 0.8),
                             squeeze=False, sharex=True, sharey=True)  # fmt: skip
    for row, (variant, models) in enumerate(panels.items()):
        for col, (seed, codes, labels) in enumerate(models):
            latent_scatter(axes[row, col], codes, labels, f"{variant}, seed {seed}")
        axes[row, 0].set_ylabel(f"{variant}\nz2")
    for ax in axes[-1]:
        ax.set_xlabel("z1")
    fig.suptitle("Test-set latent means on every retrain: 0s (blue) and 1s (orange);\n"
                 "shaded: the corners anchoring aims for (0s at −,−; 1s at +,+); "
                 "points beyond ±4 drawn on the edge")  # fmt: skip
    _digit_legend(fig)
    return fig
