"""The seed post's score: overlap with a donut ring minus overlap with a vertical stick,
over the image's ink. Round digits (0s) score high, sticks (1s) low.

``templates.kind`` chooses the maps: ``post`` rebuilds the blog post's geometry,
``class_mean`` uses the mean training 0 (donut) and 1 (stick), ``clusters`` and
``bootstrap`` make them from the training images with no label (anchorvae/method/templates.py).
"""

from __future__ import annotations

import numpy as np
import torch

from anchorvae.digits import SIDE as SIZE
from anchorvae.method.scores._base import ScoreInputs, class_mean_map, map_difference_score
from anchorvae.method.templates import LABEL_FREE, TemplateSpec, label_free_templates

# map name -> its title in the templates figure (what the score does along (1, ..., 1))
MAPS = {"donut": "donut\n(donutness +: to −,−)", "stick": "stick\n(donutness −: to +,+)"}
KINDS = ("post", "class_mean", *LABEL_FREE)

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


def build_maps(
    spec: TemplateSpec, images: np.ndarray, labels: np.ndarray
) -> tuple[dict[str, np.ndarray], dict]:
    """The donut and the stick of ``spec.kind``, and what they were made of ({} for the
    post's and class means); ``images`` (N, 28, 28), ``labels`` (N,), read by class_mean
    only."""
    if spec.kind == "post":
        return {"donut": post_donut(), "stick": post_stick()}, {}
    if spec.kind == "class_mean":
        digits = {"donut": 0, "stick": 1}  # the mean 0 and the mean 1
        return {name: class_mean_map(images, labels, d) for name, d in digits.items()}, {}
    if spec.kind in LABEL_FREE:
        return label_free_templates(spec, images, post_donut(), post_stick())
    raise ValueError(f"templates.kind = {spec.kind!r} is unknown: allowed are {', '.join(KINDS)}")


def score(inputs: ScoreInputs) -> torch.Tensor:
    """(N,): (x . donut - x . stick) / sum(x)."""
    return map_difference_score(inputs, "donut", "stick")
