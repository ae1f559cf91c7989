"""Matplotlib figures written as PNG files (headless backend, atomic writes)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI or a training box
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from anchorvae.atomic import atomic_path  # noqa: E402


def save_figure(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def templates_figure(donut: np.ndarray, stick: np.ndarray, kind: str) -> plt.Figure:
    """The two anchor maps side by side, on the same 0..1 scale."""
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4))
    titles = ("donut (pulls to −,−)", "stick (pulls to +,+)")
    for ax, image, title in zip(axes, (donut, stick), titles, strict=True):
        shown = ax.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(title)
        ax.set_xticks([0, 27])
        ax.set_yticks([0, 27])
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"Anchor templates ({kind}), 28×28 pixels")
    return fig
