"""Reading experiments back: which experiments a grid left, on which commit, and the
files they committed or cached, each through its checked reader (`make grid`, `make
exps`)."""

from __future__ import annotations

import re
import subprocess
from io import StringIO

import pandas as pd
from dvc.api import exp_show
from dvc.api import read as dvc_api_read

from anchorvae.artifacts.tables import parse_json, read_csv
from anchorvae.errors import BadInputFile, StageFailure
from anchorvae.evaluation.metrics import headline_paths

BASELINES = 20  # commits searched for a grid's experiments, the newest first


def experiment_revs(prefix: str, rows: list[dict] | None = None) -> dict[str, tuple[str, str]]:
    """Experiment name -> (state, commit) of the experiments named ``prefix``... of the
    newest commit that has any (a commit made while a grid ran moves HEAD off the commit
    its experiments were queued from; an older run's cells never mix with a newer one's).
    ``rows``: `dvc.api.exp_show` rows, each baseline followed by its experiments."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    baseline = None
    for row in exp_show(num=BASELINES) if rows is None else rows:
        name = row.get("Experiment") or ""
        if row.get("typ") == "baseline":
            baseline = row.get("rev")
        elif name.startswith(prefix):
            found.setdefault(baseline, {})[name] = (row.get("State") or "Success", row["rev"])
    return next(iter(found.values()), {})


def committed_file(rev: str, path: str) -> str | None:
    """The text of git-tracked ``path`` at commit ``rev`` (an experiment's), None if absent."""
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def cached_bytes(rev: str, path: str) -> bytes:
    """The bytes of a DVC-tracked output ``path`` of commit ``rev`` (an experiment's), from
    the local cache; StageFailure if it cannot be read."""
    try:
        return dvc_api_read(path, rev=rev, mode="rb")
    except Exception as err:  # DVC raises many kinds: a missing rev, file or cache object
        raise StageFailure(f"experiment {rev[:7]}: {path} cannot be read ({err})") from None


def committed_json(rev: str, path: str, where: str) -> dict | None:
    """A JSON file as commit ``rev`` holds it (None if absent); BadInputFile naming
    ``where`` if it is not JSON."""
    text = committed_file(rev, path)
    return None if text is None else parse_json(text, f"{where}: {path}")


def committed_csv(rev: str, path: str, where: str) -> pd.DataFrame:
    """A CSV table as commit ``rev`` holds it; StageFailure naming ``where`` if absent."""
    text = committed_file(rev, path)
    if text is None:
        raise StageFailure(f"{where} has no {path}")
    return read_csv(StringIO(text), f"{where}: {path}")


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
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise BadInputFile(  # DVC shows "!" for a metrics file it cannot read
                        f"metrics/variants/{match['variant']}.json of {key[0]}: DVC cannot "
                        f"read it as metrics ({value!r}): run `dvc repro summarize`"
                    )
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
