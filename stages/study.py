"""`make study`: every variant over many seeds as one DVC experiment, then its report.

python stages/study.py run        # seeds 0..study.seeds_per_variant-1, `dvc exp run --temp`
python stages/study.py report --csv reports/study.csv --figure reports/study.png
                                  # from the experiment (or --tables DIR: a copy of metrics/)
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

import logging
import time
from pathlib import Path

import pandas as pd

from anchorvae.atomic import atomic_path
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.errors import UsageError
from anchorvae.experiments import (
    experiment_csvs,
    experiments_named,
    forget_killed_run,
    run_dvc,
    run_dvc_shown,
)
from anchorvae.plots import save_figure
from anchorvae.study import centroid_figure, check_tables, study_table
from anchorvae.tables import read_csv

log = logging.getLogger("anchorvae.study")
EXPERIMENT = "study"
NEXT = "study-next"  # a study being run, renamed EXPERIMENT once it has succeeded
TABLES = ("metrics/models.csv", "metrics/centroids.csv")  # what summarize writes


def run(seeds_per_variant: int) -> None:
    """Run the study as experiment NEXT; only once it has succeeded does it replace the
    last study (an interrupted or failed run leaves the last one as it was)."""
    forget_killed_run(NEXT)  # left by a run that could not clean up (SIGKILL)
    _remove(NEXT)
    seeds = ",".join(str(s) for s in range(seeds_per_variant))
    log.info("study: every variant on seeds 0..%d as experiment %s", seeds_per_variant - 1,
             EXPERIMENT)  # fmt: skip
    start = time.monotonic()
    try:
        run_dvc_shown("exp", "run", "--temp", "--name", NEXT, "-S", f"seeds=[{seeds}]")
    except BaseException:
        forget_killed_run(NEXT)  # after a second Ctrl-C (see run_dvc_shown)
        _remove(NEXT)
        raise
    _remove(EXPERIMENT)
    run_dvc("exp", "rename", NEXT, EXPERIMENT)
    log.info("study: done in %.1f min", (time.monotonic() - start) / 60)  # the log only


def _remove(name: str) -> None:
    if name in experiments_named(name):
        run_dvc("exp", "remove", name)


def read_tables(tables: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    if tables is None:
        models, centroids = experiment_csvs(EXPERIMENT, *TABLES)
        check_tables(models, centroids, f"experiment {EXPERIMENT}")
        return models, centroids
    paths = [Path(tables) / Path(path).name for path in TABLES]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"--tables {tables}: {path.name} is missing (summarize writes it)")
    models, centroids = (read_csv(path) for path in paths)
    check_tables(models, centroids, tables)
    return models, centroids


def report(csv: str, figure: str, tables: str | None) -> None:
    models, centroids = read_tables(tables)  # checked before anything is written
    table = study_table(models, centroids)
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.5f")
    save_figure(centroid_figure(centroids), figure, dpi=130)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=["run", "report"])
    p.add_argument("--csv", default="reports/study.csv")
    p.add_argument("--figure", default="reports/study.png")
    p.add_argument("--tables", default=None, help="folder with models.csv and centroids.csv")
    args = p.parse_args(argv)
    params = params_from(args)  # validated before anything runs
    if args.step == "run":
        run(params.study.seeds_per_variant)
    else:
        report(args.csv, args.figure, args.tables)


if __name__ == "__main__":
    run_stage(main)
