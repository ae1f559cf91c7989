"""Training the digit classifier (the classifier stage's work; evaluation only loads it)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F
from tqdm import tqdm

from anchorvae.method.classifier import DigitClassifier
from anchorvae.training.optimizer import make_optimizer
from anchorvae.training.seeds import set_seed


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device,
) -> DigitClassifier:
    """Cross-entropy training on in-memory ``images`` (N, 784) with a seeded shuffle."""
    set_seed(seed)
    model = DigitClassifier().to(device)
    optimizer = make_optimizer(model.parameters(), lr, device)
    x_all, y_all = images.to(device), labels.to(device)
    shuffler = torch.Generator().manual_seed(seed)
    n_batches = math.ceil(len(x_all) / batch_size)
    model.train()
    for _ in tqdm(range(epochs), desc="classifier", unit="epoch", leave=False, disable=None):
        order = torch.randperm(len(x_all), generator=shuffler).to(device)
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            loss = F.cross_entropy(model(x_all[idx]), y_all[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()
