"""Each image's memberships of the clusters stage's k clusters, made with no label
(anchorvae/method/clusters.py): k columns, each pulled to its own point of a layout
(anchorvae/method/layouts.py)."""

from __future__ import annotations

import torch

from anchorvae.errors import UsageError
from anchorvae.method.scores._base import ScoreInputs

MAPS: dict[str, str] = {}  # reads the clusters stage's memberships, no map
# One-hot or posterior memberships are the points' weights: standardising them would
# move every point.
SCALES = ("raw",)


def score(inputs: ScoreInputs) -> torch.Tensor:
    """(N, k) memberships, in the clusters' order (their mean ink, least first)."""
    if inputs.clusters is None or inputs.clusters.shape[1] < 2:
        raise UsageError("the clusters score has no clusters to read: set clusters.k >= 2 "
                         "and rerun the clusters stage")  # fmt: skip
    return inputs.clusters.to(inputs.images.dtype)
