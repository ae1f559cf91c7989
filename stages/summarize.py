"""Stage `summarize`: per-variant statistics across seeds, a per-model table and every
model's digit centroids (what `make study` reads back from an experiment)."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.artifacts.atomic import atomic_dir, atomic_path, write_json
from anchorvae.artifacts.evaluations import check_same_metrics, load_result
from anchorvae.artifacts.summaries import by_variant, centroid_table, model_table
from anchorvae.errors import UsageError
from anchorvae.evaluation.summary import headline, summarize
from anchorvae.pipeline.cli import parse, parser, run_stage


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("eval", help="folder with <variant>/seed<N>/ results")
    p.add_argument("metrics", help="folder for <variant>.json headlines")
    p.add_argument("details", help="JSON of every statistic per variant")
    p.add_argument("table", help="per-model CSV")
    p.add_argument("centroids", help="CSV of every model's digit centroids")
    args, params = parse(p, argv)
    check_evaluated(Path(args.eval), params.variants)
    results = {
        variant: {s: load_result(Path(args.eval) / variant / f"seed{s}") for s in params.seeds}
        for variant in params.variants
    }
    for variant, by_seed in results.items():
        check_same_metrics(by_seed, Path(args.eval) / variant)
    models, centroids = model_table(results), centroid_table(results)
    summary = summarize(by_variant(models, centroids))
    write_json(args.details, summary)
    with atomic_dir(args.metrics) as tmp:
        for variant, stats in summary.items():
            write_json(Path(tmp) / f"{variant}.json", headline(stats))
    for table, path in ((models, args.table), (centroids, args.centroids)):
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.5f")


def check_evaluated(folder: Path, variants) -> None:
    """Every variant in params.yaml needs its evaluations (dvc.yaml's stages loop over them)."""
    for name in variants:
        if not (folder / name).is_dir():
            raise UsageError(
                f"variants.{name} has no evaluations in {folder}: run `dvc repro` "
                f"(stages train@{name} and evaluate@{name})"
            )


if __name__ == "__main__":
    run_stage(main)
