"""Evaluate one trained VAE on the test set: placement, decoded grid, cost in fit."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from anchorvae.classifier import predict
from anchorvae.loss import kl_to_standard_normal
from anchorvae.placement import (
    corner_fractions,
    digit_centroids,
    grid_purity,
    is_placed,
    normal_grid,
)

SAMPLE_SEED = 0  # the latent-sample subset is the same for every model, for comparison


@dataclass
class Evaluation:
    metrics: dict  # scalar metrics of this model (see evaluate_model)
    centroids: torch.Tensor  # (10, latent_dims) mean code per digit
    sample_codes: torch.Tensor  # (sample_size, latent_dims) encoder means of a fixed subset
    sample_labels: torch.Tensor  # (sample_size,)
    grid_images: torch.Tensor | None  # (n, n, 28, 28) decoded grid, latent_dims = 2 only


@torch.no_grad()
def fit_costs(vae, images: torch.Tensor, batch_size: int = 4096) -> tuple:
    """(recon SSE per image, plain KL per image, means (N, D), reconstructions (N, 784)).

    Reconstructions decode the encoder mean, so the numbers are deterministic; the KL
    is to N(0, I) without anchoring, the same yardstick for every variant.
    """
    device = next(vae.parameters()).device
    sse = kl = 0.0
    means, recons = [], []
    for x in images.split(batch_size):
        mu, logvar = vae.encode(x.to(device))
        recon = vae.decode(mu)
        sse += torch.sum((recon - x.to(device)) ** 2).item()
        kl += kl_to_standard_normal(mu, logvar).item()
        means.append(mu.cpu())
        recons.append(recon.cpu())
    n = len(images)
    return sse / n, kl / n, torch.cat(means), torch.cat(recons)


@torch.no_grad()
def decoded_grid(vae, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes (n, n, 2), images (n, n, 784)) decoded at standard-normal quantiles."""
    device = next(vae.parameters()).device
    codes = normal_grid(n)
    images = vae.decode(codes.reshape(-1, 2).to(device)).cpu()
    return codes, images.reshape(n, n, -1)


def evaluate_model(
    vae, classifier, images: torch.Tensor, labels: torch.Tensor, grid_size: int, sample_size: int
) -> Evaluation:
    """All per-model numbers; grid metrics are absent (not 0) unless latent_dims = 2."""
    vae.eval()
    recon_err, kl, means, recons = fit_costs(vae, images)
    centroids = digit_centroids(means, labels)
    metrics = {
        **corner_fractions(means, labels),
        "placed": is_placed(centroids),
        "test_recon": recon_err,
        "test_kl": kl,
        "recon_accuracy": (predict(classifier, recons) == labels).float().mean().item(),
    }
    grid_images = None
    if means.shape[1] == 2:
        codes, decoded = decoded_grid(vae, grid_size)
        predicted = predict(classifier, decoded.reshape(-1, decoded.shape[-1]))
        metrics.update(grid_purity(codes, predicted.reshape(grid_size, grid_size)))
        grid_images = decoded.reshape(grid_size, grid_size, 28, 28)
    subset = torch.randperm(len(images), generator=torch.Generator().manual_seed(SAMPLE_SEED))
    subset = subset[:sample_size]
    return Evaluation(metrics, centroids, means[subset], labels[subset], grid_images)
