"""`make exps` / `make metrics`: headline metrics per experiment (or of the workspace) and
variant, in the registry's order, readable at 120 columns.

`dvc exp show` prints a column for every metric of every variant's file, every param and
every dependency: too wide to read in a terminal. This prints one row per (experiment,
variant) with the numbers of metrics/variants/<variant>.json, then each experiment's
changed params.
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

import sys
import textwrap

import pandas as pd
from dvc.api import exp_show

from anchorvae.experiments.readback import changed_params, headline_table
from anchorvae.pipeline.cli import parse, parser, run_stage

WIDTH = 120  # a terminal's columns


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--workspace", action="store_true", help="the workspace's metrics only")
    args, params = parse(p, argv)  # a bad file is one line, as for every stage
    param_keys = set(pd.json_normalize(params.model_dump()).columns)
    rows = exp_show()
    if args.workspace:
        rows = [row for row in rows if row.get("rev") == "workspace"]
    table = headline_table(rows)
    sys.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n")
    for name, params in changed_params(rows, param_keys).items():
        text = f"{name}: {', '.join(params)}"
        sys.stdout.write(textwrap.fill(text, width=WIDTH, subsequent_indent="    ") + "\n")


if __name__ == "__main__":
    run_stage(main)
