"""`make readme`: rewrite the generated blocks of README.md and docs/*.md."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.artifacts.atomic import atomic_path
from anchorvae.artifacts.tables import read_csv, read_text
from anchorvae.errors import UsageError
from anchorvae.experiments.grid import check_report
from anchorvae.pipeline.cli import parse, parser, run_stage
from anchorvae.pipeline.params_file import load_grids
from anchorvae.reports.readme import blocks, default_metrics, names_in, rewrite


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument(
        "documents",
        nargs="*",
        default=["README.md", *sorted(str(p) for p in Path("docs").glob("*.md"))],
        help="markdown files (default: README.md docs/*.md)",
    )
    p.add_argument("--summary", default="metrics/details.json", help="the default run's")
    p.add_argument("--reports", default="reports", help="folder of the grids' NAME.csv")
    p.add_argument("--grids", help="grids file (default: grids.yaml beside --params)")
    args, params = parse(p, argv)
    all_grids = load_grids(args.grids or Path(args.params).with_name("grids.yaml"))
    for path in (args.summary, *args.documents):
        if not Path(path).is_file():
            raise UsageError(f"{path} is not a file: run the make target that writes it")
    named = {name for document in args.documents for name in names_in(read_text(document))}
    grids, raw = {}, params.model_dump()
    for name, grid in all_grids.items():  # the reports of the grids the documents show
        csv = Path(args.reports) / f"{name}.csv"
        if named & {name, f"{name}-details"}:
            if not csv.is_file():
                raise UsageError(f"{csv} is not a file: run `make grid NAME={name}`")
            check_report(read_csv(csv), name, grid, raw, csv)
            grids[name] = (grid, csv)
    generated = blocks(args.summary, grids, default_metrics(all_grids))
    texts = {document: rewrite(document, generated) for document in args.documents}
    for document, text in texts.items():  # only once every document is known to be good
        with atomic_path(document) as tmp:
            Path(tmp).write_text(text)


if __name__ == "__main__":
    run_stage(main)
