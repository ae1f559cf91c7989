"""Stage `made_on`: the machine each variant was trained on, gathered from the train
stages' records into one file committed with the metrics (docs/speed.md says why)."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.artifacts.atomic import write_json
from anchorvae.artifacts.machines import read_made_on
from anchorvae.pipeline.cli import parse, parser, run_stage


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("models", help="folder with <variant>/made_on.json")
    p.add_argument("out", help="JSON file: variant -> machine record")
    args, params = parse(p, argv)
    write_json(args.out, {v: read_made_on(Path(args.models) / v) for v in params.variants})


if __name__ == "__main__":
    run_stage(main)
