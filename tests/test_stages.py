"""The stage scripts on tiny synthetic MNIST, called in-process (no DVC here)."""

import hashlib
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from anchorvae.artifacts.models import load_checkpoint, model_path, read_history, trained_seeds
from anchorvae.errors import StageFailure, UsageError
from anchorvae.evaluation.metrics import headline_paths

from conftest import stage_module
from synthetic import pins_of, write_raw_files

ROOT = Path(__file__).resolve().parents[1]


def tiny_params(**sections) -> dict:
    """The repo's params.yaml, made tiny, with ``sections`` merged over it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update(epochs=2, batch_size=32)
    params["seeds"] = [0, 1]
    params["classifier"]["epochs"] = 1
    params["evaluate"].update(grid_size=4, sample_size=50)
    for name, values in sections.items():
        if isinstance(values, dict) and name != "variants":
            params[name].update(values)
        else:
            params[name] = values
    return params


TINY = tiny_params()
M2 = yaml.safe_load((ROOT / "params.yaml").read_text())["references"]["m2"]


def stage(name):
    return stage_module(name).main


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, raw_files):
    work = tmp_path_factory.mktemp("stages")
    write_raw_files(work / "mnist", raw_files)
    (work / "params.yaml").write_text(yaml.safe_dump(TINY))
    stage("templates")(
        [
            "--mnist",
            str(work / "mnist"),
            "--maps",
            str(work / "maps"),
            "--out",
            str(work / "templates"),
            "--params",
            str(work / "params.yaml"),
        ]
    )
    stage("clusters")([str(work / "mnist"), str(work / "clusters"), "--params",
                       str(work / "params.yaml")])  # fmt: skip
    return work


def scores(work, variant, params="params.yaml", clusters="clusters"):
    out = work / "scores" / params / f"{variant}.npy"
    stage("scores")(
        [
            variant,
            str(work / "mnist"),
            str(work / "maps"),
            str(work / clusters),
            str(out),
            "--params",
            str(work / params),
        ]
    )
    return out


def train(work, variant, out, params="params.yaml", clusters="clusters"):
    argv = [
        variant,
        str(work / "mnist"),
        str(scores(work, variant, params, clusters)),
        str(out),
        "--params",
        str(work / params),
    ]
    stage("train")(argv)


def evaluate(work, models, classifier, out, params="params.yaml"):
    stage("evaluate")(
        [
            str(models),
            str(classifier),
            str(work / "mnist"),
            str(out),
            "--params",
            str(work / params),
        ]
    )


def classifier(work, out, metrics, params="params.yaml"):
    stage("classifier")(
        [
            "--mnist",
            str(work / "mnist"),
            "--out",
            str(out),
            "--metrics",
            str(metrics),
            "--params",
            str(work / params),
        ]
    )


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_templates_outputs(workdir):
    donut = np.load(workdir / "maps" / "donut.npy")
    assert donut.shape == (28, 28) and donut.dtype == np.float32
    assert (workdir / "templates" / "templates.png").stat().st_size > 1000


def test_scores_of_a_plain_variant_do_not_depend_on_the_templates(workdir):
    baseline, anchored = scores(workdir, "baseline"), scores(workdir, "anchored")
    assert np.load(baseline).shape == (200, 0)
    assert np.load(anchored).shape == (200, 1) and np.load(anchored).dtype == np.float32
    np.save(workdir / "maps" / "stick.npy", np.zeros((28, 28), np.float32))
    try:
        again = scores(workdir, "baseline")
        assert sha(again) == sha(baseline)
    finally:
        stage("templates")(
            [
                "--mnist",
                str(workdir / "mnist"),
                "--maps",
                str(workdir / "maps"),
                "--out",
                str(workdir / "templates"),
                "--params",
                str(workdir / "params.yaml"),
            ]
        )


def test_train_writes_a_loadable_checkpoint_per_seed_and_one_history(workdir):
    out = workdir / "models" / "anchored"
    train(workdir, "anchored", out)
    assert trained_seeds(out) == [0, 1]
    model, checkpoint = load_checkpoint(model_path(out, 1))
    assert checkpoint["variant"] == "anchored" and checkpoint["seed"] == 1
    assert checkpoint["epoch"] == 2
    assert set(checkpoint["metrics"]) == {"loss", "recon", "kl"}
    assert model.config.latent_dims == 2
    history = read_history(out)
    assert history[["epoch", "seed"]].values.tolist() == [[1, 0], [1, 1], [2, 0], [2, 1]]
    assert "seconds" not in history  # nothing wall-clock in a tracked output
    assert not list(out.parent.glob(".tmp-*"))


def test_same_params_give_bitwise_identical_checkpoints(workdir, tmp_path):
    train(workdir, "anchored", tmp_path / "a")
    train(workdir, "anchored", tmp_path / "b")
    for seed in (0, 1):
        assert sha(model_path(tmp_path / "a", seed)) == sha(model_path(tmp_path / "b", seed))
    assert sha(tmp_path / "a" / "history.csv") == sha(tmp_path / "b" / "history.csv")
    assert sha(model_path(tmp_path / "a", 0)) != sha(model_path(tmp_path / "a", 1))


def test_diverging_training_writes_nothing(workdir, tmp_path):
    (workdir / "diverge.yaml").write_text(yaml.safe_dump(tiny_params(train={"lr": 10.0})))
    with pytest.raises(StageFailure, match=r"anchored/seed[01]: loss is not finite at epoch \d"):
        train(workdir, "anchored", tmp_path / "bad", params="diverge.yaml")
    assert list(tmp_path.iterdir()) == []


def test_unknown_variant_and_mismatched_scores_are_usage_errors(workdir, tmp_path):
    from anchorvae.pipeline.params import ParamsError

    with pytest.raises(ParamsError, match="variant = 'fancy' is unknown"):
        train(workdir, "fancy", tmp_path / "x")
    with pytest.raises(UsageError, match=r"holds scores of shape \(200, 0\), expected \(200, 1\)"):
        stage("train")(
            [
                "anchored",
                str(workdir / "mnist"),
                str(scores(workdir, "baseline")),
                str(tmp_path / "y"),
                "--params",
                str(workdir / "params.yaml"),
            ]
        )
    assert list(tmp_path.iterdir()) == []


def test_latent_dims_other_than_two_work_end_to_end(workdir, tmp_path):
    variants = {
        "baseline": {"anchor_rate": 0.0, "scale": "raw", "anchors": {}},
        "anchored": {"anchor_rate": 2.0, "scale": "raw", "anchors": {"donutness": [1.0] * 3}},
    }
    params = tiny_params(train={"latent_dims": 3, "epochs": 1}, variants=variants)
    (workdir / "dims3.yaml").write_text(yaml.safe_dump(params))
    train(workdir, "anchored", tmp_path / "m", params="dims3.yaml")
    classifier(workdir, tmp_path / "c.pt", tmp_path / "c.json", params="dims3.yaml")
    evaluate(workdir, tmp_path / "m", tmp_path / "c.pt", tmp_path / "e", params="dims3.yaml")
    metrics = json.loads((tmp_path / "e" / "seed0" / "metrics.json").read_text())
    assert "grid_zero_purity" not in metrics and "zeros_in_corner" in metrics
    assert {"aligned", "zeros_on_side", "anchor_decode", "anchor_point_read"} <= metrics.keys()
    assert not (tmp_path / "e" / "seed0" / "grid.npy").exists()
    assert (tmp_path / "e" / "seed1" / "latent.csv").read_text().splitlines()[
        0
    ] == "z1,z2,z3,digit"


def test_a_conv_8d_cell_with_the_cvae_trains_evaluates_and_summarizes(workdir, tmp_path):
    """What a generality cell of the conv VAE in 8-D with the CVAE reference added runs,
    stage by stage (a grid's cells run through DVC's queue in tests/test_dvc_experiments.py)."""
    variants = {
        "baseline": {"anchor_rate": 0.0, "scale": "raw", "anchors": {}},
        "anchored": {"anchor_rate": 2.0, "scale": "raw", "anchors": {"donutness": 1.0}},
        "cvae": {"anchor_rate": 0.0, "scale": "raw", "anchors": {}, "conditional": True},
        "semi": {**M2, "semi_supervised": {**M2["semi_supervised"], "labels_per_class": 2}},
    }
    train_params = {"architecture": "conv", "latent_dims": 8, "epochs": 1}
    params = tiny_params(train=train_params, variants=variants)
    (workdir / "conv8.yaml").write_text(yaml.safe_dump(params))
    classifier(workdir, tmp_path / "c.pt", tmp_path / "c.json", params="conv8.yaml")
    for variant in variants:
        train(workdir, variant, tmp_path / "models" / variant, params="conv8.yaml")
    for variant in variants:  # the plain VAE decodes anchored's points: trained first
        evaluate(workdir, tmp_path / "models" / variant, tmp_path / "c.pt",
                 tmp_path / "eval" / variant, params="conv8.yaml")  # fmt: skip
    model, _ = load_checkpoint(tmp_path / "models" / "cvae" / "seed0" / "model.pt")
    assert model.config.architecture == "conv" and model.config.classes == 10
    anchors = json.loads((tmp_path / "models" / "cvae" / "anchors.json").read_text())
    assert anchors["points"] == [[0.0] * 8] * 10  # the prior's centre, with each label
    m2, _ = load_checkpoint(tmp_path / "models" / "semi" / "seed0" / "model.pt")
    assert m2.config.semi_supervised and "classify.4.weight" in m2.state_dict()
    drawn = json.loads((tmp_path / "models" / "semi" / "labelled.json").read_text())
    assert drawn["labels_per_class"] == 2 and sorted(drawn["training_images"]) == list(
        "0123456789"
    )
    stage("summarize")([str(tmp_path / "eval"), *(str(tmp_path / name) for name in (
        "variants", "details.json", "models.csv", "centroids.csv")),
        "--params", str(workdir / "conv8.yaml")])  # fmt: skip
    summary = json.loads((tmp_path / "details.json").read_text())
    assert set(summary) == set(variants)
    for variant in variants:
        assert 0 <= summary[variant]["anchor_decode"]["mean"] <= 1, variant
        assert summary[variant]["n_seeds"] == 2
    assert 0 <= summary["semi"]["own_label_accuracy"]["mean"] <= 1
    assert "own_label_accuracy" not in summary["cvae"]


def test_a_ten_digit_cell_lays_out_clusters_and_reads_every_point(workdir, tmp_path):
    """What a ten_digits cell runs, stage by stage: clusters with no label, a variant
    anchoring each to a point of a circle, its label reference and the CVAE; the plain VAE
    read at the clusters' points (evaluate.control)."""
    layout = {"anchor_rate": 4.0, "scale": "raw"}
    variants = {
        "baseline": {"anchor_rate": 0.0, "scale": "raw", "anchors": {}},
        "clust": {**layout, "anchors": {"clusters": "circle"}},
        "labels": {**layout, "anchors": {"digit": "circle"}},
        "cvae": {"anchor_rate": 0.0, "scale": "raw", "anchors": {}, "conditional": True},
    }
    params = tiny_params(variants=variants, evaluate={"control": "clust"},
                         clusters={"k": 3, "features": "pca", "pca": 8})  # fmt: skip
    (workdir / "ten.yaml").write_text(yaml.safe_dump(params))
    flags = ["--params", str(workdir / "ten.yaml")]
    stage("clusters")([str(workdir / "mnist"), str(workdir / "clusters3"), *flags])
    classifier(workdir, tmp_path / "c.pt", tmp_path / "c.json", params="ten.yaml")
    for variant in variants:
        train(workdir, variant, tmp_path / "models" / variant, "ten.yaml", "clusters3")
    memberships = np.load(workdir / "clusters3" / "memberships.npy")
    assert np.load(workdir / "scores" / "ten.yaml" / "clust.npy").tobytes() == (
        memberships.tobytes())  # fmt: skip
    anchors = json.loads((tmp_path / "models" / "clust" / "anchors.json").read_text())
    assert len(anchors["layout"]["points"]) == 3 and 0 < anchors["layout"]["accuracy"] <= 1
    assert "purity" not in anchors  # no 0-versus-1 template
    for variant in variants:
        evaluate(workdir, tmp_path / "models" / variant, tmp_path / "c.pt",
                 tmp_path / "eval" / variant, params="ten.yaml")  # fmt: skip
    read = {v: json.loads((tmp_path / "eval" / v / "seed0" / "metrics.json").read_text())
            for v in variants}  # fmt: skip
    for variant in variants:
        assert 0 <= read[variant]["point_read_min"] <= read[variant]["point_read"] <= 1
    assert read["labels"]["cluster_accuracy"] == 1.0  # the labels are their own clusters
    assert "cluster_accuracy" not in read["baseline"] and "cluster_accuracy" not in read["cvae"]
    assert read["cvae"]["digits_covered"] <= 10 and isinstance(read["cvae"]["same_points"], bool)
    points = pd.read_csv(tmp_path / "eval" / "clust" / "seed1" / "points.csv")
    assert list(points["digit"]) == anchors["layout"]["digits"]
    assert np.load(tmp_path / "eval" / "cvae" / "seed0" / "points.npy").shape == (10, 8, 28, 28)


