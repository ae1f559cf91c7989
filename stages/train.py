"""Stage `train`: every seed of one variant, trained together -> a checkpoint per seed."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

import os
from functools import partial

import numpy as np
import torch

from anchorvae.atomic import atomic_dir
from anchorvae.checkpoints import save_models
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.data import as_flat_floats, load_mnist
from anchorvae.errors import UsageError
from anchorvae.model import VAE, config_for
from anchorvae.runtime import choose_device, configure_cpu
from anchorvae.settings import run_settings
from anchorvae.train import train_seeds


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("variant", help="a key of `variants` in params.yaml")
    p.add_argument("mnist", help="MNIST root")
    p.add_argument("scores", help="the variant's anchor scores (.npy)")
    p.add_argument("out", help="folder for seed<N>/model.pt and history.csv")
    args = p.parse_args(argv)
    params = params_from(args)
    variant = params.variant(args.variant)
    run = run_settings(os.environ)  # ANCHORVAE_DEVICE, ANCHORVAE_THREADS: not params
    configure_cpu(run.threads)
    device = choose_device(run.device)
    images, _ = load_mnist(args.mnist, train=True)
    scores = load_scores(args.scores, len(images), len(variant.anchors))
    if params.train.limit:
        images, scores = images[: params.train.limit], scores[: params.train.limit]
    model_config = config_for(params.train)
    trained = train_seeds(
        as_flat_floats(images), scores, params.seeds, partial(VAE, model_config),
        params.train, variant, device, name=args.variant,
    )  # fmt: skip
    with atomic_dir(args.out) as tmp:
        save_models(tmp, trained, args.variant, model_config.to_dict())


def load_scores(path: str, n_images: int, n_scores: int) -> torch.Tensor:
    """The (N, S) scores of the scores stage, checked against the images and the anchors."""
    try:
        scores = np.load(path)
    except (OSError, ValueError) as err:
        raise UsageError(
            f"{path} cannot be read as scores ({err}): run the scores stage"
        ) from None
    if scores.shape != (n_images, n_scores):
        raise UsageError(
            f"{path} holds scores of shape {scores.shape}, expected ({n_images}, {n_scores}): "
            "run the scores stage for this variant"
        )
    return torch.from_numpy(scores)


if __name__ == "__main__":
    run_stage(main)
