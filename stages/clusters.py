"""Stage `clusters`: the training images' clusters with no label (features, a mixture, k
and its seed: params.yaml's `clusters`), each image's memberships and each cluster's mean
image, ordered by their mean ink. Cached like any stage: UMAP's minutes are paid once per
clustering."""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

from anchorvae.artifacts.atomic import atomic_dir
from anchorvae.artifacts.clusters import save_clusters
from anchorvae.data.mnist import load_mnist_arrays
from anchorvae.errors import UsageError
from anchorvae.method.clusters import cluster_images, no_clusters
from anchorvae.pipeline.cli import parse, parser, run_stage


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("mnist", help="MNIST root (its training images are clustered, no label)")
    p.add_argument("out", help="folder for memberships.npy, means.npy, clusters.json")
    args, params = parse(p, argv)
    spec = params.clusters
    images, _ = load_mnist_arrays(args.mnist, train=True)  # no label read
    try:
        clusters = cluster_images(images, spec) if spec.k else no_clusters(*images.shape[:2])
    except ValueError as err:
        raise UsageError(str(err)) from None
    with atomic_dir(args.out) as tmp:
        save_clusters(tmp, clusters)


if __name__ == "__main__":
    run_stage(main)
