"""Anchor points, and the anchor decode read on models whose decoder output is known."""

import json
import math
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from anchorvae.artifacts.anchor_points import ANCHORS, points_to_decode, read_anchor_points
from anchorvae.errors import BadInputFile
from anchorvae.evaluation.evaluate import ANCHOR_SAMPLES, anchor_reads
from anchorvae.method.anchors import anchor_distance, anchor_points, own_points
from anchorvae.pipeline.params_file import parse_params
from anchorvae.training.ensemble import Ensemble

ROOT = Path(__file__).resolve().parents[1]


def project_params():
    return parse_params(yaml.safe_load((ROOT / "params.yaml").read_text()))


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


def points_json(rows) -> str:
    return json.dumps({"points": rows})


GOOD = [[-0.5, -0.5], [1.0, 1.0], *[[0.25, 0.75]] * 8]  # float32 exactly


def test_points_round_trip_beside_the_checkpoints(tmp_path):
    (tmp_path / ANCHORS).write_text('{"points": null}')
    assert read_anchor_points(tmp_path, 2) is None  # a plain VAE's
    (tmp_path / ANCHORS).write_text(points_json(GOOD))
    assert read_anchor_points(tmp_path, 2).tolist() == GOOD
    no_fives = [*GOOD[:5], [math.nan, math.nan], *GOOD[6:]]  # no 5 among the images: allowed
    (tmp_path / ANCHORS).write_text(json.dumps({"points": no_fives}))
    assert read_anchor_points(tmp_path, 2)[5].isnan().all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "anchors.json is missing: run the train stage"),
        ("{not json", "is not an anchors file"),
        ('{"pts": null}', "is not an anchors file"),
        ('{"points": [[1, "a"]]}', "is not an anchors file"),
        (points_json([[1.0, 2.0, 3.0]] * 10), r"shape \(10, 3\), expected \(10, 2\)"),
        (points_json([[1.0, 2.0]]), r"shape \(1, 2\), expected \(10, 2\)"),
        (points_json(7), r"shape \(\), expected"),
        (json.dumps({"points": [[math.nan, math.nan], *GOOD[1:]]}), "not finite"),
        (json.dumps({"points": [*GOOD[:1], [math.inf, 1.0], *GOOD[2:]]}), "not finite"),
        (json.dumps({"points": [*GOOD[:7], [0.0, -math.inf], *GOOD[8:]]}), "not finite"),
        (json.dumps({"points": [*GOOD[:7], [0.0, math.nan], *GOOD[8:]]}), "not finite"),
    ],
    ids=["missing", "not-json", "no-points", "text", "10x3", "one-row", "scalar", "nan-0s",
         "inf-1s", "inf-elsewhere", "half-nan"],
)  # fmt: skip
def test_a_bad_anchors_file_is_named_never_decoded(tmp_path, text, message):
    if text is not None:
        (tmp_path / ANCHORS).write_text(text)
    with pytest.raises(BadInputFile, match=message):
        read_anchor_points(tmp_path, 2)


def test_the_points_a_variant_decodes_must_agree_with_its_params(tmp_path):
    params = project_params()
    for name in ("baseline", "anchored", "label_reference"):
        (tmp_path / name).mkdir()
    (tmp_path / "baseline" / ANCHORS).write_text('{"points": null}')
    (tmp_path / "anchored" / ANCHORS).write_text(points_json(GOOD))
    (tmp_path / "label_reference" / ANCHORS).write_text(points_json(GOOD[::-1]))
    own = points_to_decode(
        tmp_path / "label_reference", "label_reference", params.variants, 2, "anchored"
    )[0]
    assert own.tolist() == GOOD[::-1]
    control = points_to_decode(tmp_path / "baseline", "baseline", params.variants, 2, "anchored")[
        0
    ]
    assert control.tolist() == GOOD  # a plain VAE decodes anchored's points
    (tmp_path / "anchored" / ANCHORS).write_text('{"points": null}')  # edited by hand
    with pytest.raises(BadInputFile, match="holds no anchor points, but variant anchored is "
                       "anchored in params.yaml"):  # fmt: skip
        points_to_decode(tmp_path / "baseline", "baseline", params.variants, 2, "anchored")[0]
    (tmp_path / "baseline" / ANCHORS).write_text(points_json(GOOD))
    with pytest.raises(BadInputFile, match="holds anchor points, but variant baseline is a "
                       "plain VAE"):  # fmt: skip
        points_to_decode(tmp_path / "baseline", "baseline", params.variants, 2, "anchored")[0]
    # at anchor_rate 0 the control has no points, and nothing is decoded
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["variants"]["anchored"]["anchor_rate"] = 0.0
    (tmp_path / "baseline" / ANCHORS).write_text('{"points": null}')
    assert (
        points_to_decode(
            tmp_path / "baseline", "baseline", parse_params(raw).variants, 2, "anchored"
        )[0]
        is None
    )