def test_m2_with_more_labels_than_a_class_has_is_one_line(workdir, tmp_path):
    semi = {**M2, "semi_supervised": {**M2["semi_supervised"], "labels_per_class": 10_000}}
    variants = {**TINY["variants"], "semi": semi}
    (workdir / "m2_many.yaml").write_text(yaml.safe_dump(tiny_params(variants=variants)))
    with pytest.raises(UsageError, match=r"^variants\.semi\.semi_supervised\.labels_per_class = "
                       r"10000 is more than the \d+ training images of digit \d: expected at "
                       r"most \d+$"):  # fmt: skip
        train(workdir, "semi", tmp_path / "semi", params="m2_many.yaml")
    assert not (tmp_path / "semi").exists()


def test_a_limit_beyond_the_training_images_is_refused_not_capped(workdir, tmp_path):
    (workdir / "limit.yaml").write_text(yaml.safe_dump(tiny_params(train={"limit": 5000})))
    with pytest.raises(UsageError, match=r"^train\.limit = 5000 is invalid: .* holds \d+ "
                       r"training images: expected at most that, or 0 for all$"):  # fmt: skip
        train(workdir, "baseline", tmp_path / "limited", params="limit.yaml")
    assert not (tmp_path / "limited").exists()


def test_classifier_evaluate_summarize_chain(workdir):
    for variant in TINY["variants"]:
        train(workdir, variant, workdir / "models" / variant)
    classifier(workdir, workdir / "classifier.pt", workdir / "metrics" / "classifier.json")
    accuracy = json.loads((workdir / "metrics" / "classifier.json").read_text())
    assert 0 <= accuracy["test_accuracy"] <= 1
    for variant in TINY["variants"]:
        evaluate(
            workdir,
            workdir / "models" / variant,
            workdir / "classifier.pt",
            workdir / "eval" / variant,
        )
    folder = workdir / "eval" / "anchored" / "seed0"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) == {
        "zeros_in_corner",
        "ones_in_corner",
        "placed",
        "zeros_on_side",
        "ones_on_side",
        "aligned",
        "anchor_point_read",
        "anchor_decode",
        "anchor_distance",
        "template_purity_zero",
        "template_purity_one",
        "test_recon",
        "test_kl",
        "recon_accuracy",
        "grid_zero_purity",
        "grid_one_purity",
    }
    assert np.load(folder / "grid.npy").shape == (4, 4, 28, 28)
    # The plain VAE decodes the anchored variant's points: the control of the anchor decode.
    control = json.loads((workdir / "eval" / "baseline" / "seed0" / "metrics.json").read_text())
    assert 0 <= control["anchor_decode"] <= 1 and "anchor_point_read" in control
    points = json.loads((workdir / "models" / "anchored" / "anchors.json").read_text())["points"]
    assert len(points) == 10 and len(points[0]) == 2
    # how far out the decoded points lie: the anchored variant's, for both
    distance = (math.hypot(*points[0]) + math.hypot(*points[1])) / 2
    assert metrics["anchor_distance"] == pytest.approx(distance, rel=1e-6)
    assert control["anchor_distance"] == metrics["anchor_distance"]
    assert "template_purity_zero" not in control  # a plain VAE has no template
    assert 0 <= metrics["template_purity_zero"] <= 1
    assert np.load(folder / "anchors.npy").shape == (2, 28, 28)  # drawn at its two points
    assert json.loads((workdir / "models" / "baseline" / "anchors.json").read_text()) == {
        "points": None
    }
    assert len((folder / "latent.csv").read_text().splitlines()) == 51
    stage("summarize")(
        [
            str(workdir / "eval"),
            str(workdir / "metrics" / "variants"),
            str(workdir / "metrics" / "details.json"),
            str(workdir / "metrics" / "models.csv"),
            str(workdir / "metrics" / "centroids.csv"),
            "--params",
            str(workdir / "params.yaml"),
        ]
    )
    summary = json.loads((workdir / "metrics" / "details.json").read_text())
    for variant in TINY["variants"]:
        headline = json.loads((workdir / "metrics" / "variants" / f"{variant}.json").read_text())
        assert set(headline) == set(headline_paths())
        assert headline["placed"] == summary[variant]["placed_count"]
    assert set(summary) == set(TINY["variants"])
    assert summary["anchored"]["n_seeds"] == 2
    table = (workdir / "metrics" / "models.csv").read_text().splitlines()
    assert table[0].startswith("model,variant,seed,") and len(table) == 1 + 2 * len(summary)
    assert torch.isfinite(torch.tensor(summary["anchored"]["test_recon"]["mean"]))
    centroids = pd.read_csv(workdir / "metrics" / "centroids.csv")
    assert list(centroids.columns) == ["variant", "seed", "digit", "z1", "z2"]
    assert len(centroids) == len(TINY["variants"]) * 2 * 10  # variants x seeds x digits


