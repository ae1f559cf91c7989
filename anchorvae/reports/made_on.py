"""Why a run's metrics differ from the committed ones: the one line `make repro` prints.

The committed metrics come with the machine each variant was trained on
(metrics/made_on.json). Where a run gives other metrics, the two records tell a CPU (or
thread count) that rounds otherwise from a change of params, code or data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SPEED = "docs/speed.md"


def _machine(record: Mapping) -> str:
    return (f"{record['device']} ({record['threads']} threads, torch {record['torch']}, "
            f"arithmetic {record['arithmetic']})")  # fmt: skip


def explain(changed: Sequence[str], committed: Mapping | None, now: Mapping) -> str | None:
    """One line on the metrics files in ``changed`` (none: nothing to say), from the
    committed machine records (variant -> record; None where the commit has none) and this
    run's."""
    if not changed:
        return None
    files = (
        "1 metrics file differs" if len(changed) == 1 else f"{len(changed)} metrics files differ"
    )
    head = f"make repro: {files} from the committed ones"
    if committed is None:
        return (f"{head}; the commit records no machine (metrics/made_on.json), so a CPU "
                "that rounds otherwise cannot be told from a change (`dvc params diff`, "
                "`git status`)")  # fmt: skip
    other = [v for v in now if v in committed
             and committed[v]["arithmetic"] != now[v]["arithmetic"]]  # fmt: skip
    if other:
        old, new = committed[other[0]], now[other[0]]
        return (f"{head}: they were trained on {_machine(old)}, this run on {_machine(new)}, "
                "whose math libraries round the last bits otherwise, and training amplifies "
                f"them (see {SPEED}; `dvc metrics diff` shows by how much)")  # fmt: skip
    return (f"{head}, on the arithmetic that made them: params, code or data differ from the "
            "commit (`dvc params diff`, `git status`)")  # fmt: skip
