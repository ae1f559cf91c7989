"""What `make grid` shows while it waits: the grid's cells read off `dvc queue status`,
a tqdm bar of the cells done (with its estimate of the time left) and a line per cell
as it finishes."""

from __future__ import annotations

import logging

from tqdm import tqdm

log = logging.getLogger(__name__)

STATES = ("Queued", "Running", "Failed", "Success")


def cell_states(status: str, prefix: str, names: list[str] | None = None) -> dict[str, str]:
    """Our cells' states in a `dvc queue status` text: a cell with a task queued or running
    is that, else its last finished task's state (an earlier run's tasks may share names).
    Our cells: ``names`` where given (an earlier run's other cells may share the prefix),
    else every name starting with ``prefix``."""
    cells: dict[str, str] = {}
    ours = set(names) if names is not None else None
    for row in (line.split() for line in status.splitlines()):
        if len(row) < 3 or row[-1] not in STATES or not row[1].startswith(prefix):
            continue
        if ours is None or row[1] in ours:
            if cells.get(row[1]) not in ("Queued", "Running"):
                cells[row[1]] = row[-1]
    return cells


def show_progress(bar: tqdm, cells: dict[str, str], shown: dict[str, str]) -> None:
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