def test_summarize_names_a_variant_not_yet_evaluated(tmp_path):
    for variant in TINY["variants"]:
        (tmp_path / "eval" / variant).mkdir(parents=True)
    variants = {
        **TINY["variants"],
        "strong": {"anchor_rate": 8.0, "scale": "raw", "anchors": {"donutness": [1, 1]}},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params(variants=variants)))
    out = tmp_path / "details.json"
    with pytest.raises(UsageError, match=r"variants.strong has no evaluations .* evaluate@strong"):
        stage("summarize")(
            [
                str(tmp_path / "eval"),
                str(tmp_path / "variants"),
                str(out),
                str(tmp_path / "models.csv"),
                str(tmp_path / "centroids.csv"),
                "--params",
                str(tmp_path / "params.yaml"),
            ]
        )
    assert not out.exists()


def test_download_stage_verifies_against_given_pins(tmp_path, raw_files, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, data in raw_files.items():
        (mirror / name).write_bytes(data)
    monkeypatch.setenv("ANCHORVAE_MIRRORS", str(mirror))
    monkeypatch.setenv("ANCHORVAE_INDEX_URL", "http://127.0.0.1:9/simple/")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    (tmp_path / "pins.json").write_text(json.dumps(pins_of(raw_files)))
    argv = ["--out", str(tmp_path / "out"), "--params", str(tmp_path / "params.yaml")]

    stage("download")([*argv, "--pins", str(tmp_path / "pins.json")])
    for name, data in raw_files.items():
        assert (tmp_path / "out" / "MNIST" / "raw" / name).read_bytes() == data


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "cannot read a JSON object"),
        ('{"train-images-idx3-ubyte": "00"}', "keys .* are invalid: expected exactly"),
        ("[1, 2]", "a JSON list is invalid: expected an object"),
    ],
)
def test_bad_pins_are_usage_errors(tmp_path, text, message):
    (tmp_path / "pins.json").write_text(text)
    with pytest.raises(UsageError, match=message):
        stage("download")(["--out", str(tmp_path / "out"), "--pins", str(tmp_path / "pins.json")])
    assert not (tmp_path / "out").exists()


def test_pins_must_be_sha256_hex(tmp_path, raw_files):
    pins = {name: "ab" * 32 for name in raw_files}
    pins["t10k-labels-idx1-ubyte"] = "XYZ"
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    with pytest.raises(UsageError, match="t10k-labels-idx1-ubyte = 'XYZ' is not 64 hex digits"):
        stage("download")(["--out", str(tmp_path / "out"), "--pins", str(tmp_path / "pins.json")])


def test_training_works_in_a_git_repo_without_commits(workdir, tmp_path, monkeypatch):
    """DVCLive (dropped) could not start there; the trainer needs no git at all."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    train(workdir, "baseline", tmp_path / "models")
    assert trained_seeds(tmp_path / "models") == [0, 1]
