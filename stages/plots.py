"""Stage `plots`: per-model figures, the headline figure and the training-curve table."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

import pandas as pd

from anchorvae.artifacts.atomic import atomic_dir, atomic_path
from anchorvae.artifacts.evaluations import load_sample
from anchorvae.artifacts.models import read_history
from anchorvae.pipeline.cli import parse, parser, run_stage
from anchorvae.reports.figures import headline_figure, latent_table, model_figures, save_figure


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("models", help="folder with <variant>/history.csv")
    p.add_argument("eval", help="folder with <variant>/seed<N>/ results")
    p.add_argument("figures", help="folder for the per-model PNGs")
    p.add_argument("headline", help="PNG: variants x seeds")
    p.add_argument("training", help="CSV: every model's per-epoch losses")
    p.add_argument("latent", help="CSV: test means of every model, a subset")
    args, params = parse(p, argv)
    models = [(v, s) for v in params.variants for s in params.seeds]
    panels: dict[str, list] = {v: [] for v in params.variants}
    with atomic_dir(args.figures) as tmp:
        for variant, seed in models:
            codes, labels, grid = load_sample(Path(args.eval) / variant / f"seed{seed}")
            latent, manifold = model_figures(codes, labels, grid, f"{variant}, seed {seed}")
            save_figure(latent, Path(tmp) / f"{variant}_seed{seed}_latent.png")
            if manifold is not None:
                save_figure(manifold, Path(tmp) / f"{variant}_seed{seed}_manifold.png")
            panels[variant].append((seed, codes, labels))
    save_figure(headline_figure(panels), args.headline, dpi=100)  # it lives in git: ~0.5 MB
    with atomic_path(args.latent) as tmp:
        latent_table(panels).to_csv(tmp, index=False, float_format="%.3f")
    histories = [
        read_history(Path(args.models) / v).assign(variant=v, rank=rank)
        for rank, v in enumerate(params.variants)
    ]  # rank: baseline first in plots
    with atomic_path(args.training) as tmp:
        pd.concat(histories).to_csv(tmp, index=False, float_format="%.5f")


if __name__ == "__main__":
    run_stage(main)
