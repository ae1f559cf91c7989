"""Running `dvc`: queueing a grid's experiments, waiting for them and stopping them
(`make grid`); readback.py reads what they wrote."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from dvc.api import exp_show
from tqdm import tqdm

from anchorvae.errors import StageFailure
from anchorvae.experiments.grid import check_planned
from anchorvae.experiments.progress import cell_states, show_progress
from anchorvae.pipeline.settings import queue_settings

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


MAX_RESTARTS = 3  # queue workers restarted by `wait_for_queue` before it gives up


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
    """Check the plan (:func:`check_planned`), clear what an earlier run left
    (:func:`clear_leftovers`), remove the experiments named ``prefix``... no longer planned,
    queue each planned (name, `-S` overrides) and start ``jobs`` queue workers. A cell's
    last good experiment is kept as ``last-<name>`` until its new one ends
    (:func:`settle_last`), so a rerun that fails keeps it. (Not `exp run --force`, which
    would also rerun every stage that DVC's run cache holds.)"""
    check_planned(planned, params_path)
    clear_leftovers(prefix)
    names = {name for name, _ in planned}
    found = list(dict.fromkeys(experiments_named(prefix)))
    stale = [name for name in found if name not in names]
    if stale:
        run_dvc("exp", "remove", *stale)
    for name in (name for name in found if name in names):  # kept until its rerun succeeds
        run_dvc("exp", "rename", name, LAST + name)
    try:
        for name, overrides in planned:
            flags = [flag for override in overrides for flag in ("-S", override)]
            run_dvc("exp", "run", "--queue", "--name", name, *flags)
        run_dvc("queue", "start", "--jobs", str(jobs))
    except BaseException:  # none of a half-queued plan runs on its own later
        stop_queue(prefix)
        raise


LAST = "last-"  # a cell's last good experiment while its rerun is queued


def settle_last(prefix: str) -> None:
    """Each ``last-<cell>`` of this grid dropped where its cell's new experiment succeeded,
    renamed back to ``<cell>`` where it did not (failed, stopped or killed): a rerun that
    fails keeps the last good experiment, and no ``last-`` one stays behind."""
    rows = [row for row in exp_show() if row.get("typ") != "baseline"]
    done = {row.get("Experiment") for row in rows if row.get("State") in (None, "Success")}
    for last in dict.fromkeys(r.get("Experiment") or "" for r in rows):
        if last.startswith(LAST + prefix):
            cell = last[len(LAST) :]
            if cell in done:
                run_dvc("exp", "remove", last)
            else:
                log.warning("%s did not succeed: its last good experiment is kept", cell)
                run_dvc("exp", "rename", last, cell)


EXPS_TMP = Path(".dvc", "tmp", "exps")  # where DVC's queue workers make their workspaces


def clear_leftovers(prefix: str) -> None:
    """What a killed run of this grid left (kill -9 of `make grid`, of DVC's queue worker):
    its tasks still listed Queued, Running or Failed are ended and removed, and, when no
    queue worker is alive, the temporary workspaces no worker will finish
    (``.dvc/tmp/exps/tmp*``). Each said in a line; no other experiment's task is touched."""
    ours = _ours(prefix)
    if ours:
        log.warning("clearing %d task(s) of %s* an earlier run left (%s)", len(ours), prefix,
                    ", ".join(sorted(set(ours.values()))))  # fmt: skip
        _end_tasks(prefix, ours)
    settle_last(prefix)
    _clear_workspaces()


def _clear_workspaces() -> None:
    """When no queue worker is alive: the experiments' workspaces none will finish."""
    if "0 active" in run_dvc("queue", "status"):
        for workspace in sorted(EXPS_TMP.glob("tmp*")):
            log.warning("removing %s: an experiment's workspace no queue worker uses", workspace)
            shutil.rmtree(workspace, ignore_errors=True)


def wait_for_queue(jobs: int, prefix: str, names: list[str] | None = None) -> None:
    """Block until nothing is queued or running. A queue worker that died with work left
    (seen here: DVC's file-system broker failing to read a message) is restarted, a few
    times at most, so one broken worker does not stall the queue for ever. Interrupted
    (Ctrl-C, SIGTERM, SIGHUP), it stops the queue first: see :func:`stop_queue`. Its
    progress counts the cells ``names`` (all named ``prefix``... if None), not an earlier
    run's tasks of other cells that share the prefix."""
    log.info(
        "waiting for the DVC queue (`dvc queue status`; Ctrl-C stops it): a line per "
        "cell as it finishes, a progress bar with the time left in a terminal"
    )
    try:
        _wait(jobs, prefix, names)
    except BaseException:
        stop_queue(prefix)
        raise
    finally:
        settle_last(prefix)


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
    _end_tasks(prefix, _ours(prefix), stop_workers=True)
    try:  # a killed worker's workspace goes now, not at the next `make grid`
        _clear_workspaces()
    except StageFailure as err:
        log.warning("%s", err)


def _end_tasks(prefix: str, ours: dict[str, str], stop_workers: bool = False) -> None:
    """Remove the ``ours`` tasks queued, kill the running ones (and, with ``stop_workers``,
    the queue workers), wait for those to be marked Failed (at most STOPPED_WAIT_S), then
    remove every task of ``prefix``... left queued or failed."""
    _try_dvc("queue", "remove", *(task for task, state in ours.items() if state == "Queued"))
    _try_dvc("queue", "kill", *(task for task, state in ours.items() if state == "Running"))
    if stop_workers:
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


ORPHANED_POLLS = 3  # polls our cell may show Running with no worker alive: then it is dead


def _wait(jobs: int, prefix: str = "", names: list[str] | None = None) -> None:
    poll_s = queue_settings(os.environ).poll_s
    restarts = orphaned = 0
    shown: dict[str, str] = {}  # our finished cells, logged once each
    with tqdm(desc=f"{prefix}*", unit="cell", disable=None) as bar:
        while True:
            status = run_dvc("queue", "status")
            cells = cell_states(status, prefix, names)
            show_progress(bar, cells, shown)
            if "Running" not in status and "Queued" not in status:
                return
            # A worker killed (kill -9) leaves its task Running for ever: do not wait on it.
            orphaned = orphaned + 1 if "Running" in cells.values() and "0 active" in status else 0
            if orphaned == ORPHANED_POLLS:
                cell = next(name for name, state in cells.items() if state == "Running")
                raise StageFailure(f"the DVC queue worker running {cell} is gone (killed?): "
                                   f"its cells are ended; `make grid NAME={prefix[:-1]}` "
                                   "reruns them")  # fmt: skip
            if "Queued" in status and "Running" not in status and "0 active" in status:
                if restarts == MAX_RESTARTS:
                    raise StageFailure("experiments are queued but no queue worker runs them")
                restarts += 1
                run_dvc("queue", "start", "--jobs", str(jobs))
            time.sleep(poll_s)
