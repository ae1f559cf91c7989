"""The evaluation as it ran before the ensemble: one model at a time, batches of 4096.

Kept as the reference that tests/test_evaluate.py holds anchorvae.evaluation.evaluate to (the same
metrics within float tolerance) and that benchmarks/eval_speed.py times it against.
"""

from __future__ import annotations

import math

import torch

from anchorvae.digits import ANCHORED_DIGITS
from anchorvae.evaluation.evaluate import anchor_codes
from anchorvae.evaluation.placement import (
    corner_fractions,
    digit_centroids,
    grid_purity,
    is_aligned,
    is_placed,
    normal_grid,
    side_fractions,
)
from anchorvae.method.classifier import predict
from anchorvae.method.loss import kl_to_standard_normal
from anchorvae.method.model import one_hot


def _condition(labels: torch.Tensor, classes: int, device) -> list[torch.Tensor]:
    """The extra arguments a model of ``classes`` takes: a CVAE's one-hot labels, or none."""
    y = one_hot(labels, classes)
    return [] if y is None else [y.to(device)]


@torch.no_grad()
def evaluate_one(
    vae, classifier, images, labels, grid_size: int, points: torch.Tensor | None = None
) -> tuple[dict, torch.Tensor]:
    """(metrics, encoder means (N, D)) of one VAE, every image through it one batch at a
    time; with anchor ``points`` (10, D), the anchor reads too (the same codes drawn). A
    CVAE gets each image's label, and each anchor code its intended digit's."""
    device = next(vae.parameters()).device
    classes = vae.config.classes
    sse = kl = 0.0
    means, recons = [], []
    for x, label in zip(images.split(4096), labels.split(4096), strict=True):
        x = x.to(device)
        y = _condition(label, classes, device)
        mu, logvar = vae.encode(x, *y)
        recon = vae.decode(mu, *y)
        sse += torch.sum((recon - x) ** 2).item()
        kl += kl_to_standard_normal(mu, logvar).item()
        means.append(mu.cpu())
        recons.append(recon.cpu())
    means, recons = torch.cat(means), torch.cat(recons)
    centroids = digit_centroids(means, labels)
    metrics = {
        **corner_fractions(means, labels),
        "placed": is_placed(centroids),
        **side_fractions(means, labels),
        "aligned": is_aligned(centroids),
        "test_recon": sse / len(images),
        "test_kl": kl / len(images),
        "recon_accuracy": (predict(classifier, recons) == labels).float().mean().item(),
    }
    if means.shape[1] == 2 and not classes:
        codes = normal_grid(grid_size)
        decoded = vae.decode(codes.reshape(-1, 2).to(device)).cpu()
        predicted = predict(classifier, decoded).reshape(grid_size, grid_size)
        metrics.update(grid_purity(codes, predicted))
    if points is not None:
        codes, intended = anchor_codes(points)
        y = _condition(intended, classes, device)
        decoded = vae.decode(codes.to(device), *y).cpu()
        right = (predict(classifier, decoded) == intended).float()
        n = len(ANCHORED_DIGITS)
        distance = sum(math.hypot(*points[d].tolist()) for d in ANCHORED_DIGITS) / n
        metrics.update(anchor_point_read=right[:n].mean().item(),
                       anchor_decode=right[n:].mean().item(),
                       anchor_distance=distance)  # fmt: skip
    return metrics, means
