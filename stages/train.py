"""Stage `train`: every seed of one variant, trained together -> a checkpoint per seed."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from functools import partial
from pathlib import Path

from anchorvae.artifacts.arrays import load_scores
from anchorvae.artifacts.atomic import atomic_dir, write_json
from anchorvae.artifacts.machines import write_made_on
from anchorvae.artifacts.models import save_models
from anchorvae.data.mnist import as_flat_floats, load_mnist
from anchorvae.errors import UsageError
from anchorvae.method.anchors import (
    anchor_directions,
    has_anchors,
    layout_of,
    own_layout,
    own_points,
    score_columns,
    template_purity,
)
from anchorvae.method.m2 import build_generative, semi_supervised_training
from anchorvae.method.model import config_for, one_hot
from anchorvae.pipeline.cli import parse, parser, run_stage
from anchorvae.pipeline.runtime import device_from_env
from anchorvae.training.arithmetic import machine_record
from anchorvae.training.train import train_seeds


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("variant", help="a key of `variants` in params.yaml")
    p.add_argument("mnist", help="MNIST root")
    p.add_argument("scores", help="the variant's anchor scores (.npy)")
    p.add_argument("out", help="folder for seed<N>/model.pt and history.csv")
    args, params = parse(p, argv)
    variant = params.variant(args.variant)
    device = device_from_env()
    images, labels = load_mnist(args.mnist, train=True)
    scores = load_scores(args.scores, len(images), score_columns(variant, params.points_of))
    if params.train.limit:
        n = params.train.limit
        if n > len(images):  # not capped: the file asks for images there are not
            raise UsageError(f"train.limit = {n} is invalid: {args.mnist} holds {len(images)} "
                             "training images: expected at most that, or 0 for all")  # fmt: skip
        images, scores, labels = images[:n], scores[:n], labels[:n]
    dims = params.train.latent_dims
    directions = anchor_directions(variant, dims, scores.shape[1])  # (S, D), a column each
    semi = variant.semi_supervised
    model_config = config_for(dims, params.train.architecture, variant.conditional, bool(semi))
    m2 = semi_supervised_training(semi, labels, f"variants.{args.variant}.semi_supervised")
    trained = train_seeds(
        as_flat_floats(images), scores, params.seeds, partial(build_generative, model_config),
        params.train, directions, variant.anchor_rate, device,
        name=args.variant, conditions=one_hot(labels, model_config.classes), **m2.train_args,
    )  # fmt: skip
    # what the evaluation decodes: where the loss pulled each digit (a CVAE: the origin)
    points = own_points(variant, scores, labels, dims)
    layout = own_layout(variant, scores, labels, dims)  # a membership score's k points
    templated = has_anchors(variant) and not layout_of(variant)
    purity = template_purity(scores, labels, directions) if templated else None
    made_on = machine_record(
        params.train.architecture, device
    )  # after training, apart from its streams
    with atomic_dir(args.out) as tmp:
        save_models(tmp, trained.state_dicts, trained.history_records(), args.variant,
                    model_config.to_dict(), points, purity, layout)  # fmt: skip
        write_made_on(tmp, made_on)
        if m2.record:  # which training images M2 was given the labels of
            write_json(Path(tmp) / "labelled.json", m2.record)


if __name__ == "__main__":
    run_stage(main)
