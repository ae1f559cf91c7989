"""`-S` overrides as DVC applies them (anchorvae/pipeline/overrides.py), and the runner without DVC
that uses them (tools/run_without_dvc.py)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import apply_overrides as dvc_apply_overrides

from anchorvae.errors import UsageError
from anchorvae.pipeline.overrides import apply_overrides
from anchorvae.pipeline.params_file import read_yaml

ROOT = Path(__file__).resolve().parents[1]


def base() -> dict:
    return read_yaml((ROOT / "params.yaml").read_text())


VALID = [
    ["train.lr=0.00005"],
    ["train.epochs=3", "seeds=[0,1,2]"],
    ["~variants.two_axis", "variants.anchored.anchors.donutness=[1,1,1]"],
    ["+variants.extra.anchor_rate=0", "++variants.extra.anchors={}"],
    ["++train.epochs=7", "++newkey.inner=true"],
    ["templates.kind=class_mean", "classifier.seed=8"],
    ["train.lr=1e-3"],
    # a grid's reference (grid.hydra_text): a mapping with a list inside
    ["+variants.cvae={anchor_rate: 1.0, scale: raw, anchors: {donutness: [1.0, -1.0]}, "
     "conditional: true}"],
]  # fmt: skip


@pytest.mark.parametrize("overrides", VALID, ids=lambda o: " ".join(o))
def test_valid_overrides_give_what_dvc_gives(tmp_path, overrides):
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    dvc_apply_overrides(str(path), overrides)
    theirs = read_yaml(path.read_text())
    assert apply_overrides(base(), overrides) == theirs


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nosuch.key=1", "nosuch is not there"),
        ("train.nope=1", r"there is no key train.nope in params.yaml \(to add one: \+train"),
        ("train.lr=[", "the value is not YAML"),
        ("train.lr.x=1", "train.lr is not a mapping"),
        ("train.lr", "expected KEY=VALUE"),
        ("=1", "expected KEY=VALUE"),
        ("~train.nope", "there is no key train.nope to remove"),
        ("+train.lr=1", "train.lr is there already"),
        ("train lr=1", "expected KEY=VALUE"),
    ],
)
def test_an_override_dvc_refuses_is_one_line_naming_it(tmp_path, override, message):
    with pytest.raises(UsageError, match=message) as err:
        apply_overrides(base(), [override])
    assert "\n" not in str(err.value) and repr(override) in str(err.value)
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    with pytest.raises(Exception):  # noqa: B017 (DVC refuses it too, whatever its error)
        dvc_apply_overrides(str(path), [override])


def runner(*args):
    command = [sys.executable, str(ROOT / "tools" / "run_without_dvc.py"), "--dry-run", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-S", "nosuch.key=1"], "nosuch is not there"),
        (["-S", "variants=3"], "variants = 3 is invalid: expected a mapping"),
        (["-S", "train.lr"], "expected KEY=VALUE"),
    ],
)
def test_the_runner_without_dvc_checks_its_overrides_before_any_stage(args, message):
    done = runner(*args)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("run_without_dvc: error: ") and message in line


def test_the_runner_passes_every_stage_the_overridden_params():
    done = runner("-S", "train.epochs=3", "-S", "~variants.two_axis")
    assert done.returncode == 0, done.stderr
    assert "train@two_axis" not in done.stderr and "train@anchored" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_the_runner_without_dvc_ends_its_stage_in_one_line_and_leaves_no_params_copy(
    tmp_path, signum
):
    """Ctrl-C, SIGTERM or SIGHUP (a closed terminal) while a stage runs: the stage ends
    too, one line says so, and the overridden params copy is gone (a copy that a kill -9
    left is removed by the next run)."""
    import shutil
    import time

    for name in ("anchorvae", "tools"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pyc*"))
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / ".tmp-run_without_dvc.stale.yaml").write_text("left by a kill -9\n")
    (tmp_path / "sleep.py").write_text(
        "import os, pathlib, time\n"
        "pathlib.Path('pid').write_text(str(os.getpid()))\ntime.sleep(60)\n"
    )
    stage = {"cmd": f"exec {sys.executable} sleep.py", "deps": [], "outs": []}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"nap": stage}}))
    runner = subprocess.Popen([sys.executable, str(tmp_path / "tools" / "run_without_dvc.py")],
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while not (tmp_path / "pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (tmp_path / ".tmp-run_without_dvc.stale.yaml").exists()
    runner.send_signal(signum)
    _, err = runner.communicate(timeout=30)
    how = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}.get(signum, "interrupted")
    assert runner.returncode == 128 + signum
    assert err.splitlines()[-1] == (
        f"run_without_dvc: {how}: stage nap ended, its outputs not written"
    )
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(int((tmp_path / "pid").read_text()), 0)
    assert not list(tmp_path.glob(".tmp-run_without_dvc.*"))
