"""Stage `evaluate`: corner placement, decoded grid and fit of one trained VAE."""

from anchorvae.atomic import atomic_dir
from anchorvae.classifier import load_classifier
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.data import as_flat_floats, load_mnist
from anchorvae.evaluate import evaluate_model
from anchorvae.model import load_checkpoint
from anchorvae.results import save_evaluation


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--model", required=True, help="VAE checkpoint (model.pt)")
    p.add_argument("--classifier", required=True, help="classifier checkpoint")
    p.add_argument("--mnist", required=True, help="MNIST root (the test set is used)")
    p.add_argument("--out", required=True, help="folder for metrics.json and tables")
    args = p.parse_args(argv)
    e = params_from(args).evaluate
    vae, _ = load_checkpoint(args.model)
    classifier = load_classifier(args.classifier)
    images, labels = load_mnist(args.mnist, train=False)
    evaluation = evaluate_model(
        vae, classifier, as_flat_floats(images), labels, e.grid_size, e.sample_size
    )
    with atomic_dir(args.out) as tmp:
        save_evaluation(tmp, evaluation)


if __name__ == "__main__":
    run_stage(main)
