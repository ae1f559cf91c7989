"""Layouts: where the anchored loss pulls each of k clusters, a point each.

A *membership* score gives every image k numbers, its memberships of k clusters (the
``clusters`` score: the clusters stage's, no label; the ``digit`` score: the labels'
one-hot, the reference any clustering could reach at best). Its direction in params.yaml
is a layout name, which places cluster k's point at ``rate * u_k``:

- ``axes``: u_k = e_k, cluster k along latent axis k (latent_dims >= k);
- ``circle``: u_k = (cos 2 pi k / K, sin 2 pi k / K, 0, ...), k points evenly on the unit
  circle of the first two latent dims.

The loss takes its KL at mu + rate * sum_k s_k d_k (loss.py), smallest at
mu = -rate * sum_k s_k d_k, so d_k = -u_k: one loss, no second path. Pure Python (no
torch): checking params.yaml reads it.
"""

from __future__ import annotations

import math

LAYOUTS = ("axes", "circle")
# The membership scores (modules of anchorvae/method/scores) and how many points each has:
# a number, or the params key that sets it.
MEMBERSHIP_POINTS: dict[str, int | str] = {"clusters": "clusters.k", "digit": 10}


def layout_problem(layout: str, points: int, latent_dims: int) -> str | None:
    """Why ``points`` points cannot be laid out so in ``latent_dims`` dims, or None."""
    if points < 2:
        return f"it has {points} point(s), expected >= 2"
    if layout == "axes" and latent_dims < points:
        return (f"axes puts each of its {points} points on its own latent axis: expected "
                f"train.latent_dims >= {points} (it is {latent_dims}), or circle")  # fmt: skip
    if layout == "circle" and latent_dims < 2:
        return "circle needs two latent dims: expected train.latent_dims >= 2, or axes"
    return None


def unit_points(layout: str, points: int, latent_dims: int) -> list[list[float]]:
    """(points, latent_dims) unit vectors u_k: where cluster k is pulled, at rate 1."""
    rows = [[0.0] * latent_dims for _ in range(points)]
    for k, row in enumerate(rows):
        if layout == "axes":
            row[k] = 1.0
        else:
            angle = 2 * math.pi * k / points
            row[0], row[1] = math.cos(angle), math.sin(angle)
    return rows


def layout_directions(layout: str, points: int, latent_dims: int) -> list[list[float]]:
    """(points, latent_dims) directions d_k = -u_k of a membership score's columns."""
    return [[-v for v in row] for row in unit_points(layout, points, latent_dims)]
