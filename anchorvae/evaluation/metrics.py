"""The one registry of reported metrics: every table, report and headline file reads it.

A metric is a per-model number that the evaluation writes, or a statistic of a variant's
seeds taken together; its kind (anchorvae/evaluation/kinds.py) says how it is summarised across
seeds, which number stands for it in a headline, and how a table cell and a figure's
spread read. A new metric of an existing kind is the evaluation's code plus one entry in
:data:`METRICS`; a grid shows it by its key (grids.yaml `grids.<name>.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass

from anchorvae.evaluation.kinds import ARRANGEMENT, AXIS, COUNT, MEAN, SHARE, Kind


@dataclass(frozen=True)
class Metric:
    key: str  # per-model key in metrics.json, or the summary key of a seeds statistic
    name: str  # short label: table columns and rows
    kind: Kind
    title: str = ""  # a figure panel's title ("" = the name)
    headline: str | None = None  # its name in metrics/variants/<variant>.json, if any
    gap: bool = False  # compared with the label reference in a report's gap table
    bounded: bool = False  # a share, 0..1, whatever its kind (intervals are cut to it)
    fmt: str = ".2f"  # how a cell writes its numbers

    @property
    def in_unit_range(self) -> bool:
        return self.bounded or self.kind.bounded


METRICS: tuple[Metric, ...] = (
    Metric("placed", "placed", COUNT, "seeds placed (0s' centroid in (−,…,−), 1s' in (+,…,+))",
           headline="placed", gap=True),
    Metric("zeros_in_corner", "0s in (−,−)", SHARE, "0s in the (−,−) corner",
           headline="zeros", gap=True),
    Metric("ones_in_corner", "1s in (+,+)", SHARE, "1s in the (+,+) corner",
           headline="ones", gap=True),
    Metric("aligned", "aligned", COUNT, "seeds aligned (0s' centroid on the − side of "
           "(1,…,1), 1s' on the +)", gap=True),
    Metric("zeros_on_side", "0s on − side", SHARE, "0s on the − side of (1, …, 1)", gap=True),
    Metric("ones_on_side", "1s on + side", SHARE, "1s on the + side of (1, …, 1)", gap=True),
    Metric("axis", "0→1 axis", AXIS),
    Metric("arrangement_stability", "arrangement", ARRANGEMENT, headline="arrangement",
           gap=True),
    Metric("grid_zero_purity", "decoded (−,−) quarter read as 0", MEAN, gap=True,
           bounded=True),
    Metric("grid_one_purity", "decoded (+,+) quarter read as 1", MEAN, gap=True,
           bounded=True),
    Metric("test_recon", "test SSE", MEAN, "test reconstruction SSE per image",
           headline="sse"),
    Metric("test_kl", "test KL", MEAN, "test KL per image, nats", headline="kl"),
    Metric("recon_accuracy", "reconstructions read as their digit", MEAN, bounded=True),
    Metric("anchor_point_read", "anchor points read as their digit", MEAN, gap=True,
           bounded=True),
    Metric("anchor_decode", "anchor samples read as their digit", MEAN,
           "samples around the 0s' and 1s' anchor points read as that digit", gap=True,
           bounded=True),
    # M2's own classifier q(y | x) on the test images (Kingma et al. 2014's figure: 11.97 %
    # error with 100 labels, a 50-D latent, 500-unit layers and many more epochs)
    Metric("own_label_accuracy", "its own classifier's test accuracy", MEAN,
           "test images M2's own classifier q(y | x) reads as their digit", bounded=True,
           fmt=".3f"),
    # Where the decoded points lie (the same for every seed of a variant).
    Metric("anchor_distance", "anchor points' distance from 0", MEAN,
           "mean distance of the 0s' and 1s' anchor points from the origin"),
    # How pure the variant's template is, read off the labels once it is fixed (the train
    # stage's, the same for every seed): of the n0 training images it pulls furthest to
    # (-,-), the share of 0s; of the n1 furthest to (+,+), of 1s.
    Metric("template_purity_zero", "template's top-rated are 0s", MEAN,
           "share of 0s among the n0 training images the template rates most 0-like",
           bounded=True),
    Metric("template_purity_one", "template's bottom-rated are 1s", MEAN,
           "share of 1s among the n1 training images the template rates most 1-like",
           bounded=True),
    # Every digit at a point (docs/ten_digits.md): a membership score's k points (a CVAE's:
    # its ten labels), each standing for its cluster's majority digit, read by the judge
    # around the point as anchor_decode reads the 0s' and 1s'.
    Metric("point_read", "points read as their digit", MEAN,
           "samples around each point read as its digit, mean over points", bounded=True),
    Metric("point_read_min", "lowest point's read", MEAN,
           "samples around the worst point read as its digit", bounded=True),
    Metric("digits_covered", "digits drawn", MEAN,
           "distinct digits the points mostly draw, of 10", fmt=".1f"),
    Metric("same_points", "every point its digit", COUNT,
           "seeds whose every point mostly draws its own digit"),
    Metric("cluster_accuracy", "clusters' matched accuracy", MEAN,
           "training images in their cluster's Hungarian-matched digit", bounded=True,
           fmt=".3f"),
)  # fmt: skip

BY_KEY = {m.key: m for m in METRICS}


def headline_paths() -> dict[str, tuple[str, ...]]:
    """Headline file key -> where its number sits in a variant's summary."""
    paths: dict[str, tuple[str, ...]] = {}
    for m in METRICS:
        if m.headline:
            paths.update(m.kind.headline(m.key, m.headline))
    return paths
