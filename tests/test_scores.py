from types import SimpleNamespace

import numpy as np
import pytest

from anchorvae.method.layouts import MEMBERSHIP_POINTS
from anchorvae.method.scores import SCORES, build_all_maps, map_titles, scores_by_digit
from anchorvae.method.scores._base import class_mean_map
from anchorvae.method.scores.donutness import build_maps as donutness_maps
from anchorvae.method.scores.donutness import post_donut, post_stick


def expected_donut_row(r: int) -> list[int]:
    """The issue's description of the seed's donut, written out independently."""
    d = min(r, 27 - r)
    if d == 0:
        lo, hi = 7, 20
    elif d == 1:
        lo, hi = 6, 21
    elif d in (2, 3):
        lo, hi = 5, 22
    elif d == 4:
        lo, hi = 4, 23
    else:
        lo, hi = 3, 24
    row = [1 if lo <= c <= hi else 0 for c in range(28)]
    if 4 <= r <= 23:
        row = [0 if 10 <= c <= 17 else v for c, v in enumerate(row)]
    return row


def test_post_donut_matches_the_description_cell_for_cell():
    expected = np.array([expected_donut_row(r) for r in range(28)], dtype=np.float32)
    donut = post_donut()
    assert donut.dtype == np.float32 and donut.shape == (28, 28)
    np.testing.assert_array_equal(donut, expected)
    assert donut.sum() == 408


def test_post_stick_is_columns_11_to_16():
    stick = post_stick()
    expected = np.zeros((28, 28), dtype=np.float32)
    expected[:, 11:17] = 1
    np.testing.assert_array_equal(stick, expected)
    assert stick.sum() == 168


def test_class_mean_is_scaled_mean_of_that_digit():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 200
    images[1, 0, 0] = 100
    images[1, 5, 5] = 50
    images[2, 9, 9] = 255  # a '1', must not leak into the '0' map
    labels = np.array([0, 0, 1])
    donut = class_mean_map(images, labels, 0)
    assert donut[0, 0] == pytest.approx(1.0)
    assert donut[5, 5] == pytest.approx(25 / 150)
    assert donut[9, 9] == 0
    assert donut.dtype == np.float32


def spec(kind: str, **keys):
    """A templates section (method/templates.TemplateSpec) of ``kind``, its keys 0 but ``keys``."""
    return SimpleNamespace(**{"kind": kind, "shots": 0, "seed": 0, "clusters": 0, "top": 0,
                              "rounds": 0, **keys})  # fmt: skip


def tiny_training_set() -> tuple[np.ndarray, np.ndarray]:
    """One image per digit d, its ink in row d, so each class mean is known."""
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    for d in range(10):
        images[d, d, :] = 255
    return images, np.arange(10)


@pytest.mark.parametrize("kind", ["post", "class_mean"])
def test_every_scores_maps_are_built_and_the_second_pair_is_mean_7_and_6(kind):
    images, labels = tiny_training_set()
    maps = build_all_maps(spec(kind), images, labels)[0]
    assert tuple(maps) == tuple(map_titles()) == ("donut", "stick", "seven", "six")
    np.testing.assert_array_equal(maps["seven"], images[7] / 255)
    np.testing.assert_array_equal(maps["six"], images[6] / 255)
    first = (post_donut(), post_stick()) if kind == "post" else (images[0] / 255, images[1] / 255)
    np.testing.assert_array_equal(maps["donut"], first[0])
    np.testing.assert_array_equal(maps["stick"], first[1])


def test_unknown_kind_names_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed are post, class_mean, clusters, bootstrap"):
        donutness_maps(spec("seed"), *tiny_training_set())


def test_scores_by_digit_gives_each_scores_mean_per_digit():
    images, labels = tiny_training_set()
    images = np.concatenate([images, images])  # two of each digit: an sd of 0
    labels = np.concatenate([labels, labels])
    table = scores_by_digit(build_all_maps(spec("class_mean"), images, labels)[0], images, labels)
    means = table[table["stat"] == "mean"].set_index("score")
    # a membership score's k columns are no number per image: its points are its record
    assert set(means.index) == set(SCORES) - set(MEMBERSHIP_POINTS)
    # each image's ink is one row, which only its own class mean covers
    assert means.loc["sevenness", "7"] == pytest.approx(1.0)
    assert means.loc["sevenness", "6"] == pytest.approx(-1.0)
    assert means.loc["sevenness", "3"] == pytest.approx(0.0)
    assert means.loc["donutness", "0"] == pytest.approx(1.0)
    assert means.loc["label", "1"] == pytest.approx(-1.0)
    assert table[table["stat"] == "sd"].drop(columns=["score", "stat"]).to_numpy().max() == 0


def test_a_new_score_module_is_found_with_its_maps(tmp_path, monkeypatch):
    """Adding a score is one module in anchorvae/method/scores: the registry finds it."""
    import anchorvae.method.scores as scores

    module = tmp_path / "inkiness.py"
    module.write_text(
        "import numpy as np\n"
        "MAPS = {'blot': 'blot'}\n"
        "def build_maps(spec, images, labels):\n"
        "    return {'blot': np.ones((28, 28), np.float32)}, {}\n"
        "def score(inputs):\n"
        "    return inputs.images.sum(dim=-1)\n"
    )
    monkeypatch.setattr(scores, "__path__", [*scores.__path__, str(tmp_path)])
    names = scores._names()
    assert "inkiness" in names and set(SCORES) < set(names)
    monkeypatch.setattr(scores, "_modules", lambda: scores._import(names))
    maps, _ = build_all_maps(spec("post"), *tiny_training_set())
    assert "blot" in maps and "blot" in map_titles()


