"""Running `dvc`: queueing a grid's experiments, waiting for them and stopping them
(`make grid`); readback.py reads what they wrote."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from dvc.api import exp_show
from tqdm import tqdm

from anchorvae.errors import StageFailure, UsageError
from anchorvae.method.scores import declared_scales
from anchorvae.pipeline.overrides import apply_overrides
from anchorvae.pipeline.params import ParamsError
from anchorvae.pipeline.params_file import load_params, parse_params

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


def experiments_named(prefix: str) -> list[str]:
    return [row["Experiment"] for row in exp_show()
            if (row.get("Experiment") or "").startswith(prefix)]  # fmt: skip


POLL_S = 10
MAX_RESTARTS = 3  # queue workers restarted by `wait_for_queue` before it gives up


def check_planned(planned: list[tuple[str, list[str]]], params_path: str | Path) -> None:
    """Before anything is queued: each planned experiment's name and overrides are its own,
    and the params it would run with are valid (ParamsError naming the experiment), so
    that no cell is queued twice and none fails in its params stage after the others ran."""
    names = [name for name, _ in planned]
    overrides = [tuple(flags) for _, flags in planned]
    for i, name in enumerate(names):
        if name in names[:i] or overrides[i] in overrides[:i]:
            raise ParamsError(f"experiment {name} is planned twice: give each value once")
    raw = load_params(params_path).model_dump()
    for name, flags in planned:
        try:
            parse_params(apply_overrides(raw, flags), declared_scales())
        except (ParamsError, UsageError) as err:
            raise ParamsError(f"experiment {name} cannot run: {err}") from None


GRID_LOCK = Path(".dvc", "tmp", "anchorvae-grid.lock")


@contextlib.contextmanager
def one_grid_at_a_time(name: str, lock: Path = GRID_LOCK) -> Iterator[None]:
    """Held while a grid queues and waits: a second `make grid` beside it is refused in one
    line (the two would share DVC's one queue, and stopping one would end the other's
    cells). The kernel releases the lock when its holder dies, kill -9 included, so a
    killed grid never blocks the next one."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as held:  # not "w": the holder's name is read before it is ours
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.seek(0)
            holder = held.read().strip() or "another grid"
            raise StageFailure(f"{holder} is running in this repo: one grid at a time (they "
                               "share one DVC queue); wait for it, or stop it with "
                               "Ctrl-C") from None  # fmt: skip
        held.truncate(0)
        held.write(f"make grid NAME={name} (pid {os.getpid()})\n")
        held.flush()
        yield


def queue_experiments(
    prefix: str, planned: list[tuple[str, list[str]]], jobs: int, params_path: str | Path
) -> None:
    """Check the plan (:func:`check_planned`), remove the experiments named ``prefix``...,
    queue each planned (name, `-S` overrides) and start ``jobs`` queue workers."""
    check_planned(planned, params_path)
    stale = experiments_named(prefix)
    if stale:
        run_dvc("exp", "remove", *stale)
    try:
        for name, overrides in planned:
            flags = [flag for override in overrides for flag in ("-S", override)]
            run_dvc("exp", "run", "--queue", "--name", name, *flags)
        run_dvc("queue", "start", "--jobs", str(jobs))
    except BaseException:  # none of a half-queued plan runs on its own later
        stop_queue(prefix)
        raise


def wait_for_queue(jobs: int, prefix: str) -> None:
    """Block until nothing is queued or running. A queue worker that died with work left
    (seen here: DVC's file-system broker failing to read a message) is restarted, a few
    times at most, so one broken worker does not stall the queue for ever. Interrupted
    (Ctrl-C, SIGTERM), it stops the queue first: see :func:`stop_queue`."""
    log.info(
        "waiting for the DVC queue (`dvc queue status`; Ctrl-C stops it): a line per "
        "cell as it finishes, a progress bar with the time left in a terminal"
    )
    try:
        _wait(jobs, prefix)
    except BaseException:
        stop_queue(prefix)
        raise


STOPPED_WAIT_S = 30  # how long a killed experiment may take to be marked Failed


def stop_queue(prefix: str) -> None:
    """Stop the experiments named ``prefix``...: remove the queued ones, interrupt the
    running ones (as a Ctrl-C would), stop the workers (they run detached and would go
    on), then remove the tasks this left Failed, so that `dvc queue status` lists none of
    them as Queued, Running or Failed; other tasks (and finished ones) are left alone.
    Tasks are named by their id: an earlier run's finished task may bear the same name."""
    log.warning("stopping the DVC queue: queued experiments removed, running ones ended")
    with _uninterrupted():  # a second Ctrl-C would leave tasks running: it waits
        _stop_tasks(prefix)


