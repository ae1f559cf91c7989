"""Templates the data makes for itself: a donut and a stick read off the training images
with no label, named by the seed post's maps.

- ``clusters``: k-means over the images (scipy's ``kmeans2``, k-means++ starts drawn by
  the template seed); the donut is the centroid the post's score rates highest, the
  stick the one it rates lowest.
- ``bootstrap``: start from the post's score; each round, the donut becomes the mean of
  the ``top`` images the current score rates highest and the stick the mean of the
  ``top`` it rates lowest, and the score is taken anew with them. No rounds: the post's
  maps themselves.

Either returns its two maps, scaled as class means are (peak 1), and a record of what
they were made of. Labels are never read: the templates stage hands in images only.
"""

from __future__ import annotations

import logging
import warnings
from typing import Protocol

import numpy as np
from scipy.cluster.vq import kmeans2

log = logging.getLogger(__name__)
LABEL_FREE = ("clusters", "bootstrap")  # the kinds of template made here
KMEANS_ITERATIONS = 10  # scipy's default: k = 50 over the 60,000 images took 35 s here


class TemplateSpec(Protocol):
    """What a template is to be made of (params.yaml's ``templates`` section has it)."""

    kind: str  # post | class_mean | clusters | bootstrap
    seed: int  # the k-means starts of clusters (the shots of class_mean)
    clusters: int  # clusters: k
    top: int  # bootstrap: images per template each round
    rounds: int  # bootstrap: rounds from the post's maps


def label_free_templates(
    spec: TemplateSpec, images: np.ndarray, donut: np.ndarray, stick: np.ndarray
) -> tuple[dict[str, np.ndarray], dict]:
    """The {donut, stick} maps of a label-free ``spec`` from the training ``images`` (N,
    28, 28) of any scale, started from or named by the post's ``donut`` and ``stick``; and
    what they were made of. ValueError naming the key if the images are too few."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    flat /= max(float(flat.max()), 1e-12)  # uint8 0..255 -> 0..1, as the models see them
    if spec.kind == "clusters":
        if spec.clusters > len(flat):
            raise ValueError(f"templates.clusters = {spec.clusters} is more than the "
                             f"{len(flat)} training images")  # fmt: skip
        return cluster_templates(flat, spec.clusters, spec.seed, donut, stick)
    if spec.kind == "bootstrap":
        if 2 * spec.top > len(flat):
            raise ValueError(f"templates.top = {spec.top} is more than half of the "
                             f"{len(flat)} training images")  # fmt: skip
        return bootstrap_templates(flat, spec.top, spec.rounds, donut, stick)
    raise ValueError(f"templates.kind = {spec.kind!r} is not label-free: allowed are "
                     f"{', '.join(LABEL_FREE)}")  # fmt: skip


def overlap_scores(images: np.ndarray, donut: np.ndarray, stick: np.ndarray) -> np.ndarray:
    """(N,) (x . donut - x . stick) / sum(x) of flat images (N, pixels) in [0, 1] (0 for a
    blank image): the post's score with any pair of maps, in float64."""
    ink = images.sum(axis=1)
    overlap = images @ (donut.reshape(-1) - stick.reshape(-1)).astype(np.float64)
    return np.divide(overlap, ink, out=np.zeros_like(overlap), where=ink > 0)


def peak_scaled(image: np.ndarray) -> np.ndarray:
    """A mean image scaled to peak 1, as float32 (how class-mean maps are scaled)."""
    peak = image.max()
    return (image / peak if peak > 0 else image).astype(np.float32)


def cluster_templates(
    images: np.ndarray, clusters: int, seed: int, donut: np.ndarray, stick: np.ndarray
) -> tuple[dict[str, np.ndarray], dict]:
    """Maps {donut, stick} from k-means over ``images`` (N, pixels) in [0, 1], the
    clusters named by the post's ``donut`` and ``stick``; and what they were made of."""
    with warnings.catch_warnings(record=True) as caught:  # scipy warns of empty clusters
        warnings.simplefilter("always")
        centroids, assigned = kmeans2(images, clusters, iter=KMEANS_ITERATIONS, minit="++",
                                      seed=np.random.default_rng(seed))  # fmt: skip
    for warning in caught:
        log.warning("k-means: %s", warning.message)
    rated = overlap_scores(centroids, donut, stick)  # (k,)
    zero, one = int(np.argmax(rated)), int(np.argmin(rated))
    sizes = np.bincount(assigned, minlength=clusters)
    side = donut.shape
    maps = {"donut": peak_scaled(centroids[zero]).reshape(side),
            "stick": peak_scaled(centroids[one]).reshape(side)}  # fmt: skip
    record = {"kind": "clusters", "clusters": clusters, "seed": seed, "images": len(images),
              "donut_cluster": zero, "stick_cluster": one, "sizes": sizes.tolist(),
              "post_score_of_centroids": [round(float(s), 6) for s in rated]}  # fmt: skip
    return maps, record


def bootstrap_templates(
    images: np.ndarray, top: int, rounds: int, donut: np.ndarray, stick: np.ndarray
) -> tuple[dict[str, np.ndarray], dict]:
    """Maps {donut, stick} after ``rounds`` rounds from the post's ``donut`` and ``stick``:
    the means of the ``top`` images the current maps rate highest and lowest."""
    side = donut.shape
    maps = {"donut": donut.astype(np.float32), "stick": stick.astype(np.float32)}
    for _ in range(rounds):
        order = np.argsort(-overlap_scores(images, maps["donut"], maps["stick"]), kind="stable")
        maps = {"donut": peak_scaled(images[order[:top]].mean(axis=0)).reshape(side),
                "stick": peak_scaled(images[order[-top:]].mean(axis=0)).reshape(side)}  # fmt: skip
    record = {"kind": "bootstrap", "top": top, "rounds": rounds, "images": len(images)}
    return maps, record
