"""After `make repro`: one line when its metrics differ from the committed ones, and why.

    python tools/made_on.py    # in the repository, after `dvc repro`

The metrics files are git-tracked: another CPU's rounding trains other bytes, which `dvc
repro` writes over the committed files. This says so, naming both machines (from
metrics/made_on.json at HEAD and in the workspace), instead of leaving a silent diff.
Nothing is printed when the metrics are the committed ones or there is no commit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, if not installed

from anchorvae.artifacts.machines import parse_made_on  # noqa: E402
from anchorvae.artifacts.tables import parse_json, read_json  # noqa: E402
from anchorvae.pipeline.cli import run_stage  # noqa: E402
from anchorvae.reports.made_on import explain  # noqa: E402

METRICS = "metrics"
RECORD = f"{METRICS}/made_on.json"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True)


def changed_metrics() -> list[str] | None:
    """Committed metrics files that this run changed (None: no commit to compare; a new
    file, such as a first run's, has nothing committed to differ from)."""
    if git("rev-parse", "--verify", "-q", "HEAD").returncode != 0:
        return None
    diff = git("diff", "--name-only", "HEAD", "--", METRICS)
    return [p for p in diff.stdout.splitlines() if p != RECORD]


def committed_record() -> dict | None:
    shown = git("show", f"HEAD:{RECORD}")
    if shown.returncode != 0:
        return None
    return parse_made_on(parse_json(shown.stdout, f"HEAD:{RECORD}"), f"HEAD:{RECORD}")


def main(argv: list[str] | None = None) -> None:
    changed = changed_metrics()
    if not changed or not Path(RECORD).is_file():
        return
    now = parse_made_on(read_json(RECORD), RECORD)
    line = explain(changed, committed_record(), now)
    if line:
        print(line, file=sys.stderr)


if __name__ == "__main__":
    run_stage(main)
