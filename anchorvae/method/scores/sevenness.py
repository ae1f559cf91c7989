"""A second axis: overlap with the mean training 7 minus overlap with the mean 6, over
the ink.

Of all pairs of class means among the digits 2-9, this one spreads those digits the most
relative to their own spread, and it scores 0s and 1s near the others' mean, so it leaves
the donutness axis alone (data/templates/scores_by_digit.csv has the numbers).
"""

from __future__ import annotations

import numpy as np
import torch

from anchorvae.method.scores._base import ScoreInputs, class_mean_map, map_difference_score

MAPS = {"seven": "mean 7\n(sevenness +: to −,+)", "six": "mean 6\n(sevenness −: to +,−)"}
DIGITS = {"seven": 7, "six": 6}  # map name -> the digit whose mean it is


def build_maps(spec, images: np.ndarray, labels: np.ndarray) -> tuple[dict[str, np.ndarray], dict]:
    """The mean 7 and mean 6, whatever the template ``spec`` (it chooses the donutness
    maps only); nothing to record."""
    return {name: class_mean_map(images, labels, digit) for name, digit in DIGITS.items()}, {}


def score(inputs: ScoreInputs) -> torch.Tensor:
    """(N,): (x . mean7 - x . mean6) / sum(x)."""
    return map_difference_score(inputs, "seven", "six")
