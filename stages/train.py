"""Stage `train`: one VAE (a variant at a seed) -> model.pt and its per-epoch history."""

from pathlib import Path

import torch

from anchorvae.atomic import atomic_dir
from anchorvae.cli import params_from, parser, run_stage
from anchorvae.data import PIXELS, as_flat_floats, load_mnist
from anchorvae.errors import UsageError
from anchorvae.history import EpochLogger
from anchorvae.loss import anchor_direction
from anchorvae.model import ModelConfig
from anchorvae.templates import load_templates
from anchorvae.train import TrainConfig, choose_device, configure_cpu, train_vae


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--variant", required=True, help="a key of `variants` in params.yaml")
    p.add_argument("--seed", type=int, required=True, help="training seed")
    p.add_argument("--mnist", required=True, help="MNIST root")
    p.add_argument("--templates", help="folder with donut.npy and stick.npy (anchored only)")
    p.add_argument("--out", required=True, help="folder for model.pt and live/ (history)")
    args = p.parse_args(argv)
    if args.seed < 0:
        raise UsageError(f"--seed = {args.seed} is invalid: expected an integer >= 0")
    params = params_from(args)
    rate = params.variant(args.variant).anchor_rate
    configure_cpu(params.train.threads)
    device = choose_device(params.train.device)
    direction = template_direction(args.templates, rate)
    images, _ = load_mnist(args.mnist, train=True)
    if params.train.limit:
        images = images[: params.train.limit]
    model_config = ModelConfig(latent_dims=params.train.latent_dims)
    t = params.train
    config = TrainConfig(t.epochs, t.batch_size, t.lr, rate, args.seed)
    name = f"{args.variant}/seed{args.seed}"
    with atomic_dir(args.out) as tmp, EpochLogger(Path(tmp) / "live") as logger:
        model, history = train_vae(
            as_flat_floats(images), direction, model_config, config, device, name, logger.log
        )
        checkpoint = {
            "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            "model_config": model_config.to_dict(),
            "variant": args.variant,
            "seed": args.seed,
            "epoch": history[-1].epoch,
            "metrics": logger.summary(history),
        }
        torch.save(checkpoint, Path(tmp) / "model.pt")


def template_direction(folder: str | None, anchor_rate: float) -> torch.Tensor:
    """(donut - stick) from the templates stage; zeros for the plain VAE, which needs none."""
    if folder is None:
        if anchor_rate != 0:
            raise UsageError(f"anchor_rate = {anchor_rate} needs --templates")
        return torch.zeros(PIXELS)
    donut, stick = load_templates(folder)
    return anchor_direction(torch.from_numpy(donut), torch.from_numpy(stick))


if __name__ == "__main__":
    run_stage(main)
