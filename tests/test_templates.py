"""Label-free templates (anchorvae/method/templates.py): the data makes its own donut and
stick, named by the post's maps, and reads no label doing it; and template purity, read
off the labels once a template is fixed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from anchorvae.method.anchors import template_purity
from anchorvae.method.scores import build_all_maps
from anchorvae.method.scores.donutness import build_maps as donutness_maps
from anchorvae.method.scores.donutness import post_donut, post_stick
from anchorvae.method.templates import bootstrap_templates, label_free_templates


def spec(kind: str, **keys):
    return SimpleNamespace(**{"kind": kind, "shots": 0, "seed": 0, "clusters": 0, "top": 0,
                              "rounds": 0, **keys})  # fmt: skip


def two_shapes(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 28, 28): half the post's donut, half its stick, each with noise; and
    which is which (0: donut, 1: stick)."""
    rng = np.random.default_rng(seed)
    shapes = np.stack([post_donut(), post_stick()])
    which = np.arange(n) % 2
    noisy = shapes[which] * rng.uniform(0.6, 1.0, (n, 1, 1)) + rng.uniform(0, 0.2, (n, 28, 28))
    return (np.clip(noisy, 0, 1) * 255).astype(np.uint8), which


@pytest.mark.parametrize("kind", [spec("clusters", clusters=4, seed=3),
                                  spec("bootstrap", top=10, rounds=2)])  # fmt: skip
def test_a_label_free_template_reads_no_label(kind):
    images, which = two_shapes()
    labels = np.arange(len(images)) % 10
    maps, made_of = build_all_maps(kind, images, labels)
    shuffled, _ = build_all_maps(kind, images, np.random.default_rng(1).permutation(labels))
    hidden, _ = donutness_maps(kind, images, np.full_like(labels, -1))  # no label at all
    for name in ("donut", "stick"):
        assert maps[name].tobytes() == shuffled[name].tobytes() == hidden[name].tobytes()
    assert made_of["donutness"]["kind"] == kind.kind


def test_clusters_recover_two_known_shapes_and_the_post_s_maps_name_them():
    images, which = two_shapes()
    maps, record = label_free_templates(spec("clusters", clusters=2, seed=0), images,
                                        post_donut(), post_stick())  # fmt: skip
    flat = images.reshape(len(images), -1) / 255
    for name, shape in (("donut", 0), ("stick", 1)):
        mean = flat[which == shape].mean(axis=0)
        np.testing.assert_allclose(maps[name].reshape(-1), mean / mean.max(), atol=1e-6)
    assert sorted(record["sizes"]) == [60, 60]
    assert record["donut_cluster"] != record["stick_cluster"]


def test_the_same_seed_gives_the_same_clusters():
    images, _ = np.random.default_rng(2).integers(0, 256, (200, 28, 28), np.uint8), None
    runs = [label_free_templates(spec("clusters", clusters=8, seed=s), images, post_donut(),
                                 post_stick()) for s in (5, 5, 6)]  # fmt: skip
    (a, ra), (b, rb), (_, rc) = runs
    assert a["donut"].tobytes() == b["donut"].tobytes() and ra == rb
    assert rc["sizes"] != ra["sizes"]  # another start, other clusters (on noise, surely)


def test_bootstrap_with_no_rounds_is_the_post_s_score_and_a_round_takes_the_top_means():
    images, which = two_shapes()
    flat = images.reshape(len(images), -1).astype(np.float64) / 255
    maps, record = bootstrap_templates(flat, 5, 0, post_donut(), post_stick())
    np.testing.assert_array_equal(maps["donut"], post_donut())
    np.testing.assert_array_equal(maps["stick"], post_stick())
    assert record == {"kind": "bootstrap", "top": 5, "rounds": 0, "images": 120}
    maps, _ = bootstrap_templates(flat, 60, 1, post_donut(), post_stick())
    donuts = flat[which == 0].mean(axis=0)  # the post's score splits the shapes exactly
    np.testing.assert_allclose(maps["donut"].reshape(-1), donuts / donuts.max(), atol=1e-6)


@pytest.mark.parametrize(("keys", "message"), [
    ({"kind": "clusters", "clusters": 121}, "templates.clusters = 121 is more than the 120"),
    ({"kind": "bootstrap", "top": 61}, "templates.top = 61 is more than half of the 120"),
])  # fmt: skip
def test_too_few_images_for_the_template_is_named(keys, message):
    with pytest.raises(ValueError, match=message):
        label_free_templates(spec(**keys), two_shapes()[0], post_donut(), post_stick())


