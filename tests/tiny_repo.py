"""A temporary git+DVC repo holding the real dvc.yaml on tiny synthetic MNIST.

Shared by the end-to-end tests (tests/test_pipeline.py, tests/test_dvc_experiments.py):
each module makes one and its tests share it, leaving it as they found it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from synthetic import pins_of, synthetic_raw_files

ROOT = Path(__file__).resolve().parents[1]
COPIED = ["dvc.yaml", "params.yaml", "grids.yaml", "stages", "anchorvae", "Makefile", "tools"]
# A plain variant and the post's: each variant adds three stage runs (mostly torch's
# start-up) to every run of the pipeline. Every variant of params.yaml, the two-score one
# too, runs its stages in tests/test_stages.py; tests/test_pipeline.py adds a third.
TINY_VARIANTS = ("baseline", "anchored")


def stage_env(mirror: Path) -> dict[str, str]:
    """The environment the tiny repo's stages run in: on the CPU, downloading only from
    the synthetic files. They match only their own pins (see make_repo): a fetch from a
    real source would fail verification, and the package index is a closed local port."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "ANCHORVAE_DEVICE": "cpu", "ANCHORVAE_MIRRORS": str(mirror),
            "ANCHORVAE_INDEX_URL": "http://127.0.0.1:9/simple/",
            "ANCHORVAE_POLL_S": "1"}  # fmt: skip


def mirror_of(folder: Path) -> Path:
    """The synthetic files' folder of the repo (or clone) ``folder``: beside it."""
    return Path(folder).parent / "mirror"


def run(cmd, cwd, env_extra=None, **kwargs):
    env = stage_env(mirror_of(cwd))
    env.update(env_extra or {})
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def make(target: str, *variables: str) -> list[str]:
    """The command that runs a Makefile target with this test's Python instead of .venv
    (which a tiny repo does not have): what `make TARGET` runs, as the README names it."""
    return ["make", "-s", target, f"BIN={Path(sys.executable).parent}", "STAMP=", *variables]


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


def tiny_params(variants: tuple[str, ...] = TINY_VARIANTS) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update(epochs=1, batch_size=64, limit=0)
    params["seeds"] = [0, 1]
    params["variants"] = {name: params["variants"][name] for name in variants}
    params["classifier"]["epochs"] = 1
    params["evaluate"].update(grid_size=4, sample_size=50)
    return params


def tiny_grids(variants: tuple[str, ...] = TINY_VARIANTS) -> dict:
    """grids.yaml's grids, each training only the given variants, on 2 seeds."""
    raw = yaml.safe_load((ROOT / "grids.yaml").read_text())
    for grid in raw["grids"].values():
        grid.update(variants=[v for v in grid["variants"] if v in variants], seeds=2)
    return raw


def make_repo(folder: Path, variants: tuple[str, ...] = TINY_VARIANTS) -> Path:
    """A committed git+DVC repo in ``folder``/repo with the project's pipeline and the
    given variants; its synthetic MNIST in ``folder``/mirror."""
    repo = folder / "repo"
    repo.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, repo / name)
    mirror = mirror_of(repo)
    mirror.mkdir()
    raw_files = synthetic_raw_files(n_train=300, n_test=100)
    for name, data in raw_files.items():
        (mirror / name).write_bytes(data)
    # The real dvc.yaml, with the download verified against the synthetic files' sums.
    (repo / "pins.json").write_text(json.dumps(pins_of(raw_files)))
    dvc_yaml = (repo / "dvc.yaml").read_text()
    download = "python stages/download.py --out data/mnist"
    assert download in dvc_yaml
    (repo / "dvc.yaml").write_text(dvc_yaml.replace(download, f"{download} --pins pins.json"))
    (repo / "params.yaml").write_text(yaml.safe_dump(tiny_params(variants), sort_keys=False))
    (repo / "grids.yaml").write_text(yaml.safe_dump(tiny_grids(variants), sort_keys=False))
    (repo / ".gitignore").write_text("/data/\n")
    run(["git", "init", "-q"], repo)
    run(["dvc", "init", "-q"], repo)
    shutil.copy(ROOT / ".dvc" / "config", repo / ".dvc" / "config")
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc" / "plots")
    # The diffs of the tests compare against commits, as a user's clone would.
    commit(repo, "pipeline")
    return repo


def commit(repo, message):
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], repo)
