"""Running `dvc` and reading files back from a DVC experiment (`make sweep`, `make study`)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from io import StringIO

import pandas as pd
from dvc.api import exp_show

from anchorvae.errors import StageFailure
from anchorvae.metrics import headline_paths


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


def committed_file(rev: str, path: str) -> str | None:
    """The text of git-tracked ``path`` at commit ``rev`` (an experiment's), None if absent."""
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def experiment_csvs(name: str, *paths: str) -> list[pd.DataFrame]:
    """The git-tracked CSVs ``paths`` as experiment ``name`` committed them."""
    revs = [row["rev"] for row in exp_show() if row.get("Experiment") == name]
    if not revs:
        raise StageFailure(f"no DVC experiment named {name}: run it first (`make study`)")
    tables = []
    for path in paths:
        text = committed_file(revs[0], path)
        if text is None:
            raise StageFailure(f"experiment {name} has no {path}")
        tables.append(pd.read_csv(StringIO(text)))
    return tables


METRIC_KEY = re.compile(r"^(?:.*/)?variants/(?P<variant>[^/:]+)\.json:(?P<key>.+)$")


def _label(row: dict) -> str:
    return row.get("Experiment") or row.get("rev") or "?"


def headline_table(exp_rows: list[dict]) -> pd.DataFrame:
    """One row per (experiment, variant): the headline metrics that the summarize stage
    writes to metrics/variants/<variant>.json, read from `dvc.api.exp_show` rows."""
    records: dict[tuple[str, str], dict] = {}
    for row in exp_rows:
        for column, value in row.items():
            match = METRIC_KEY.match(column)
            if match and value is not None and value != "-":
                key = (_label(row), match["variant"])
                records.setdefault(key, {"experiment": key[0], "variant": key[1]})
                records[key][match["key"]] = value
    table = pd.DataFrame(list(records.values()))
    if table.empty:
        return table
    ordered = [key for key in headline_paths() if key in table.columns]
    table = table[["experiment", "variant", *ordered]]
    if "placed" in table.columns:
        table["placed"] = table["placed"].astype(int)
    return table


def changed_params(exp_rows: list[dict], params: set[str]) -> dict[str, list[str]]:
    """experiment -> ``key=value`` of the ``params`` (dotted keys) whose value differs
    between the rows."""
    keys = [k for k in exp_rows[0] if k in params]
    changed = [k for k in keys if len({str(row.get(k)) for row in exp_rows}) > 1]
    return {_label(row): [f"{k}={row.get(k)}" for k in changed] for row in exp_rows if changed}
