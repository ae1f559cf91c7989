"""The stage scripts on tiny synthetic MNIST, called in-process (no DVC here)."""

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from anchorvae.errors import StageFailure, UsageError
from anchorvae.model import load_checkpoint

from synthetic import pins_of, write_raw_files

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "train": {"epochs": 2, "batch_size": 32, "device": "cpu"},
    "seeds": [0, 1],
    "classifier": {"epochs": 1},
    "evaluate": {"grid_size": 4, "sample_size": 50},
}


def stage(name):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", ROOT / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, raw_files):
    work = tmp_path_factory.mktemp("stages")
    write_raw_files(work / "mnist", raw_files)
    (work / "params.yaml").write_text(yaml.safe_dump(TINY))
    stage("templates")(
        [
            "--mnist",
            str(work / "mnist"),
            "--out",
            str(work / "templates"),
            "--params",
            str(work / "params.yaml"),
        ]
    )
    return work


def train(work, variant, seed, out, params="params.yaml"):
    argv = [
        "--variant",
        variant,
        "--seed",
        str(seed),
        "--mnist",
        str(work / "mnist"),
        "--out",
        str(out),
        "--params",
        str(work / params),
    ]
    if variant != "baseline":
        argv += ["--templates", str(work / "templates")]
    stage("train")(argv)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_templates_outputs(workdir):
    donut = np.load(workdir / "templates" / "donut.npy")
    assert donut.shape == (28, 28) and donut.dtype == np.float32
    assert (workdir / "templates" / "templates.png").stat().st_size > 1000


def test_train_writes_a_loadable_checkpoint_and_history(workdir):
    out = workdir / "models" / "anchored" / "seed0"
    train(workdir, "anchored", 0, out)
    model, checkpoint = load_checkpoint(out / "model.pt")
    assert checkpoint["variant"] == "anchored" and checkpoint["seed"] == 0
    assert checkpoint["epoch"] == 2
    assert set(checkpoint["metrics"]) == {"loss", "recon", "kl"}
    assert model.config.latent_dims == 2
    history = (out / "live" / "plots" / "metrics" / "train" / "loss.tsv").read_text()
    assert history.splitlines()[0] == "step\tloss"
    assert len(history.splitlines()) == 3  # header + 2 epochs
    assert not list(out.parent.glob(".tmp-*"))


def test_same_params_and_seed_give_bitwise_identical_checkpoints(workdir, tmp_path):
    train(workdir, "anchored", 1, tmp_path / "a")
    train(workdir, "anchored", 1, tmp_path / "b")
    train(workdir, "anchored", 2, tmp_path / "c")
    assert sha(tmp_path / "a" / "model.pt") == sha(tmp_path / "b" / "model.pt")
    assert sha(tmp_path / "a" / "model.pt") != sha(tmp_path / "c" / "model.pt")