@contextlib.contextmanager
def _uninterrupted():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_tasks(prefix: str) -> None:
    ours = _ours(prefix)
    _try_dvc("queue", "remove", *(task for task, state in ours.items() if state == "Queued"))
    _try_dvc("queue", "kill", *(task for task, state in ours.items() if state == "Running"))
    _try_dvc("queue", "stop", "--kill")
    deadline = time.monotonic() + STOPPED_WAIT_S
    while "Running" in _ours(prefix).values() and time.monotonic() < deadline:
        time.sleep(1)
    left = [task for task, state in _ours(prefix).items() if state in ("Queued", "Failed")]
    _try_dvc("queue", "remove", *left)


def _ours(prefix: str) -> dict[str, str]:
    """Task id -> state of the unfinished tasks of the experiments named ``prefix``..."""
    return {task: state for task, name, state in queue_tasks()
            if name.startswith(prefix) and state != "Success"}  # fmt: skip


def _try_dvc(*args: str) -> None:
    """`dvc *args`, a failure logged, not raised: stop as much as can be stopped. A
    `queue remove` or `queue kill` that names no task is not run (it would fail)."""
    if args[1] in ("remove", "kill") and len(args) == 2:
        return
    try:
        run_dvc(*args)
    except StageFailure as err:
        log.warning("%s", err)


STATUS_TRIES = 3  # a failed `dvc queue status` (seen when Ctrl-C reached it too) is retried


def queue_tasks() -> list[tuple[str, str, str]]:
    """(task id, experiment name, state) of every task `dvc queue status` lists (its
    columns: Task, Name, Created, Status; states Queued, Running, Failed, Success); none if
    it failed STATUS_TRIES times, a second apart."""
    for attempt in range(1, STATUS_TRIES + 1):
        try:
            status = run_dvc("queue", "status")
            break
        except StageFailure as err:
            log.warning("%s", err)
            if attempt == STATUS_TRIES:
                return []
            time.sleep(1)
    rows = (line.split() for line in status.splitlines())
    return [(row[0], row[1], row[-1]) for row in rows if len(row) > 3 and row[0] != "Task"]


STATES = ("Queued", "Running", "Failed", "Success")


def _wait(jobs: int, prefix: str = "") -> None:
    restarts = 0
    shown: dict[str, str] = {}  # our finished cells, logged once each
    with tqdm(desc=f"{prefix}*", unit="cell", disable=None) as bar:
        while True:
            status = run_dvc("queue", "status")
            _show_progress(bar, _cells(status, prefix), shown)
            if "Running" not in status and "Queued" not in status:
                return
            if "Queued" in status and "Running" not in status and "0 active" in status:
                if restarts == MAX_RESTARTS:
                    raise StageFailure("experiments are queued but no queue worker runs them")
                restarts += 1
                run_dvc("queue", "start", "--jobs", str(jobs))
            time.sleep(POLL_S)


def _cells(status: str, prefix: str) -> dict[str, str]:
    """Our cells' states in a `dvc queue status` text: a cell with a task queued or running
    is that, else its last finished task's state (an earlier run's tasks may share names)."""
    cells: dict[str, str] = {}
    for row in (line.split() for line in status.splitlines()):
        if len(row) >= 3 and row[-1] in STATES and row[1].startswith(prefix):
            if cells.get(row[1]) not in ("Queued", "Running"):
                cells[row[1]] = row[-1]
    return cells


def _show_progress(bar: tqdm, cells: dict[str, str], shown: dict[str, str]) -> None:
    """Cells done out of all on the bar (tqdm's estimate of the time left), the running one
    beside it; a line per cell as it finishes (all a log that is not a terminal gets)."""
    done = {name: s for name, s in cells.items() if s in ("Failed", "Success")}
    for name, state in done.items():
        if name not in shown:
            log.info("%s: %s (%d of %d cells done)", name, state, len(shown) + 1, len(cells))
            shown[name] = state
    bar.total = len(cells)
    bar.n = len(done)
    running = [name for name, s in cells.items() if s == "Running"]
    bar.set_postfix_str(f"running {running[0]}" if running else "", refresh=False)
    bar.refresh()


def require_success(table: pd.DataFrame, planned: list[str], command: str) -> None:
    """StageFailure unless every planned experiment has a row of ``table`` (its columns
    experiment and state) that succeeded: a report is written from a whole grid or not at
    all (the last one stays)."""
    states: dict[str, str] = {}  # a cell's state: its worst row's (a variant may lack one)
    for name, state in zip(table.get("experiment", []), table.get("state", []), strict=True):
        states[name] = state if states.get(name, "Success") == "Success" else states[name]
    bad = [f"{name} ({states.get(name) or 'not run'})" for name in planned
           if states.get(name) != "Success"]  # fmt: skip
    if bad:
        raise StageFailure(
            f"{len(bad)} of {len(planned)} experiments did not succeed: {', '.join(bad)}; "
            f"the last report is kept (`dvc queue logs NAME` says why; `{command}` reruns)"
        )
