"""Stage `params`: check all of params.yaml before any other stage runs.

Every stage depends on this stage's output, so a bad value or an unknown key stops
`dvc repro` here, before DVC removes any other stage's outputs to run it. The output's
content never changes, so a params edit reruns only the stages that read the edited key.
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from anchorvae.artifacts.atomic import write_text
from anchorvae.method.scores import declared_scales
from anchorvae.pipeline.cli import parse, parser, run_stage

# The same bytes whatever the params, and since the first run: the path it names is the
# schema's old home (now anchorvae/pipeline/params.py), kept so that the marker's hash, which
# every stage's run-cache entry holds, did not change with the layout.
CHECKED = "params.yaml passed anchorvae/config.py\n"


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="marker file the other stages depend on")
    args, _ = parse(p, argv, declared_scales())  # ParamsError: one line, exit 2
    write_text(args.out, CHECKED)


if __name__ == "__main__":
    run_stage(main)
