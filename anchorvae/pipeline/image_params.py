"""params.yaml's sections on what the training images are made into before any model
trains: the anchoring templates (``templates``) and the label-free clusters
(``clusters``). Part of the one schema (params.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from anchorvae.digits import TRAIN_IMAGES
from anchorvae.pipeline.fields import (
    INT32_MAX,
    SEED_MAX,
    ParamsError,
    Section,
    int_in,
    number_in,
)


class TemplatesParams(Section):
    # post: the blog post's donut/stick geometry; class_mean: the mean 0 and mean 1 (labels);
    # clusters, bootstrap: made from the training images with no label (method/templates.py)
    kind: Literal["post", "class_mean", "clusters", "bootstrap"] = Field(
        description="one of post, class_mean, clusters, bootstrap (the old name 'seed' is "
        "now 'post')"
    )
    # class_mean only: the mean of this many training 0s and 1s, 0 = of every one
    shots: int_in(0, INT32_MAX)
    # draws the shots (data/templates/shots.json), or the k-means starts of `clusters`
    seed: int_in(0, SEED_MAX)
    # clusters only: k of k-means (>= 2); 0 for other kinds
    clusters: int_in(0, 200, "k-means time grows with k: k = 50 took 35 s on 2 cores")
    # bootstrap only: images per template each round (>= 1); else 0
    top: int_in(0, TRAIN_IMAGES, "MNIST has 60,000 training images")
    rounds: int_in(0, 1000)  # bootstrap only: rounds from the post's maps (>= 1); else 0

    @model_validator(mode="after")
    def _keys_of_the_kind(self) -> TemplatesParams:
        """Each key changes what the kind makes, or is 0: a value a kind ignores (a seed
        where nothing is drawn, bootstrap rounds of 0 that leave the post's maps) is
        refused, not run as if it mattered."""
        takes = TEMPLATE_KEYS[self.kind]
        if self.kind == "class_mean" and not self.shots:
            takes = ()  # the means of every 0 and 1: nothing is drawn
        for key, least in (("shots", 0), ("seed", 0), ("clusters", 2), ("top", 1),
                           ("rounds", 1)):  # fmt: skip
            value = getattr(self, key)
            if key not in takes and value:
                raise ParamsError(
                    f"templates.{key} = {value} is invalid with templates.kind = {self.kind}"
                    f"{' and shots = 0' if self.kind == 'class_mean' else ''}, which does not "
                    f"take it: expected 0, or {TAKEN_BY[key]}"
                )
            if key in takes and value < least:
                raise ParamsError(f"templates.{key} = {value} is invalid with templates.kind = "
                                  f"{self.kind}: expected an integer >= {least}")  # fmt: skip
        return self


# The keys each template kind takes (the others must be 0), and who takes each.
TEMPLATE_KEYS = {"post": (), "class_mean": ("shots", "seed"), "clusters": ("clusters", "seed"),
                 "bootstrap": ("top", "rounds")}  # fmt: skip
TAKEN_BY = {"shots": "templates.kind = class_mean",
            "seed": "templates.kind = clusters, or class_mean with shots >= 1",
            "clusters": "templates.kind = clusters",
            "top": "templates.kind = bootstrap",
            "rounds": "templates.kind = bootstrap"}  # fmt: skip


class ClustersParams(Section):
    """Clusters of the training images with no label (the clusters stage,
    anchorvae/method/clusters.py): what the `clusters` score anchors, a point each."""

    # pixels; pca: their principal components; umap: UMAP's embedding of those components
    features: Literal["pixels", "pca", "umap"] = Field(description="one of pixels, pca, umap")
    # kmeans: one-hot memberships; gmm: a Gaussian mixture's posteriors (soft)
    method: Literal["kmeans", "gmm"] = Field(description="one of kmeans, gmm")
    k: int_in(0, 200, "0 for none, else >= 2; time grows with k")  # clusters, 0 = none
    seed: int_in(0, SEED_MAX)  # PCA's, UMAP's and the mixture's randomness
    pca: int_in(1, 784, "an image has 784 pixels")  # pca, umap: components kept
    neighbors: int_in(2, 1000)  # umap: n_neighbors
    min_dist: number_in(0, 1)  # umap: how tightly it packs neighbours
    components: int_in(1, 100)  # umap: the embedding's dimensions

    @field_validator("k")
    @classmethod
    def _two_or_none(cls, k: int) -> int:
        if k == 1:
            raise ValueError("one cluster")
        return k
