"""The two 28x28 anchor maps: a donut ring (round digits) and a vertical stick (1s).

``seed`` rebuilds the blog post's maps from their geometry; ``class_mean`` builds them
from the mean training image of digit 0 (donut) and digit 1 (stick).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 28  # MNIST images are SIZE x SIZE
STICK_COLUMNS = (11, 16)  # inclusive column range of the stick, in every row
HOLE_ROWS, HOLE_COLUMNS = (4, 23), (10, 17)  # inclusive ranges of the donut's hole
# Inclusive column range of the donut's ring by distance d from the top/bottom edge;
# rows with d >= 5 use the widest range.
RING_COLUMNS = {0: (7, 20), 1: (6, 21), 2: (5, 22), 3: (5, 22), 4: (4, 23)}
RING_COLUMNS_WIDEST = (3, 24)


def seed_stick() -> np.ndarray:
    stick = np.zeros((SIZE, SIZE), dtype=np.float32)
    lo, hi = STICK_COLUMNS
    stick[:, lo : hi + 1] = 1.0
    return stick


def seed_donut() -> np.ndarray:
    donut = np.zeros((SIZE, SIZE), dtype=np.float32)
    for row in range(SIZE):
        edge_distance = min(row, SIZE - 1 - row)
        lo, hi = RING_COLUMNS.get(edge_distance, RING_COLUMNS_WIDEST)
        donut[row, lo : hi + 1] = 1.0
    (r0, r1), (c0, c1) = HOLE_ROWS, HOLE_COLUMNS
    donut[r0 : r1 + 1, c0 : c1 + 1] = 0.0
    return donut


def class_mean_map(images: np.ndarray, labels: np.ndarray, digit: int) -> np.ndarray:
    """Mean image of ``digit`` scaled to [0, 1]; ``images`` is (N, 28, 28) of any scale."""
    chosen = images[labels == digit]
    if len(chosen) == 0:
        raise ValueError(f"no training images of digit {digit} to average")
    mean = chosen.astype(np.float64).mean(axis=0)
    peak = mean.max()
    return (mean / peak if peak > 0 else mean).astype(np.float32)


def build_templates(
    kind: str, images: np.ndarray | None = None, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(donut, stick) maps, float32 28x28 in [0, 1], of the given ``kind``."""
    if kind == "seed":
        return seed_donut(), seed_stick()
    if kind == "class_mean":
        if images is None or labels is None:
            raise ValueError("class_mean templates need the training images and labels")
        return class_mean_map(images, labels, 0), class_mean_map(images, labels, 1)
    raise ValueError(f"templates.kind = {kind!r} is unknown: allowed are seed, class_mean")


MAP_NAMES = ("donut", "stick")  # each saved as <name>.npy by the templates stage


def save_templates(folder: str | Path, maps: dict[str, np.ndarray]) -> None:
    """Write each map as ``<name>.npy`` into ``folder`` (the caller makes it atomic)."""
    for name in MAP_NAMES:
        np.save(Path(folder) / f"{name}.npy", maps[name])


def load_templates(folder: str | Path) -> dict[str, np.ndarray]:
    """name -> 28x28 map, as written by :func:`save_templates` into ``folder``."""
    return {name: np.load(Path(folder) / f"{name}.npy") for name in MAP_NAMES}
