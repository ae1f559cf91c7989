"""`make sweep`: queue one DVC experiment per anchor_rate, wait, then report.

python stages/sweep.py queue              # validate params, queue and start the runs
python stages/sweep.py wait               # block until the queue is empty
python stages/sweep.py report --csv reports/sweep.csv --figure reports/sweep.png
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

import json
import time

import pandas as pd
from dvc.api import exp_show

from anchorvae.atomic import atomic_path
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.errors import StageFailure
from anchorvae.experiments import committed_file, experiments_named, run_dvc
from anchorvae.plots import save_figure
from anchorvae.sweep import PREFIX, planned_experiments, sweep_figure, sweep_table

DETAILS = "metrics/details.json"  # what summarize writes, committed in each experiment
POLL_S = 10
MAX_RESTARTS = 3  # queue workers restarted by `wait` before it gives up


def queue(params) -> None:
    stale = experiments_named(PREFIX)
    if stale:
        run_dvc("exp", "remove", *stale)
    for name, overrides in planned_experiments(params.sweep.rates):
        flags = [flag for override in overrides for flag in ("-S", override)]
        run_dvc("exp", "run", "--queue", "--name", name, *flags)
    run_dvc("queue", "start", "--jobs", str(params.sweep.jobs))


def wait(jobs: int) -> None:
    """Block until nothing is queued or running. A queue worker that died with work left
    (seen here: DVC's file-system broker failing to read a message) is restarted, a few
    times at most, so one broken worker does not stall the sweep for ever."""
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


def with_details(rows: list[dict]) -> list[dict]:
    """exp_show rows, each sweep experiment's with the statistics of its committed
    metrics/details.json added as flat keys ("anchored.zeros_in_corner.median", ...)."""
    for row in rows:
        text = committed_file(row["rev"], DETAILS) if (row.get("Experiment") or "").startswith(
            PREFIX) else None  # fmt: skip
        if text:
            row.update(pd.json_normalize(json.loads(text), sep=".").iloc[0].to_dict())
    return rows


def report(csv: str, figure: str) -> None:
    table = sweep_table(with_details(exp_show()))
    if table.empty:
        raise StageFailure(f"no experiments named {PREFIX}*: run `make sweep` first")
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.5f")
    save_figure(sweep_figure(table), figure)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=["queue", "wait", "report"])
    p.add_argument("--csv", default="reports/sweep.csv")
    p.add_argument("--figure", default="reports/sweep.png")
    args = p.parse_args(argv)
    params = params_from(args)  # validated before anything is queued
    if args.step == "queue":
        queue(params)
    elif args.step == "wait":
        wait(params.sweep.jobs)
    else:
        report(args.csv, args.figure)


if __name__ == "__main__":
    run_stage(main)
