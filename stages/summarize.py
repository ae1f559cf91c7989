"""Stage `summarize`: per-variant metrics across seeds and a per-model table."""

from pathlib import Path

import pandas as pd

from anchorvae.atomic import atomic_path, write_json
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.errors import UsageError
from anchorvae.results import load_result
from anchorvae.summary import summarize


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--eval", required=True, help="folder with <variant>/seed<N>/ results")
    p.add_argument("--out", required=True, help="summary metrics JSON")
    p.add_argument("--table", required=True, help="per-model CSV")
    args = p.parse_args(argv)
    params = params_from(args)
    check_evaluated(Path(args.eval), params.variants)
    results = {
        variant: [load_result(Path(args.eval) / variant / f"seed{seed}") for seed in params.seeds]
        for variant in params.variants
    }
    write_json(args.out, summarize(results))
    rows = [
        {"model": f"{variant}/seed{seed}", "variant": variant, "seed": seed, **result["metrics"]}
        for variant, models in results.items()
        for seed, result in zip(params.seeds, models, strict=True)
    ]
    with atomic_path(args.table) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.5f")


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
