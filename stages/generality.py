"""`make generality`: one DVC experiment per cell of the grid, wait, then report.

python stages/generality.py queue      # validate params, queue and start the cells
python stages/generality.py wait       # block until the queue is empty
python stages/generality.py report --csv reports/generality.csv --figure reports/generality.png
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
from anchorvae.generality import PREFIX, generality_figure, generality_table, planned_experiments
from anchorvae.plots import save_figure


def report(params, csv: str, figure: str) -> None:
    planned = [name for name, _ in planned_experiments(params)]
    table = generality_table(with_details(exp_show(), PREFIX), params.generality.variants,
                             planned)  # fmt: skip
    require_success(table, planned, "make generality")
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.5f")
    save_figure(generality_figure(table), figure)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=["queue", "wait", "report"])
    p.add_argument("--csv", default="reports/generality.csv")
    p.add_argument("--figure", default="reports/generality.png")
    args = p.parse_args(argv)
    params = params_from(args)  # validated before anything is queued
    g = params.generality
    if args.step == "queue":
        queue_experiments(PREFIX, planned_experiments(params), g.jobs, args.params)
    elif args.step == "wait":
        wait_for_queue(g.jobs, PREFIX)
    else:
        report(params, args.csv, args.figure)


if __name__ == "__main__":
    run_stage(main)