class SignDecoder(nn.Module):
    """decode(z): an all-ink image where sign * sum(z) > 0, a blank one elsewhere."""

    def __init__(self, sign: float):
        super().__init__()
        self.sign = nn.Parameter(torch.tensor([sign]))

    def decode(self, z):
        ink = (self.sign * z.sum(dim=-1, keepdim=True) > 0).float()  # (B, 1)
        return ink.expand(*z.shape[:-1], 784)


class LabelDecoder(nn.Module):
    """A CVAE's decode(z, y): an all-ink image where y says ``digit``, blank elsewhere."""

    def __init__(self, digit: int):
        super().__init__()
        self.picks = nn.Parameter(torch.eye(10)[:, digit : digit + 1])  # (10, 1)

    def decode(self, z, y):
        ink = y @ self.picks  # (B, 1): 1 where y is the one-hot of ``digit``
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
    # how far out the decoded points lie, the same for every member: |(c, c)| = sqrt(2) c
    assert reads["anchor_distance"].tolist() == pytest.approx([math.sqrt(2) * c] * 2)


def test_the_anchor_distance_is_the_anchored_digits_mean_distance():
    points = torch.full((10, 3), math.nan)  # other digits' rows do not count, NaN or not
    points[0], points[1] = torch.tensor([-3.0, -4.0, 0.0]), torch.tensor([0.6, 0.8, 0.0])
    assert anchor_distance(points) == pytest.approx((5.0 + 1.0) / 2)
    assert anchor_distance(torch.zeros(10, 2)) == 0.0  # a CVAE's points: the prior's centre


def test_a_cvae_decodes_each_anchor_code_with_its_intended_digits_label():
    """The prior's centre, and samples around it, decoded with y = 0 for the 0s and y = 1
    for the 1s: a decoder that draws ink for y = 1 reads right every time, one that draws
    it for y = 0 never (the reader sees ink as a 1)."""
    models = [LabelDecoder(1), LabelDecoder(0)]
    reads = anchor_reads(Ensemble(models, torch.device("cpu")), InkReader(), torch.zeros(10, 2),
                         classes=10)  # fmt: skip
    assert reads["anchor_point_read"].tolist() == [1.0, 0.0]
    assert reads["anchor_decode"].tolist() == [1.0, 0.0]


def test_a_cvae_decodes_the_prior_centre_of_its_own_anchors_file(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["variants"]["cvae"] = raw["references"]["cvae"]  # as a grid's cell adds it
    params = parse_params(raw)
    (tmp_path / "cvae").mkdir()
    points = own_points(params.variant("cvae"), torch.zeros(5, 0), torch.arange(5), 2)
    assert points.tolist() == [[0.0, 0.0]] * 10
    assert own_points(params.variant("baseline"), torch.zeros(5, 0), torch.arange(5), 2) is None
    (tmp_path / "cvae" / ANCHORS).write_text(points_json(points.tolist()))
    assert (
        points_to_decode(tmp_path / "cvae", "cvae", params.variants, 2, "anchored")[0].tolist()
        == points.tolist()
    )
    (tmp_path / "cvae" / ANCHORS).write_text('{"points": null}')
    with pytest.raises(BadInputFile, match="holds no anchor points, but variant cvae is a CVAE"):
        points_to_decode(tmp_path / "cvae", "cvae", params.variants, 2, "anchored")[0]
