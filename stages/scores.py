"""Stage `scores`: each training image's anchor scores for one variant, (N, S) in a .npy.

A variant's training depends on this file, not on the templates: a variant with no
template score (the baseline) gets the same file whatever the templates are, so DVC
does not retrain it when they change.
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from anchorvae.artifacts.arrays import load_maps, save_scores
from anchorvae.artifacts.atomic import atomic_path
from anchorvae.artifacts.clusters import load_memberships
from anchorvae.data.mnist import as_flat_floats, load_mnist
from anchorvae.errors import UsageError
from anchorvae.method.scores import SCORES, ScoreInputs, anchor_scores
from anchorvae.pipeline.cli import parse, parser, run_stage


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("variant", help="a key of `variants` in params.yaml")
    p.add_argument("mnist", help="MNIST root (the training set is scored)")
    p.add_argument("maps", help="folder of anchor maps (templates stage)")
    p.add_argument("clusters", help="folder of the training images' clusters (clusters stage)")
    p.add_argument("out", help=".npy file of float32 scores (N, S)")
    args, params = parse(p, argv, tuple(SCORES))
    variant = params.variant(args.variant)
    images, labels = load_mnist(args.mnist, train=True)
    # read only by the clusters score: any other variant's scores do not depend on them
    clustered = "clusters" in variant.anchors
    memberships = load_memberships(args.clusters, len(images)) if clustered else None
    inputs = ScoreInputs(as_flat_floats(images), labels, load_maps(args.maps), memberships)
    try:
        scores = anchor_scores(list(variant.anchors), inputs, variant.scale)  # (N, S)
    except ValueError as err:
        raise UsageError(f"variants.{args.variant}.scale = {variant.scale!r} is invalid: "
                         f"{err}") from None  # fmt: skip
    with atomic_path(args.out) as tmp:
        save_scores(tmp, scores)


if __name__ == "__main__":
    run_stage(main)
