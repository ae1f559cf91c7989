"""The 28x28 anchor maps that template scores (anchorvae/loss.py) read.

The first pair is a donut ring (round digits) and a vertical stick (1s): ``post``
rebuilds the blog post's maps from their geometry; ``class_mean`` uses the mean training
image of digit 0 (donut) and digit 1 (stick). The second pair, for a second anchor axis,
is always the mean training image of digit 7 and of digit 6 (see loss.sevenness_score).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from anchorvae.loss import SCORES, ScoreInputs

SIZE = 28  # MNIST images are SIZE x SIZE
STICK_COLUMNS = (11, 16)  # inclusive column range of the stick, in every row
HOLE_ROWS, HOLE_COLUMNS = (4, 23), (10, 17)  # inclusive ranges of the donut's hole
# Inclusive column range of the donut's ring by distance d from the top/bottom edge;
# rows with d >= 5 use the widest range.
RING_COLUMNS = {0: (7, 20), 1: (6, 21), 2: (5, 22), 3: (5, 22), 4: (4, 23)}
RING_COLUMNS_WIDEST = (3, 24)


def post_stick() -> np.ndarray:
    stick = np.zeros((SIZE, SIZE), dtype=np.float32)
    lo, hi = STICK_COLUMNS
    stick[:, lo : hi + 1] = 1.0
    return stick


def post_donut() -> np.ndarray:
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


SECOND_AXIS_DIGITS = {"seven": 7, "six": 6}  # map name -> digit whose mean it is


def build_templates(kind: str, images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """name -> map, float32 28x28 in [0, 1]: the donut and stick of the given ``kind``
    and the second axis's pair; ``images`` (N, 28, 28) and ``labels`` are the training set."""
    if kind == "post":
        maps = {"donut": post_donut(), "stick": post_stick()}
    elif kind == "class_mean":
        maps = {"donut": class_mean_map(images, labels, 0)}
        maps["stick"] = class_mean_map(images, labels, 1)
    else:
        raise ValueError(f"templates.kind = {kind!r} is unknown: allowed are post, class_mean")
    for name, digit in SECOND_AXIS_DIGITS.items():
        maps[name] = class_mean_map(images, labels, digit)
    return maps


MAP_NAMES = ("donut", "stick", *SECOND_AXIS_DIGITS)  # each saved as <name>.npy


def save_templates(folder: str | Path, maps: dict[str, np.ndarray]) -> None:
    """Write each map as ``<name>.npy`` into ``folder`` (the caller makes it atomic)."""
    for name in MAP_NAMES:
        np.save(Path(folder) / f"{name}.npy", maps[name])


def load_templates(folder: str | Path) -> dict[str, np.ndarray]:
    """name -> 28x28 map, as written by :func:`save_templates` into ``folder``."""
    return {name: np.load(Path(folder) / f"{name}.npy") for name in MAP_NAMES}


def scores_by_digit(maps: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray):
    """Mean and standard deviation of every score in loss.SCORES per digit, on the given
    images: the numbers that justify a template (a row per score, a column per digit)."""
    flat = torch.from_numpy(images.reshape(len(images), -1)).double() / 255
    inputs = ScoreInputs(
        flat,
        torch.from_numpy(labels),
        {k: torch.from_numpy(m).reshape(-1) for k, m in maps.items()},
    )
    rows = []
    for name, score in SCORES.items():
        values = score(inputs).numpy()
        for stat, reduce in (("mean", np.mean), ("sd", np.std)):
            row = {"score": name, "stat": stat}
            row.update({str(d): reduce(values[labels == d]) for d in range(10)})
            rows.append(row)
    return pd.DataFrame(rows)
