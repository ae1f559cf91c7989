"""`make readme`: rewrite the README's result tables from the metrics files."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.atomic import atomic_path
from anchorvae.cli import parser, run_stage
from anchorvae.readme import rewrite


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--readme", default="README.md")
    p.add_argument("--summary", default="metrics/details.json", help="the default run's")
    p.add_argument("--study", default="reports/study.csv", help="the many-seed study's")
    p.add_argument("--sweep", default="reports/sweep.csv", help="the anchor_rate sweep's")
    args = p.parse_args(argv)
    text = rewrite(args.readme, args.summary, args.study, args.sweep)
    with atomic_path(args.readme) as tmp:
        Path(tmp).write_text(text)


if __name__ == "__main__":
    run_stage(main)
