"""A grid's watchdog: the grid's DVC queue work is stopped when the `make grid` process
that waits on it dies without stopping it.

DVC's queue workers run detached: a kill -9 of `stages/grid.py`, or of make's whole
process group, would leave them running the rest of the grid. :func:`watched` starts this
module in a session of its own (a signal to the grid's group does not reach it), which
waits on the grid's process (a pidfd: no polling) and, if the grid died while its watch
file still exists, ends the grid's tasks and workers as a Ctrl-C would
(queue.stop_queue) and says so in one line. A grid that ends its wait itself removes the
file first, and the watchdog exits quietly.

    python -m anchorvae.experiments.watch PID PREFIX WATCH_FILE
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)
WATCH_DIR = Path(".dvc", "tmp")


@contextlib.contextmanager
def watched(prefix: str) -> Iterator[None]:
    """Around a grid's queueing and waiting: a watchdog ends the grid's work if this
    process dies inside (kill -9 included)."""
    WATCH_DIR.mkdir(parents=True, exist_ok=True)
    watch_file = WATCH_DIR / f"anchorvae-grid-watch-{os.getpid()}"
    watch_file.write_text(prefix)
    command = [sys.executable, "-m", __name__, str(os.getpid()), prefix, str(watch_file)]
    subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        yield
    finally:
        watch_file.unlink(missing_ok=True)


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    select.select([fd], [], [])
    os.close(fd)


def main(argv: list[str]) -> int:
    pid, prefix, watch_file = int(argv[0]), argv[1], Path(argv[2])
    _wait_for_exit(pid)
    if not watch_file.exists():
        return 0  # the grid ended its own wait
    from anchorvae.experiments.queue import stop_queue  # only when there is work to stop

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    log.warning("make grid (pid %d) died while it waited on %s*: stopping its DVC queue "
                "work", pid, prefix)  # fmt: skip
    try:
        stop_queue(prefix)
    finally:
        watch_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
