"""Running `dvc` and reading files back from a DVC experiment (`make sweep`, `make study`)."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import tempfile
import time
from io import StringIO

import pandas as pd
from dvc.api import exp_show

from anchorvae.errors import StageFailure
from anchorvae.metrics import headline_paths
from anchorvae.tables import read_csv

log = logging.getLogger(__name__)
STOP_WAIT_S = 120  # how long an interrupted `dvc` may take to clean up after itself


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


def run_dvc_shown(*args: str) -> None:
    """`dvc *args` with its output on the terminal (its stages' messages included).

    DVC runs in a session of its own, so a Ctrl-C (or SIGTERM) reaches this process
    alone, which then interrupts DVC once with SIGINT and waits for it: DVC unwinds its
    run and cleans up after itself. (subprocess.run would kill it 0.25 s after a Ctrl-C,
    leaving a temporary experiment behind that DVC shows as Running for ever.)
    """
    process = subprocess.Popen(["dvc", *args], start_new_session=True)
    try:
        code = process.wait()
    except BaseException:  # KeyboardInterrupt, or cli.Terminated (SIGTERM)
        _stop(process)
        raise
    if code != 0:
        raise StageFailure(f"dvc {' '.join(args[:2])} failed (exit {code}): see its output above")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def experiments_named(prefix: str) -> list[str]:
    return [row["Experiment"] for row in exp_show()
            if (row.get("Experiment") or "").startswith(prefix)]  # fmt: skip


POLL_S = 10
MAX_RESTARTS = 3  # queue workers restarted by `wait_for_queue` before it gives up
DETAILS = "metrics/details.json"  # what summarize writes, committed in each experiment


def queue_experiments(prefix: str, planned: list[tuple[str, list[str]]], jobs: int) -> None:
    """Remove the experiments named ``prefix``..., queue each planned (name, `-S`
    overrides) and start ``jobs`` queue workers."""
    stale = experiments_named(prefix)
    if stale:
        run_dvc("exp", "remove", *stale)
    try:
        for name, overrides in planned:
            flags = [flag for override in overrides for flag in ("-S", override)]
            run_dvc("exp", "run", "--queue", "--name", name, *flags)
        run_dvc("queue", "start", "--jobs", str(jobs))
    except BaseException:  # none of a half-queued plan runs on its own later
        stop_queue()
        raise


def wait_for_queue(jobs: int) -> None:
    """Block until nothing is queued or running. A queue worker that died with work left
    (seen here: DVC's file-system broker failing to read a message) is restarted, a few
    times at most, so one broken worker does not stall the queue for ever. Interrupted
    (Ctrl-C, SIGTERM), it stops the queue first: see :func:`stop_queue`."""
    log.info("waiting for the DVC queue (`dvc queue status`; Ctrl-C stops it)")
    try:
        _wait(jobs)
    except BaseException:
        stop_queue()
        raise


def stop_queue() -> None:
    """Remove the queued experiments, interrupt the running ones (as a Ctrl-C would) and
    stop the workers: the queue workers run detached, so they would otherwise go on."""
    log.warning("stopping the DVC queue: queued experiments removed, running ones ended")
    for args in (("queue", "remove", "--queued"), ("queue", "kill", *_running()),
                 ("queue", "stop", "--kill")):  # fmt: skip
        if args[1] != "kill" or len(args) > 2:
            try:
                run_dvc(*args)
            except StageFailure as err:  # go on: stop as much as can be stopped
                log.warning("%s", err)


def _running() -> list[str]:
    """The names of the queue's running experiments (`dvc queue status`)."""
    status = run_dvc("queue", "status")
    return [line.split()[1] for line in status.splitlines()
            if len(line.split()) > 3 and line.split()[-1] == "Running"]  # fmt: skip


def _wait(jobs: int) -> None:
    restarts = 0
    while True:
        status = run_dvc("queue", "status")
        if "Running" not in status and "Queued" not in status:
            return
        if "Queued" in status and "Running" not in status and "0 active" in status:
            if restarts == MAX_RESTARTS:
                raise StageFailure("experiments are queued but no queue worker runs them")
            restarts += 1
            run_dvc("queue", "start", "--jobs", str(jobs))
        time.sleep(POLL_S)


def with_details(rows: list[dict], prefix: str) -> list[dict]:
    """exp_show rows, each of an experiment named ``prefix``... with the statistics of its
    committed metrics/details.json added as flat keys ("anchored.placed_rate", ...)."""
    for row in rows:
        name = row.get("Experiment") or ""
        text = committed_file(row["rev"], DETAILS) if name.startswith(prefix) else None
        if text:
            row.update(pd.json_normalize(json.loads(text), sep=".").iloc[0].to_dict())
    return rows


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
        tables.append(read_csv(StringIO(text), f"experiment {name}: {path}"))
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
