"""Stage `classifier`: a digit classifier that judges decoded latent points."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from pathlib import Path

from anchorvae.artifacts.atomic import atomic_path, write_json
from anchorvae.artifacts.classifier import save_classifier
from anchorvae.data.mnist import as_flat_floats, load_mnist
from anchorvae.method.classifier import accuracy
from anchorvae.pipeline.cli import parse, parser, run_stage
from anchorvae.pipeline.runtime import device_from_env
from anchorvae.training.classifier import train_classifier


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--mnist", required=True, help="MNIST root")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    p.add_argument("--metrics", required=True, help="JSON file for the test accuracy")
    args, params = parse(p, argv)
    c = params.classifier
    device = device_from_env()
    train_x, train_y = load_mnist(args.mnist, train=True)
    test_x, test_y = load_mnist(args.mnist, train=False)
    model = train_classifier(
        as_flat_floats(train_x), train_y, c.epochs, c.batch_size, c.lr, c.seed, device
    )
    test_accuracy = accuracy(model, as_flat_floats(test_x), test_y)
    with atomic_path(Path(args.out)) as tmp:
        save_classifier(tmp, model, c.epochs, {"test_accuracy": test_accuracy})
    write_json(args.metrics, {"test_accuracy": test_accuracy})


if __name__ == "__main__":
    run_stage(main)
