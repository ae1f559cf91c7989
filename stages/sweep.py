"""`make sweep`: queue one DVC experiment per anchor_rate, wait, then report.

python stages/sweep.py queue              # validate params, queue and start the runs
python stages/sweep.py wait               # block until the queue is empty
python stages/sweep.py report --csv reports/sweep.csv --figure reports/sweep.png
"""

import subprocess
import time

from dvc.api import exp_show

from anchorvae.atomic import atomic_path
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.errors import StageFailure
from anchorvae.plots import save_figure
from anchorvae.sweep import PREFIX, planned_experiments, sweep_figure, sweep_table

POLL_S = 10


def run_dvc(*args: str) -> str:
    result = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise StageFailure(f"dvc {' '.join(args)}: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout


def queue(params) -> None:
    stale = [row["Experiment"] for row in exp_show()
             if (row.get("Experiment") or "").startswith(PREFIX)]  # fmt: skip
    if stale:
        run_dvc("exp", "remove", *stale)
    for name, overrides in planned_experiments(params.sweep.rates):
        flags = [flag for override in overrides for flag in ("-S", override)]
        run_dvc("exp", "run", "--queue", "--name", name, *flags)
    run_dvc("queue", "start", "--jobs", str(params.sweep.jobs))


def wait() -> None:
    while any(word in run_dvc("queue", "status") for word in ("Queued", "Running")):
        time.sleep(POLL_S)


def report(csv: str, figure: str) -> None:
    table = sweep_table(exp_show())
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
        wait()
    else:
        report(args.csv, args.figure)


if __name__ == "__main__":
    run_stage(main)
