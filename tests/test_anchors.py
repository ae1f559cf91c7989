"""Anchor points, and the anchor decode read on models whose decoder output is known."""

import math

import pytest
import torch
from torch import nn

from anchorvae.anchors import anchor_points
from anchorvae.ensemble import Ensemble
from anchorvae.evaluate import ANCHOR_SAMPLES, anchor_reads


def test_a_digits_point_is_minus_rate_times_its_mean_scores_along_the_directions():
    scores = torch.tensor([[0.4, 1.0], [0.6, 3.0], [-1.0, 0.0], [-0.5, 2.0]])
    labels = torch.tensor([0, 0, 1, 1])
    directions = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, -1.0]])  # (S=2, D=3)
    points = anchor_points(scores, labels, directions, rate=2.0)
    # digit 0: mean scores (0.5, 2.0) -> -2 * (0.5 (1,1,1) + 2 (0,1,-1)) = (-1, -5, 3)
    torch.testing.assert_close(points[0], torch.tensor([-1.0, -5.0, 3.0], dtype=torch.float64))
    # digit 1: mean scores (-0.75, 1.0) -> -2 * (-0.75 (1,1,1) + (0,1,-1)) = (1.5, -0.5, 3.5)
    torch.testing.assert_close(points[1], torch.tensor([1.5, -0.5, 3.5], dtype=torch.float64))
    assert torch.isnan(points[2:]).all()  # digits without images


def test_points_round_trip_beside_the_checkpoints_and_a_bad_file_is_named(tmp_path):
    from anchorvae.checkpoints import ANCHORS, read_anchor_points
    from anchorvae.errors import BadInputFile

    assert read_anchor_points(tmp_path) is None  # no file: no anchor decode
    (tmp_path / ANCHORS).write_text('{"points": null}')
    assert read_anchor_points(tmp_path) is None
    (tmp_path / ANCHORS).write_text('{"points": [[1.5, -2.0]]}')
    assert read_anchor_points(tmp_path).tolist() == [[1.5, -2.0]]
    (tmp_path / ANCHORS).write_text("{not json")
    with pytest.raises(BadInputFile, match=f"{ANCHORS} is not an anchors file"):
        read_anchor_points(tmp_path)


class SignDecoder(nn.Module):
    """decode(z): an all-ink image where sign * sum(z) > 0, a blank one elsewhere."""

    def __init__(self, sign: float):
        super().__init__()
        self.sign = nn.Parameter(torch.tensor([sign]))

    def decode(self, z):
        ink = (self.sign * z.sum(dim=-1, keepdim=True) > 0).float()  # (B, 1)
        return ink.expand(*z.shape[:-1], 784)


class InkReader(nn.Module):
    """Reads an image with ink as a 1 and a blank image as a 0."""

    def forward(self, images):
        ink = images.mean(dim=-1, keepdim=True)
        logits = torch.full((len(images), 10), -10.0)
        return torch.cat([1 - ink, ink, logits[:, 2:]], dim=1)


def test_anchor_reads_match_the_known_decoders():
    c = 1.0  # 0s anchored at (-c, -c), 1s at (c, c)
    points = torch.zeros(10, 2)
    points[0], points[1] = -c, c
    models = [SignDecoder(1.0), SignDecoder(-1.0)]  # the second has every side swapped
    reads = anchor_reads(Ensemble(models, torch.device("cpu")), InkReader(), points)
    assert reads["anchor_point_read"].tolist() == [1.0, 0.0]
    # N((c, c), I): z1 + z2 ~ N(2c, 2), so the right side with probability Phi(sqrt(2) c)
    expected = 0.5 * (1 + math.erf(c))  # Phi(sqrt(2) c) = (1 + erf(c)) / 2
    sd = math.sqrt(expected * (1 - expected) / (2 * ANCHOR_SAMPLES))
    right, wrong = reads["anchor_decode"].tolist()
    assert right == pytest.approx(expected, abs=4 * sd)
    assert wrong == pytest.approx(1 - right)  # the same draws, every side swapped