def test_diverging_training_writes_nothing(workdir, tmp_path):
    params = {**TINY, "train": {**TINY["train"], "lr": 1e12}}
    (workdir / "diverge.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(StageFailure, match=r"anchored/seed0: loss is not finite at epoch \d"):
        train(workdir, "anchored", 0, tmp_path / "bad", params="diverge.yaml")
    assert not (tmp_path / "bad").exists()
    assert list(tmp_path.iterdir()) == []


def test_unknown_variant_and_missing_templates_are_usage_errors(workdir, tmp_path):
    from anchorvae.config import ParamsError

    with pytest.raises(ParamsError, match="variant = 'fancy' is unknown"):
        train(workdir, "fancy", 0, tmp_path / "x")
    with pytest.raises(UsageError, match=r"--seed = -1 is invalid: expected an integer >= 0"):
        train(workdir, "baseline", -1, tmp_path / "z")
    with pytest.raises(UsageError, match="needs --templates"):
        stage("train")(
            [
                "--variant",
                "anchored",
                "--seed",
                "0",
                "--mnist",
                str(workdir / "mnist"),
                "--out",
                str(tmp_path / "y"),
                "--params",
                str(workdir / "params.yaml"),
            ]
        )
    assert list(tmp_path.iterdir()) == []


def test_latent_dims_other_than_two_work_end_to_end(workdir, tmp_path):
    params = {**TINY, "train": {**TINY["train"], "latent_dims": 3, "epochs": 1}}
    (workdir / "dims3.yaml").write_text(yaml.safe_dump(params))
    train(workdir, "anchored", 0, tmp_path / "m", params="dims3.yaml")
    stage("classifier")(
        [
            "--mnist",
            str(workdir / "mnist"),
            "--out",
            str(tmp_path / "c.pt"),
            "--metrics",
            str(tmp_path / "c.json"),
            "--params",
            str(workdir / "dims3.yaml"),
        ]
    )
    stage("evaluate")(
        [
            "--model",
            str(tmp_path / "m" / "model.pt"),
            "--classifier",
            str(tmp_path / "c.pt"),
            "--mnist",
            str(workdir / "mnist"),
            "--out",
            str(tmp_path / "e"),
            "--params",
            str(workdir / "dims3.yaml"),
        ]
    )
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert "grid_zero_purity" not in metrics and "zeros_in_corner" in metrics
    assert not (tmp_path / "e" / "grid.npy").exists()
    assert (tmp_path / "e" / "latent.csv").read_text().splitlines()[0] == "z1,z2,z3,digit"


def test_classifier_evaluate_summarize_chain(workdir):
    params = str(workdir / "params.yaml")
    for variant in ("baseline", "anchored"):
        for seed in (0, 1):
            train(workdir, variant, seed, workdir / "models" / variant / f"seed{seed}")
    stage("classifier")(
        [
            "--mnist",
            str(workdir / "mnist"),
            "--out",
            str(workdir / "classifier.pt"),
            "--metrics",
            str(workdir / "metrics" / "classifier.json"),
            "--params",
            params,
        ]
    )
    accuracy = json.loads((workdir / "metrics" / "classifier.json").read_text())
    assert 0 <= accuracy["test_accuracy"] <= 1
    for variant in ("baseline", "anchored"):
        for seed in (0, 1):
            stage("evaluate")(
                [
                    "--model",
                    str(workdir / "models" / variant / f"seed{seed}" / "model.pt"),
                    "--classifier",
                    str(workdir / "classifier.pt"),
                    "--mnist",
                    str(workdir / "mnist"),
                    "--out",
                    str(workdir / "eval" / variant / f"seed{seed}"),
                    "--params",
                    params,
                ]
            )
    folder = workdir / "eval" / "anchored" / "seed0"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) == {
        "zeros_in_corner",
        "ones_in_corner",
        "placed",
        "test_recon",
        "test_kl",
        "recon_accuracy",
        "grid_zero_purity",
        "grid_one_purity",
    }
    assert np.load(folder / "grid.npy").shape == (4, 4, 28, 28)
    assert len((folder / "latent.csv").read_text().splitlines()) == 51
    stage("summarize")(
        [
            "--eval",
            str(workdir / "eval"),
            "--out",
            str(workdir / "metrics" / "summary.json"),
            "--table",
            str(workdir / "metrics" / "models.csv"),
            "--params",
            params,
        ]
    )
    summary = json.loads((workdir / "metrics" / "summary.json").read_text())
    assert set(summary) == {"baseline", "anchored"}
    assert summary["anchored"]["n_seeds"] == 2
    table = (workdir / "metrics" / "models.csv").read_text().splitlines()
    assert table[0].startswith("model,variant,seed,") and len(table) == 5
    assert torch.isfinite(torch.tensor(summary["anchored"]["test_recon"]["mean"]))


def test_summarize_names_a_variant_missing_from_dvc_yaml(tmp_path):
    for variant in ("baseline", "anchored"):
        (tmp_path / "eval" / variant).mkdir(parents=True)
    variants = {"baseline": {"anchor_rate": 0.0}, "anchored": {"anchor_rate": 2.0},
                "strong": {"anchor_rate": 8.0}}  # fmt: skip
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**TINY, "variants": variants}))
    out = tmp_path / "summary.json"
    with pytest.raises(UsageError, match=r"variants.strong has no evaluations .* dvc.yaml"):
        stage("summarize")(
            ["--eval", str(tmp_path / "eval"), "--out", str(out),
             "--table", str(tmp_path / "models.csv"), "--params", str(tmp_path / "params.yaml")]
        )  # fmt: skip
    assert not out.exists()


def test_download_stage_verifies_against_given_pins(tmp_path, raw_files):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, data in raw_files.items():
        (mirror / name).write_bytes(data)
    params = {"data": {"mirrors": [str(mirror)], "index_url": "http://127.0.0.1:9/simple/"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
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


def test_training_in_a_git_repo_without_commits_is_one_clear_error(workdir, tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no commit yet; commit once"):
        train(workdir, "baseline", 0, tmp_path / "model")
    assert not (tmp_path / "model").exists()
    assert not list(tmp_path.glob(".tmp-*"))
