"""Running `dvc` and reading files back from a DVC experiment (`make sweep`, `make study`)."""

from __future__ import annotations

import subprocess
import tempfile
from io import StringIO

import pandas as pd
from dvc.api import exp_show

from anchorvae.errors import StageFailure


def run_dvc(*args: str) -> str:
    """`dvc *args`; returns its standard output. The output goes through files, not pipes:
    `dvc queue start` leaves a detached worker that inherits them, and reading a pipe to
    its end would wait for the whole queue."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        code = subprocess.run(["dvc", *args], stdout=out, stderr=err).returncode
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise StageFailure(f"dvc {' '.join(args)}: {err.read().strip().splitlines()[-1:]}")
        return out.read()


def experiments_named(prefix: str) -> list[str]:
    return [row["Experiment"] for row in exp_show()
            if (row.get("Experiment") or "").startswith(prefix)]  # fmt: skip


def experiment_csv(name: str, path: str) -> pd.DataFrame:
    """The git-tracked CSV ``path`` as experiment ``name`` committed it."""
    revs = [row["rev"] for row in exp_show() if row.get("Experiment") == name]
    if not revs:
        raise StageFailure(f"no DVC experiment named {name}: run it first (`make study`)")
    shown = subprocess.run(["git", "show", f"{revs[0]}:{path}"], capture_output=True, text=True)
    if shown.returncode != 0:
        raise StageFailure(f"experiment {name} has no {path}: {shown.stderr.strip()}")
    return pd.read_csv(StringIO(shown.stdout))
