"""The ten-label reference of the clusters score: each image's digit, one-hot, its ten
classes ordered by the rule the clusters are ordered by (their mean ink, least first), so
that a digit's point is where a perfect clustering would put it. What any clustering
could reach at best."""

from __future__ import annotations

import torch

from anchorvae.digits import N_DIGITS
from anchorvae.method.scores._base import ScoreInputs

MAPS: dict[str, str] = {}  # reads the labels, no map
SCALES = ("raw",)  # the one-hot is the point's weight, as the clusters score's


def score(inputs: ScoreInputs) -> torch.Tensor:
    """(N, 10): column j is 1 for the images of the j-th digit by mean ink."""
    labels = inputs.labels.long()
    ink = inputs.images.double().sum(dim=1)
    absent = ink.new_tensor(float("inf"))  # a digit with no image: last
    mean_ink = torch.stack([ink[labels == d].mean() if (labels == d).any() else absent
                            for d in range(N_DIGITS)])  # fmt: skip
    order = torch.argsort(mean_ink, stable=True)  # digit of each column
    return (labels[:, None] == order[None, :]).to(inputs.images.dtype)