def test_purity_of_the_label_score_is_one_and_of_a_reversed_one_zero():
    labels = torch.tensor([0, 1, 2, 0, 1, 3, 0, 7, 1, 1])
    label_score = ((labels == 0).double() - (labels == 1).double())[:, None]  # (N, 1)
    diagonal = torch.ones(1, 2)
    assert template_purity(label_score, labels, diagonal) == {
        "template_purity_zero": 1.0, "template_purity_one": 1.0}  # fmt: skip
    assert template_purity(-label_score, labels, diagonal) == {
        "template_purity_zero": 0.0, "template_purity_one": 0.0}  # fmt: skip
    # a second axis across (1, 1) changes nothing: only the pull along it counts
    two = torch.cat([label_score, torch.randn(len(labels), 1)], dim=1)
    directions = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    assert template_purity(two, labels, directions)["template_purity_zero"] == 1.0
    # half right: of the three images pulled furthest to (-,-), two are 0s
    mixed = torch.tensor([3.0, 0, 0, 2, 0, 2.5, 1, 0, 0, 0])[:, None]
    assert template_purity(mixed, labels, diagonal)["template_purity_zero"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(("keys", "message"), [
    ({"kind": "clusters", "clusters": 1},
     "templates.clusters = 1 is invalid with templates.kind = clusters: expected an integer >= 2"),
    ({"kind": "bootstrap", "top": 0, "rounds": 1},
     "templates.top = 0 is invalid with templates.kind = bootstrap: expected an integer >= 1"),
    ({"kind": "bootstrap", "top": 10, "rounds": -1}, "templates.rounds = -1 is invalid"),
    ({"kind": "clusters", "clusters": 10, "top": 5},
     "templates.top = 5 is invalid with templates.kind = clusters, which does not take it: "
     "expected 0, or templates.kind = bootstrap"),
    ({"kind": "bootstrap", "top": 10, "shots": 3},
     "templates.shots = 3 is invalid with templates.kind = bootstrap, which does not take it"),
    # values that would change nothing: no rounds (the post's maps), a seed nothing uses
    ({"kind": "bootstrap", "top": 5, "rounds": 0},
     "templates.rounds = 0 is invalid with templates.kind = bootstrap: expected an integer >= 1"),
    ({"kind": "post", "seed": 3},
     "templates.seed = 3 is invalid with templates.kind = post, which does not take it: "
     "expected 0, or templates.kind = clusters, or class_mean with shots >= 1"),
    ({"kind": "class_mean", "shots": 0, "seed": 2},
     "templates.seed = 2 is invalid with templates.kind = class_mean and shots = 0"),
    ({"kind": "bootstrap", "top": 5, "rounds": 1, "seed": 1}, "templates.seed = 1 is invalid"),
    # bounds that keep a cell within minutes, with the reason
    ({"kind": "clusters", "clusters": 30000},
     "templates.clusters = 30000 is invalid: expected an integer >= 0 and <= 200 (k-means time "
     "grows with k"),
    ({"kind": "bootstrap", "top": 60001, "rounds": 1},
     "templates.top = 60001 is invalid: expected an integer >= 0 and <= 60000"),
])  # fmt: skip
def test_a_template_key_out_of_range_or_of_another_kind_is_one_line(keys, message):
    import yaml
    from test_stages import ROOT

    from anchorvae.pipeline.params import ParamsError
    from anchorvae.pipeline.params_file import parse_params

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["templates"].update(keys)
    with pytest.raises(ParamsError) as err:
        parse_params(raw)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_the_templates_stage_names_a_template_too_big_for_the_images(tmp_path):
    import yaml
    from test_stages import TINY, stage

    from anchorvae.errors import UsageError

    from synthetic import synthetic_raw_files, write_raw_files

    write_raw_files(tmp_path / "mnist", synthetic_raw_files(n_train=100, n_test=20))
    params = {**TINY, "templates": {**TINY["templates"], "kind": "clusters", "clusters": 101}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    args = ["--mnist", str(tmp_path / "mnist"), "--maps", str(tmp_path / "maps"), "--out",
            str(tmp_path / "t"), "--params", str(tmp_path / "params.yaml")]  # fmt: skip
    with pytest.raises(UsageError, match="templates.clusters = 101 is more than the 100 "):
        stage("templates")(args)
    assert not (tmp_path / "maps").exists() and not (tmp_path / "t").exists()
    params["templates"]["clusters"] = 3  # and a good one records what it was made of
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    stage("templates")(args)
    made_of = yaml.safe_load((tmp_path / "t" / "made_of.json").read_text())["donutness"]
    assert made_of["kind"] == "clusters" and sum(made_of["sizes"]) == 100
