"""Every digit at a point without labels: the clusters (scikit-learn's), their layouts
through the one loss, and the point metrics on models whose decodes are known."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from test_stages import stage
from torch import nn

from anchorvae.artifacts.clusters import load_memberships
from anchorvae.errors import BadInputFile
from anchorvae.evaluation.evaluate import ANCHOR_SAMPLES, layout_reads, point_metrics
from anchorvae.method.anchors import Layout, anchor_directions, layout_points, own_layout
from anchorvae.method.clusters import cluster_images
from anchorvae.method.layouts import layout_problem, unit_points
from anchorvae.method.loss import anchor_shift
from anchorvae.method.scores import ScoreInputs, anchor_scores
from anchorvae.pipeline.params_file import parse_params
from anchorvae.training.ensemble import Ensemble

from synthetic import digit_images, synthetic_raw_files, write_raw_files

ROOT = Path(__file__).resolve().parents[1]


def spec(**changed):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["clusters"].update({"k": 3, **changed})
    return parse_params(raw).clusters


@pytest.fixture(scope="module")
def images():
    return digit_images(120, seed=3)[0]  # (120, 28, 28) uint8, ten digits' shapes


def test_k_means_memberships_are_one_hot_and_ordered_by_mean_ink(images):
    clusters = cluster_images(images, spec())
    m = clusters.memberships
    assert m.shape == (120, 3) and m.dtype == np.float32
    assert set(np.unique(m)) == {0.0, 1.0} and (m.sum(axis=1) == 1).all()
    flat = images.reshape(120, -1).astype(np.float64) / 255
    ink = [flat[m[:, k] == 1].sum(axis=1).mean() for k in range(3)]
    assert ink == sorted(ink)  # the label-free rule that names each cluster's point
    mean0 = flat[m[:, 0] == 1].mean(axis=0).reshape(28, 28)
    np.testing.assert_allclose(clusters.means[0], mean0, atol=1e-6)
    assert clusters.record["sizes"] == m.sum(axis=0).tolist()


def test_a_mixture_s_memberships_are_soft_rows_summing_to_one(images):
    m = cluster_images(images, spec(method="gmm", features="pca", pca=5)).memberships
    assert (m >= 0).all() and np.allclose(m.sum(axis=1), 1, atol=1e-5)
    assert m.shape == (120, 3)


def test_the_same_seed_gives_the_same_clusters_and_another_may_not(images):
    a = cluster_images(images, spec(features="pca", pca=8, seed=5))
    b = cluster_images(images, spec(features="pca", pca=8, seed=5))
    assert a.memberships.tobytes() == b.memberships.tobytes()
    assert a.means.tobytes() == b.means.tobytes()


def test_more_clusters_than_images_is_refused_naming_the_key(images):
    with pytest.raises(ValueError, match="clusters.k = 200 is more than the 120 training"):
        cluster_images(images, spec(k=200))


def test_layouts_place_cluster_k_at_rate_times_u_k():
    axes = torch.tensor(unit_points("axes", 3, 4))
    torch.testing.assert_close(axes, torch.eye(3, 4))
    circle = torch.tensor(unit_points("circle", 4, 3))
    torch.testing.assert_close(circle[:, :2], torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1]]),
                               atol=1e-12, rtol=0)  # fmt: skip
    assert (circle[:, 2] == 0).all()
    assert "expected train.latent_dims >= 10 (it is 2)" in layout_problem("axes", 10, 2)
    assert "circle needs two latent dims" in layout_problem("circle", 10, 1)
    assert "expected >= 2" in layout_problem("circle", 1, 2)
    assert layout_problem("axes", 10, 10) is None


def variant(layout: str, rate: float = 3.0):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["clusters"]["k"] = 4
    raw["train"]["latent_dims"] = 4
    raw["variants"] = {"baseline": raw["variants"]["baseline"],
                       "anchored": {"anchor_rate": rate, "scale": "raw",
                                    "anchors": {"clusters": layout}}}  # fmt: skip
    return parse_params(raw).variants["anchored"]


@pytest.mark.parametrize("layout", ["axes", "circle"])
def test_the_shift_is_its_direct_computation_and_hard_members_sit_at_their_point(layout):
    memberships = torch.softmax(torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), 1)
    directions = anchor_directions(variant(layout), 4, columns=4)  # (4, 4)
    u = torch.tensor(unit_points(layout, 4, 4))
    direct = torch.stack([3.0 * sum(s[k] * -u[k] for k in range(4)) for s in memberships])
    torch.testing.assert_close(anchor_shift(memberships, directions, 3.0), direct)
    hard = torch.eye(4)[torch.tensor([0, 1, 2, 3, 3])]
    points = layout_points(hard, torch.tensor([5, 6, 7, 8, 9]), directions, 3.0).points
    torch.testing.assert_close(points.float(), 3.0 * u)  # the KL is smallest there


def test_a_cluster_with_no_member_keeps_its_layout_point_and_no_digit():
    directions = anchor_directions(variant("circle"), 4, columns=4)
    layout = layout_points(torch.eye(4)[[0, 0, 1, 2]], torch.tensor([3, 3, 4, 5]), directions, 2.0)
    torch.testing.assert_close(layout.points[3].float(), 2.0 * -directions[3])
    assert layout.digits.tolist() == [3, 4, 5, -1]


def test_a_point_is_named_by_its_cluster_s_majority_digit_and_accuracy_is_matched():
    hard = torch.eye(3)[torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])]
    labels = torch.tensor([4, 4, 9, 9, 9, 9, 9, 7])
    layout = layout_points(hard, labels, torch.eye(3) * -1, 1.0)
    assert layout.digits.tolist() == [4, 9, 9]  # two points stand for 9: 7 has none
    # Hungarian, one digit per cluster: 0 -> 4 (2), 1 -> 9 (2), 2 -> 7 (1): 5 of 8
    assert layout.accuracy == pytest.approx(5 / 8)


def test_scores_of_a_clusters_variant_are_its_memberships_and_the_digit_score_is_ink_ordered():
    images = torch.rand(6, 784)
    images[3:] *= 0.1  # the last three images (digit 2) have the least ink
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    memberships = torch.eye(3)[torch.tensor([1, 1, 0, 0, 2, 2])]
    inputs = ScoreInputs(images, labels, {}, memberships)
    torch.testing.assert_close(anchor_scores(["clusters"], inputs), memberships)
    digit = anchor_scores(["digit"], inputs)
    assert digit.shape == (6, 10)
    assert digit[4, 0] == 1 and digit[5, 0] == 1  # digit 2: the least ink, column 0


class NearestDecoder(nn.Module):
    """decode(z): an image whose first ten pixels are the one-hot of the digit of the point
    nearest to z; blank elsewhere."""

    def __init__(self, points: torch.Tensor, digits: list[int]):
        super().__init__()  # parameters, so that an ensemble stacks each member's own
        self.points = nn.Parameter(points.float())
        self.table = nn.Parameter(nn.functional.one_hot(torch.tensor(digits), 10).float())

    def decode(self, z):
        distance = ((z[..., None, :] - self.points) ** 2).sum(dim=-1)  # (..., points)
        nearest = nn.functional.one_hot(distance.argmin(dim=-1), len(self.points)).to(z.dtype)
        digits = nearest @ self.table  # (..., 10): the nearest point's digit, one-hot
        return torch.cat([digits, digits.new_zeros(*digits.shape[:-1], 774)], dim=-1)


class FirstPixelsReader(nn.Module):
    def forward(self, images):
        return images[:, :10]


def test_point_reads_on_a_model_whose_points_decode_known_digits():
    far = torch.tensor([[20.0, 0.0], [0.0, 20.0], [-20.0, 0.0]])
    layout = Layout(far, torch.tensor([3, 5, 8]), 0.9)
    good = NearestDecoder(far, [3, 5, 8])
    swapped = NearestDecoder(far, [5, 3, 8])  # draws 5 at the 3s' point and 3 at the 5s'
    ensemble = Ensemble([good, swapped], torch.device("cpu"))
    metrics, pictures, read = layout_reads(ensemble, FirstPixelsReader(), layout)
    assert metrics["point_read"].tolist() == pytest.approx([1.0, 1 / 3])
    assert metrics["point_read_min"].tolist() == [1.0, 0.0]
    assert metrics["digits_covered"].tolist() == [3, 3]  # both draw three digits
    assert metrics["same_points"].tolist() == [True, False]
    assert metrics["cluster_accuracy"].tolist() == pytest.approx([0.9, 0.9])
    assert pictures.shape[:2] == (2, 3) and read.shape == (2, 3)
    # two points on top of each other: their samples split between the two digits
    near = Layout(torch.tensor([[0.0, 0.0], [1e-3, 0.0]]), torch.tensor([1, 7]), None)
    reads = layout_reads(Ensemble([NearestDecoder(near.points, [1, 7])], torch.device("cpu")),
                         FirstPixelsReader(), near)[0]  # fmt: skip
    assert abs(reads["point_read"].item() - 0.5) < 4 / math.sqrt(ANCHOR_SAMPLES)
    assert "cluster_accuracy" not in reads


def test_point_metrics_count_the_digits_drawn_mostly():
    read = torch.tensor([[[1, 1, 2], [2, 2, 2], [2, 3, 2]]])  # (K=1, k=3, samples=3)
    metrics = point_metrics(read, torch.tensor([1, 2, 3]))
    assert metrics["point_read"].item() == pytest.approx((2 / 3 + 1 + 1 / 3) / 3)
    assert metrics["digits_covered"].item() == 2  # points draw 1, 2, 2 mostly
    assert not metrics["same_points"].item()


def test_a_cvae_s_ten_points_are_the_prior_centre_with_its_labels():
    params = parse_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    layout = own_layout(params.references["cvae"], torch.zeros(5, 0), torch.arange(5), 2)
    assert layout.digits.tolist() == list(range(10)) and (layout.points == 0).all()
    assert own_layout(params.variants["baseline"], torch.zeros(5, 0), torch.arange(5), 2) is None


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("clusters")
    write_raw_files(work / "mnist", synthetic_raw_files(n_train=90, n_test=10))
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["clusters"].update(k=3, features="pca", pca=6)
    (work / "params.yaml").write_text(yaml.safe_dump(raw))
    return work


def test_the_clusters_stage_writes_the_same_clusters_for_the_same_seed(work):
    for out in ("a", "b"):
        stage("clusters")([str(work / "mnist"), str(work / out), "--params",
                           str(work / "params.yaml")])  # fmt: skip
    for name in ("memberships.npy", "means.npy", "clusters.json"):
        assert (work / "a" / name).read_bytes() == (work / "b" / name).read_bytes()
    assert load_memberships(work / "a", 90).shape == (90, 3)
    with pytest.raises(BadInputFile, match="expected \\(80, k\\)"):
        load_memberships(work / "a", 80)


def test_the_points_figure_shows_the_best_cell_and_names_cells_by_what_differs():
    import pandas as pd

    from anchorvae.reports.points_figure import PointPictures, best_cell, points_figure

    rows = []
    for label, layout, read in (("a", "axes", 0.7), ("b", "circle", 0.9)):
        for variant, shift in (("baseline", -0.6), ("ten_clusters", 0.0)):
            rows.append({"experiment": label, "state": "Success", "label": label, "k": 10,
                         "layout": layout, "rate": 4.0, "variant": variant,
                         "point_read.mean": read + shift, "point_read.ci_low": read + shift - 0.05,
                         "point_read.ci_high": read + shift + 0.05})  # fmt: skip
    table = pd.DataFrame(rows)
    assert best_cell(table, "ten_clusters") == "b"
    from anchorvae.reports.points_figure import short_labels

    assert short_labels(table) == {"a": "axes", "b": "circle"}  # k and rate are the same
    reads = pd.DataFrame({"point": range(3), "digit": [1, 7, 0], "read": [0.9, 0.8, 1.0]})
    pictures = PointPictures("b", np.zeros((3, 8, 28, 28), np.uint8), reads,
                             np.zeros((3, 28, 28), np.float32))  # fmt: skip
    figure = points_figure(table, pictures, "t")
    assert len(figure.axes) == 1 + 3 * 9  # the reads, then per point its mean and 8 images