def synthetic_inputs(n=200, seed=0):
    import torch

    from anchorvae.method.scores import ScoreInputs

    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 784, generator=g, dtype=torch.float64)
    labels = torch.arange(n) % 10
    maps = {name: torch.rand(784, generator=g, dtype=torch.float64)
            for name in ("donut", "stick", "seven", "six")}  # fmt: skip
    return ScoreInputs(images, labels, maps)


def test_a_standardised_score_has_mean_0_and_sd_1_over_the_training_images():
    from anchorvae.method.scores import anchor_scores

    inputs = synthetic_inputs()
    raw = anchor_scores(["donutness", "sevenness"], inputs)
    standard = anchor_scores(["donutness", "sevenness"], inputs, "standard")
    assert standard.mean(dim=0).abs().max() < 1e-12
    assert (standard.std(dim=0, correction=0) - 1).abs().max() < 1e-12
    # the same order of images: an affine map of each raw column
    assert np.corrcoef(raw[:, 0], standard[:, 0])[0, 1] > 1 - 1e-12


def test_the_label_score_cannot_be_standardised():
    from anchorvae.method.scores import anchor_scores

    with pytest.raises(ValueError, match="the label score takes scale raw only"):
        anchor_scores(["donutness", "label"], synthetic_inputs(), "standard")


def test_a_few_shot_template_uses_exactly_k_images_drawn_by_its_seed():
    from anchorvae.method.scores import few_shot_labels

    labels = np.arange(1000) % 10
    hidden, kept = few_shot_labels(labels, (0, 1), 10, seed=3)
    assert {d: len(i) for d, i in kept.items()} == {0: 10, 1: 10}
    for digit, indices in kept.items():
        assert (labels[indices] == digit).all()
        assert set(np.flatnonzero(hidden == digit)) == set(indices)  # only they are seen
    assert (hidden[labels >= 2] == labels[labels >= 2]).all()  # other digits untouched
    again = few_shot_labels(labels, (0, 1), 10, seed=3)[1]
    other = few_shot_labels(labels, (0, 1), 10, seed=4)[1]
    assert all((again[d] == kept[d]).all() for d in kept)
    assert any(set(other[d]) != set(kept[d]) for d in kept)
    whole, every = few_shot_labels(labels, (0, 1), 0, seed=3)
    assert (whole == labels).all() and len(every[0]) == 100
    with pytest.raises(ValueError, match="templates.shots = 101 is more than the 100 training"):
        few_shot_labels(labels, (0, 1), 101, seed=0)


def test_few_shot_class_means_are_the_means_of_the_chosen_images():
    from anchorvae.method.scores import build_all_maps, few_shot_labels

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(500, 28, 28)).astype(np.uint8)
    labels = np.arange(500) % 10
    hidden, kept = few_shot_labels(labels, (0, 1), 5, seed=1)
    maps, _ = build_all_maps(spec("class_mean"), images, hidden)
    mean0 = images[kept[0]].astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(maps["donut"], mean0 / mean0.max(), rtol=1e-6)
    mean7 = images[labels == 7].astype(np.float64).mean(axis=0)  # other scores: every 7
    np.testing.assert_allclose(maps["seven"], mean7 / mean7.max(), rtol=1e-6)


def test_the_stages_record_the_shots_and_refuse_a_scale_a_score_cannot_take(tmp_path):
    """In-process, on tiny synthetic MNIST: few-shot templates list their images and seed
    beside the figure; a standardised label score is one line naming the key."""
    import json

    import yaml
    from test_stages import TINY, stage

    from anchorvae.errors import UsageError

    from synthetic import synthetic_raw_files, write_raw_files

    write_raw_files(tmp_path / "mnist", synthetic_raw_files(n_train=100, n_test=20))
    params = {**TINY, "templates": {**TINY["templates"], "kind": "class_mean", "shots": 3,
                                    "seed": 7}}  # fmt: skip
    params["variants"] = {**TINY["variants"], "label_reference": {
        "anchor_rate": 2.0, "scale": "standard", "anchors": {"label": 1.0}}}  # fmt: skip
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    flags = ["--params", str(tmp_path / "params.yaml")]
    stage("templates")(["--mnist", str(tmp_path / "mnist"), "--maps", str(tmp_path / "maps"),
                        "--out", str(tmp_path / "templates"), *flags])  # fmt: skip
    record = json.loads((tmp_path / "templates" / "shots.json").read_text())
    assert record["shots"] == 3 and record["seed"] == 7
    assert [len(record["training_images"][d]) for d in ("0", "1")] == [3, 3]
    with pytest.raises(UsageError, match="variants.label_reference.scale = 'standard' is "
                       "invalid: the label score takes scale raw only"):  # fmt: skip
        stage("scores")(["label_reference", str(tmp_path / "mnist"), str(tmp_path / "maps"),
                         str(tmp_path / "none"), str(tmp_path / "s.npy"), *flags])  # fmt: skip
    assert not (tmp_path / "s.npy").exists()


def test_the_scales_a_score_takes_are_read_without_importing_it_and_checked_with_the_params():
    """The params stage refuses a standardised label score before DVC removes anything."""
    import yaml
    from test_stages import ROOT

    from anchorvae.method.scores import declared_scales, scales_of
    from anchorvae.pipeline.params import ParamsError
    from anchorvae.pipeline.params_file import parse_params

    scales = declared_scales()
    assert scales == {name: scales_of(name) for name in SCORES}
    assert scales["label"] == ("raw",)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["variants"]["label_reference"]["scale"] = "standard"
    parse_params(raw, tuple(scales))  # names only: the scores stage would refuse it
    with pytest.raises(ParamsError, match=r"^variants.label_reference.scale = 'standard' is "
                       "invalid: the label score takes scale raw only$"):  # fmt: skip
        parse_params(raw, scales)
