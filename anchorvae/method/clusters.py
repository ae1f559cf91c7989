"""Clusters of the training images without labels, from the field's libraries: features
(the pixels, their principal components, or UMAP's neighbour-graph embedding of those
components) and a mixture over them (k-means, or a Gaussian mixture), scikit-learn's and
umap-learn's, not hand-written.

Each image gets its memberships of the k clusters (one-hot from k-means; a Gaussian
mixture's posterior, rows summing to 1); each cluster its mean image. The clusters are
ordered by a rule that reads no label, their mean ink (the least first), so that cluster
k, and the point the anchored loss pulls it to, is the same kind of image whichever seed
drew the clusters. Labels are never read here: the clusters stage hands in images only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)
FEATURES = ("pixels", "pca", "umap")
METHODS = ("kmeans", "gmm")
KMEANS_STARTS = 4  # k-means++ starts kept best of (scikit-learn's n_init)


class ClusterSpec(Protocol):
    """What the clusters are made of (params.yaml's ``clusters`` section has it)."""

    features: str  # pixels | pca | umap
    method: str  # kmeans | gmm
    k: int  # clusters, >= 2 (0: none)
    seed: int  # PCA's, UMAP's and the mixture's randomness
    pca: int  # pca, umap: principal components kept
    neighbors: int  # umap: n_neighbors
    min_dist: float  # umap
    components: int  # umap: the embedding's dimensions


@dataclass(frozen=True)
class Clusters:
    memberships: np.ndarray  # (N, k) float32, each row sums to 1 (one-hot when hard)
    means: np.ndarray  # (k, 28, 28) float32 in [0, 1]: each cluster's membership-weighted mean
    record: dict  # what made them, and their sizes


def no_clusters(n_images: int, side: int) -> Clusters:
    """What k = 0 makes: no membership, no mean (no variant may read them)."""
    empty = np.zeros((n_images, 0), np.float32), np.zeros((0, side, side), np.float32)
    return Clusters(*empty, {"k": 0})


def cluster_images(images: np.ndarray, spec: ClusterSpec) -> Clusters:
    """The k clusters of ``images`` (N, 28, 28) uint8, ordered by mean ink; ValueError
    naming the key if the images are too few for ``spec``."""
    n, side = len(images), images.shape[-1]
    if spec.k > n:
        raise ValueError(f"clusters.k = {spec.k} is more than the {n} training images")
    flat = images.reshape(n, -1).astype(np.float32) / 255
    features = _features(flat, spec)
    memberships = _memberships(features, spec)
    ink = memberships.T @ flat.sum(axis=1) / np.maximum(memberships.sum(axis=0), 1e-12)
    order = np.argsort(ink, kind="stable")  # the rule that names a cluster's point: no label
    memberships = np.ascontiguousarray(memberships[:, order], dtype=np.float32)
    weights = memberships / np.maximum(memberships.sum(axis=0), 1e-12)
    means = (weights.T.astype(np.float64) @ flat).astype(np.float32).reshape(-1, side, side)
    record = {"features": spec.features, "method": spec.method, "k": spec.k, "seed": spec.seed,
              "order": "mean ink, least first", "ink": ink[order].round(3).tolist(),
              "sizes": memberships.sum(axis=0).round(1).tolist(), **_settings(spec)}  # fmt: skip
    return Clusters(memberships, means, record)


def _settings(spec: ClusterSpec) -> dict:
    if spec.features == "pixels":
        return {}
    pca = {"pca": spec.pca}
    if spec.features == "pca":
        return pca
    return {**pca, "neighbors": spec.neighbors, "min_dist": spec.min_dist,
            "components": spec.components}  # fmt: skip


def _features(flat: np.ndarray, spec: ClusterSpec) -> np.ndarray:
    if spec.features == "pixels":
        return flat
    from sklearn.decomposition import PCA

    components = min(spec.pca, *flat.shape)
    reduced = PCA(components, random_state=spec.seed).fit_transform(flat)
    if spec.features == "pca":
        return reduced
    return _umap(reduced, spec)


def _umap(reduced: np.ndarray, spec: ClusterSpec) -> np.ndarray:
    import warnings

    import umap  # numba compiles it on first use: seconds, paid only by this feature

    log.info("UMAP of %d images to %d dimensions (seeded: one thread)", *reduced.shape[:1],
             spec.components)  # fmt: skip
    embedding = umap.UMAP(n_neighbors=min(spec.neighbors, len(reduced) - 1),
                          min_dist=spec.min_dist, n_components=spec.components,
                          random_state=spec.seed)  # fmt: skip
    with warnings.catch_warnings():  # "n_jobs overridden by random_state": what we ask for
        warnings.simplefilter("ignore", UserWarning)
        return embedding.fit_transform(reduced).astype(np.float64)


def _memberships(features: np.ndarray, spec: ClusterSpec) -> np.ndarray:
    """(N, k): one-hot k-means assignments, or a Gaussian mixture's posteriors."""
    if spec.method == "kmeans":
        from sklearn.cluster import KMeans

        kmeans = KMeans(spec.k, n_init=KMEANS_STARTS, random_state=spec.seed)
        return np.eye(spec.k, dtype=np.float64)[kmeans.fit_predict(features)]
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(spec.k, random_state=spec.seed).fit(features)
    return mixture.predict_proba(features)
