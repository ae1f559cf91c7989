"""`make readme`: rewrite the generated blocks of README.md and docs/*.md."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.atomic import atomic_path
from anchorvae.cli import parser, run_stage
from anchorvae.errors import UsageError
from anchorvae.readme import blocks, rewrite


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument(
        "documents",
        nargs="*",
        default=["README.md", *sorted(str(p) for p in Path("docs").glob("*.md"))],
        help="markdown files (default: README.md docs/*.md)",
    )
    p.add_argument("--summary", default="metrics/details.json", help="the default run's")
    p.add_argument("--study", default="reports/study.csv", help="the many-seed study's")
    p.add_argument("--sweep", default="reports/sweep.csv", help="the anchor_rate sweep's")
    p.add_argument("--generality", default="reports/generality.csv", help="make generality's")
    args = p.parse_args(argv)
    inputs = (args.summary, args.study, args.sweep, args.generality)
    for path in (*inputs, *args.documents):
        if not Path(path).is_file():
            raise UsageError(f"{path} is not a file: run the make target that writes it")
    generated = blocks(*inputs)
    texts = {document: rewrite(document, generated) for document in args.documents}
    for document, text in texts.items():  # only once every document is known to be good
        with atomic_path(document) as tmp:
            Path(tmp).write_text(text)


if __name__ == "__main__":
    run_stage(main)
