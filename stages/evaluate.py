"""Stage `evaluate`: corner placement, decoded grid and fit of every trained seed of a variant."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.atomic import atomic_dir
from anchorvae.checkpoints import model_path, trained_seeds
from anchorvae.classifier import load_classifier
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.data import as_flat_floats, load_mnist
from anchorvae.evaluate import evaluate_model
from anchorvae.model import load_checkpoint
from anchorvae.results import save_evaluation


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--models", required=True, help="a variant's folder of the train stage")
    p.add_argument("--classifier", required=True, help="classifier checkpoint")
    p.add_argument("--mnist", required=True, help="MNIST root (the test set is used)")
    p.add_argument("--out", required=True, help="folder for seed<N>/ results")
    args = p.parse_args(argv)
    e = params_from(args).evaluate
    seeds = trained_seeds(args.models)
    classifier = load_classifier(args.classifier)
    images, labels = load_mnist(args.mnist, train=False)
    images = as_flat_floats(images)
    with atomic_dir(args.out) as tmp:
        for seed in seeds:
            vae, _ = load_checkpoint(model_path(args.models, seed))
            evaluation = evaluate_model(
                vae, classifier, images, labels, e.grid_size, e.sample_size
            )
            save_evaluation(Path(tmp) / f"seed{seed}", evaluation)


if __name__ == "__main__":
    run_stage(main)
