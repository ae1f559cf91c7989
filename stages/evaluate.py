"""Stage `evaluate`: corner placement, decoded grid and fit of every trained seed of a
variant, all seeds at once as one stacked ensemble."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.artifacts.anchor_points import points_to_decode, read_template_purity
from anchorvae.artifacts.atomic import atomic_dir
from anchorvae.artifacts.classifier import load_classifier
from anchorvae.artifacts.evaluations import save_evaluation
from anchorvae.artifacts.models import load_checkpoint, model_path, trained_seeds, variant_of
from anchorvae.data.mnist import as_flat_floats, load_mnist
from anchorvae.errors import UsageError
from anchorvae.evaluation.evaluate import evaluate_seeds
from anchorvae.pipeline.cli import parse, parser, run_stage
from anchorvae.pipeline.runtime import device_from_env


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("models", help="a variant's folder of the train stage")
    p.add_argument("classifier", help="classifier checkpoint")
    p.add_argument("mnist", help="MNIST root (the test set is used)")
    p.add_argument("out", help="folder for seed<N>/ results")
    args, params = parse(p, argv)
    e = params.evaluate
    device = device_from_env()
    seeds = trained_seeds(args.models)
    if not seeds:
        raise UsageError(f"{args.models} holds no seed<N>/model.pt: run the train stage")
    vaes, checkpoints = zip(
        *(load_checkpoint(model_path(args.models, s)) for s in seeds), strict=True
    )
    variant = variant_of(checkpoints[0], model_path(args.models, seeds[0]))
    # A plain VAE decodes the control's anchor points (evaluate.control), beside its folder.
    params.variant(variant)  # one the params know: ParamsError naming the known ones
    points, layout = points_to_decode(args.models, variant, params.variants,
                                      params.train.latent_dims, e.control)  # fmt: skip
    classifier = load_classifier(args.classifier)
    images, labels = load_mnist(args.mnist, train=False)
    evaluations = evaluate_seeds(
        list(vaes), classifier, as_flat_floats(images), labels, e.grid_size, e.sample_size, device,
        points, layout,
    )  # fmt: skip
    purity = read_template_purity(args.models)  # the variant's template, the same per seed
    with atomic_dir(args.out) as tmp:
        for seed, evaluation in zip(seeds, evaluations, strict=True):
            evaluation.metrics.update(purity)
            save_evaluation(Path(tmp) / f"seed{seed}", evaluation)


if __name__ == "__main__":
    run_stage(main)
