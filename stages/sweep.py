"""`make sweep`: queue one DVC experiment per anchor_rate, wait, then report.

python stages/sweep.py queue              # validate params, queue and start the runs
python stages/sweep.py wait               # block until the queue is empty
python stages/sweep.py report --csv reports/sweep.csv --figure reports/sweep.png
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from dvc.api import exp_show

from anchorvae.atomic import atomic_path
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.experiments import (
    queue_experiments,
    require_success,
    wait_for_queue,
    with_details,
)
from anchorvae.plots import save_figure
from anchorvae.sweep import PREFIX, planned_experiments, sweep_figure, sweep_table


def report(params, csv: str, figure: str) -> None:
    table = sweep_table(with_details(exp_show(), PREFIX))
    planned = [name for name, _ in planned_experiments(params.sweep.rates)]
    require_success(table, planned, "make sweep")
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
        planned = planned_experiments(params.sweep.rates)
        queue_experiments(PREFIX, planned, params.sweep.jobs, args.params)
    elif args.step == "wait":
        wait_for_queue(params.sweep.jobs, PREFIX)
    else:
        report(params, args.csv, args.figure)


if __name__ == "__main__":
    run_stage(main)
