"""Bad input files stop a stage with one line, an exit code and nothing written."""

import gzip
import logging
import pickle
import shutil
import signal
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from anchorvae.method.classifier import ClassifierConfig, DigitClassifier
from anchorvae.method.model import ModelConfig, build_vae
from anchorvae.pipeline.cli import run_stage as run_stage_main

from conftest import stage_module
from synthetic import synthetic_raw_files, write_raw_files

ROOT = Path(__file__).resolve().parents[1]


class Exploit:
    """A pickle that would run code when loaded without weights_only."""

    def __reduce__(self):
        return (print, ("pwned",))


def vae_checkpoint(**changes) -> dict:
    checkpoint = {"state_dict": build_vae(ModelConfig()).state_dict(),
                  "model_config": ModelConfig().to_dict(), "variant": "anchored", "seed": 0,
                  "epoch": 1, "metrics": {}}  # fmt: skip
    return {**checkpoint, **changes}


def nan_weights() -> dict:
    """A VAE's state dict with one NaN: what a diverged run would have saved."""
    state = build_vae(ModelConfig()).state_dict()
    state["mu_head.bias"][0] = float("nan")
    return state


def write_with(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, Exploit):
        path.write_bytes(pickle.dumps(content))
    else:
        torch.save(content, path)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad")
    write_raw_files(work / "mnist", synthetic_raw_files(n_train=50, n_test=20))
    classifier = DigitClassifier()
    torch.save({"state_dict": classifier.state_dict(),
                "model_config": ClassifierConfig().to_dict()}, work / "classifier.pt")  # fmt: skip
    (work / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    return work


def run_in_subprocess(name: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The stage as DVC runs it: what the whole process prints, and its exit code."""
    command = [sys.executable, str(ROOT / "stages" / f"{name}.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_stage(monkeypatch, capsys, caplog):
    """A stage's main under cli.run_stage in this process (a new one spends ~3 s importing
    torch): its exit code, its output and its log records as the lines it would print
    (a record with a traceback shows one). A few tests run the real process as well."""

    def run(name: str, args: list[str], cwd: Path) -> Ran:
        module = stage_module(name)
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        caplog.clear()
        caplog.set_level(logging.INFO)  # what the stage's basicConfig lets through
        handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
        threads = torch.get_num_threads()
        try:
            run_stage_main(module.main, args)
            code = 0
        except SystemExit as exited:
            code = exited.code
        finally:  # what a stage sets for its process, back as this one had it
            for signum, handler in handlers.items():  # run_stage installs its own
                signal.signal(signum, handler)
            torch.set_num_threads(threads)
            torch.set_flush_denormal(False)
        out, err = capsys.readouterr()
        lines = [f"{r.name}: {r.getMessage()}" + ("\nTraceback" if r.exc_info else "")
                 for r in caplog.records]  # fmt: skip
        return Ran(code, out, err + "".join(line + "\n" for line in lines))

    return run


def assert_one_line(result, code: int, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


BAD_MODELS = {
    "empty file": (b"", "is not a checkpoint torch can load safely"),
    "random bytes": (bytes(range(256)) * 4, "is not a checkpoint torch can load safely"),
    "refused pickle": (Exploit(), "is not a checkpoint torch can load safely"),
    "no model_config": ({"state_dict": {}}, "expected a state_dict and a model_config"),
    "wrong model_config": (vae_checkpoint(model_config={"hidden_units": 3}), "not a VAE"),
    "empty state_dict": (vae_checkpoint(state_dict={}), "is not a VAE checkpoint"),
    "a list": ([1, 2], "expected a state_dict and a model_config"),
    "NaN weights": (vae_checkpoint(state_dict=nan_weights()), "holds weights that are not finite"),
}


IN_SUBPROCESS = {"refused pickle", "NaN weights"}  # the whole process prints one line too


@pytest.mark.parametrize("case", BAD_MODELS)
def test_evaluate_names_a_bad_model_file(work, case, run_stage):
    content, message = BAD_MODELS[case]
    models = work / case.replace(" ", "_")
    write_with(models / "seed0" / "model.pt", content)
    out = work / f"eval_{models.name}"
    args = [str(models), str(work / "classifier.pt"), str(work / "mnist"), str(out)]
    runs = [run_stage] + ([run_in_subprocess] if case in IN_SUBPROCESS else [])
    for run in runs:
        result = run("evaluate", args, work)
        assert_one_line(result, 1, str(models / "seed0" / "model.pt"), message)
        assert "pwned" not in result.stdout
        assert not out.exists()


GOOD_ANCHORS = '{"points": [[-1, -1]' + ", [1, 1]" * 9 + "]}"
BAD_ANCHORS = {
    "missing": (None, "anchors.json is missing"),
    "null": ('{"points": null}', "holds no anchor points, but variant anchored is anchored"),
    "10x3": ('{"points": [' + ", ".join(["[1, 1, 1]"] * 10) + "]}", "shape (10, 3)"),
}  # every other bad anchors file: tests/test_anchors.py, on anchorvae.artifacts.models


@pytest.mark.parametrize("case", BAD_ANCHORS)
def test_evaluate_names_a_bad_anchors_file(work, case, run_stage):
    """What the train stage wrote beside the checkpoints is checked before a number is
    written from it (an anchored variant's own points here)."""
    text, message = BAD_ANCHORS[case]
    models = work / f"anchors_{case.replace(' ', '_')}" / "anchored"
    write_with(models / "seed0" / "model.pt", vae_checkpoint())
    if text is not None:
        (models / "anchors.json").write_text(text)
    out = work / f"eval_anchors_{case.replace(' ', '_')}"
    args = [str(models), str(work / "classifier.pt"), str(work / "mnist"), str(out)]
    result = run_stage("evaluate", args, work)
    assert_one_line(result, 1, str(models / "anchors.json"), message)
    assert not out.exists()


def test_evaluate_refuses_a_folder_without_checkpoints(work, run_stage):
    (work / "no_models").mkdir()
    out = work / "eval_none"
    args = [str(work / "no_models"), str(work / "classifier.pt"), str(work / "mnist"), str(out)]
    result = run_stage("evaluate", args, work)
    assert_one_line(result, 2, str(work / "no_models"), "holds no seed<N>/model.pt")
    assert not out.exists()


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_summarize_refuses_a_metric_that_is_not_finite(work, tmp_path, value, run_stage):
    """A broken model's evaluation is a failed stage naming it, never a dropped seed."""
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["variants"] = {k: params["variants"][k] for k in ("baseline", "anchored")}
    params["seeds"] = [0, 1]
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(params))
    for variant, seed in [(v, s) for v in ("baseline", "anchored") for s in (0, 1)]:
        folder = tmp_path / "eval" / variant / f"seed{seed}"
        folder.mkdir(parents=True)
        recon = value if (variant, seed) == ("anchored", 1) else "30.0"
        (folder / "metrics.json").write_text(
            f'{{"placed": true, "zeros_in_corner": NaN, "test_recon": {recon}, "test_kl": 5}}'
        )
        (folder / "centroids.tsv").write_text("digit\tz1\tz2\n" + "".join(
            f"{d}\t0.5\t0.5\n" for d in range(10)))  # fmt: skip
    outs = [str(tmp_path / name) for name in ("v", "details.json", "models.csv", "c.csv")]
    params_arg = ["--params", str(tmp_path / "two.yaml")]
    result = run_stage("summarize", [str(tmp_path / "eval"), *outs, *params_arg], work)
    bad = tmp_path / "eval" / "anchored" / "seed1" / "metrics.json"
    assert_one_line(result, 1, str(bad), "test_recon", "is not finite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval", "two.yaml"]


@pytest.mark.parametrize(
    "classifier, code, message",
    [
        ("missing.pt", 2, "does not exist"),
        ("mnist", 2, "is a folder"),
        ("vae.pt", 1, "is not a classifier checkpoint"),
    ],
)
def test_evaluate_names_a_bad_classifier(work, classifier, code, message, run_stage):
    write_with(work / "good" / "seed0" / "model.pt", vae_checkpoint())
    (work / "good" / "anchors.json").write_text(GOOD_ANCHORS)
    write_with(work / "vae.pt", vae_checkpoint())
    out = work / "eval_classifier"
    args = [str(work / "good"), str(work / classifier), str(work / "mnist"), str(out)]
    assert_one_line(run_stage("evaluate", args, work), code, str(work / classifier), message)
    assert not out.exists()


def test_params_with_a_key_given_twice_stop_a_stage(work, tmp_path, run_stage):
    text = (ROOT / "params.yaml").read_text() + "\nseeds: [7]\n"
    (tmp_path / "params.yaml").write_text(text)
    out = tmp_path / "templates"
    args = ["--mnist", str(work / "mnist"), "--maps", str(tmp_path / "maps"), "--out", str(out)]
    result = run_stage("templates", args, tmp_path)
    assert_one_line(result, 2, "seeds is given twice")
    assert not out.exists()
    assert yaml.safe_load(text)["seeds"] == [7]  # what PyYAML alone would have kept


def test_params_nested_thousands_deep_are_one_line(tmp_path):
    """A recursion deep in the YAML reader, in the process as DVC starts it."""
    (tmp_path / "params.yaml").write_text("train:" + " {a:" * 5000 + " 1" + "}" * 5000 + "\n")
    result = run_in_subprocess("check_params", ["--out", str(tmp_path / "checked")], tmp_path)
    assert_one_line(result, 2, "params.yaml: mappings or lists nested too deep to read")
    assert not (tmp_path / "checked").exists()


def test_a_map_a_score_needs_and_the_folder_lacks_is_named(work, tmp_path, run_stage):
    maps = tmp_path / "maps"
    maps.mkdir()
    np.save(maps / "stick.npy", np.zeros((28, 28), np.float32))  # donut.npy missing
    out, clusters = tmp_path / "scores.npy", tmp_path / "clusters"  # read by no score here
    result = run_stage("scores", ["anchored", str(work / "mnist"), str(maps), str(clusters),
                                  str(out), "--params", str(work / "params.yaml")],
                       tmp_path)  # fmt: skip
    assert_one_line(result, 2, f"{maps / 'donut.npy'} is missing: rerun the templates stage")
    assert not out.exists()


@pytest.mark.parametrize(
    "name, content",
    [
        ("train-labels-idx1-ubyte", b""),
        ("t10k-labels-idx1-ubyte", b""),
        ("t10k-images-idx3-ubyte", gzip.compress(b"\0" * 1000, mtime=0)),  # a fixed id
        ("train-images-idx3-ubyte", b"\0\0\x08\x03" + struct.pack(">3I", 50, 28, 28) + b"\0" * 9),
    ],
)
def test_a_bad_mnist_file_is_named(work, tmp_path, name, content, run_stage):
    mnist = tmp_path / "mnist"
    raw = write_raw_files(mnist, synthetic_raw_files(n_train=50, n_test=20))
    (raw / name).write_bytes(content)
    write_with(work / "good" / "seed0" / "model.pt", vae_checkpoint())
    (work / "good" / "anchors.json").write_text(GOOD_ANCHORS)
    split_stage = {
        "train": ["classifier", "--mnist", str(mnist), "--out", str(tmp_path / "c.pt"),
                  "--metrics", str(tmp_path / "c.json")],
        "t10k": ["evaluate", str(work / "good"), str(work / "classifier.pt"), str(mnist),
                 str(tmp_path / "e")],
    }[name.split("-")[0]]  # fmt: skip
    result = run_stage(split_stage[0], [*split_stage[1:], "--params", str(work / "params.yaml")],
                       tmp_path)  # fmt: skip
    assert_one_line(result, 1, str(raw / name), "is not an MNIST")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist"]


def test_an_output_that_cannot_be_written_is_one_line(work, tmp_path, run_stage):
    (tmp_path / "a_file").write_text("not a folder")
    out = tmp_path / "a_file" / "templates"
    args = ["--mnist", str(work / "mnist"), "--maps", str(out.parent / "maps"), "--out", str(out),
            "--params", str(work / "params.yaml")]  # fmt: skip
    result = run_stage("templates", args, tmp_path)
    assert_one_line(result, 1, "failed:", str(tmp_path / "a_file"))


BASE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"  # the Python the venv was made from


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtual environment")
def test_a_stage_started_by_another_python_runs_under_the_venv(tmp_path):
    """`.venv/bin/dvc repro` without the venv on PATH starts `python` from PATH."""
    if not (ROOT / ".venv" / "bin" / "python").exists() or Path(sys.prefix) != ROOT / ".venv":
        pytest.skip("the tests do not run from this checkout's .venv")
    out = tmp_path / "checked"
    result = subprocess.run(
        [str(BASE_PYTHON), "stages/check_params.py", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("params.yaml passed")


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtual environment")
def test_a_stage_without_the_projects_python_says_so_in_one_line(tmp_path):
    shutil.copytree(ROOT / "stages", tmp_path / "stages")  # a checkout with no .venv
    result = subprocess.run(
        [str(BASE_PYTHON), "stages/check_params.py", "--out", "checked"],
        cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "cannot import anchorvae" in result.stderr and "make repro" in result.stderr
    assert not (tmp_path / "checked").exists()


def test_a_closed_terminal_unwinds_a_stage_like_sigterm():
    """SIGHUP (the terminal of `make repro` closed): the stage unwinds as it does for
    SIGTERM (tests/test_pipeline.py sends that to training), exit 129."""
    import os

    def main(argv):
        os.kill(os.getpid(), signal.SIGHUP)
        raise AssertionError("not reached: the handler raises")

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with pytest.raises(SystemExit) as exited:
            run_stage_main(main, [])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert exited.value.code == 129


@pytest.mark.parametrize("key, value, words", [
    ("k", 1, "clusters.k = 1 is invalid: expected an integer >= 0 and <= 200"),
    ("method", "dbscan", "clusters.method = 'dbscan' is invalid: expected one of kmeans, gmm"),
    ("min_dist", 2.0, "clusters.min_dist = 2.0 is invalid"),
])  # fmt: skip
def test_a_bad_clusters_value_is_one_line_before_anything_is_removed(
    work, tmp_path, run_stage, key, value, words
):
    """The clusters stage (and the params stage before it, which DVC runs first)."""
    raw = yaml.safe_load((work / "params.yaml").read_text())
    raw["clusters"][key] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept").write_text("an earlier output")
    result = run_stage("clusters", [str(work / "mnist"), str(out), "--params",
                                    str(tmp_path / "params.yaml")], tmp_path)  # fmt: skip
    assert_one_line(result, 2, words)
    assert (out / "kept").read_text() == "an earlier output"
