"""A small digit classifier: the judge of what decoded latent points look like."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ClassifierConfig:
    channels: tuple[int, int] = (16, 32)  # filters of the two 5x5 conv layers
    n_classes: int = 10

    def to_dict(self) -> dict:
        return asdict(self)


class DigitClassifier(nn.Module):
    """LeNet-style: two conv+pool blocks and a linear layer; input (B, 784) in [0, 1]."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        c1, c2 = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5),  # 28 -> 24
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> 12
            nn.Conv2d(c1, c2, 5),  # -> 8
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> 4
        )
        self.head = nn.Linear(c2 * 4 * 4, config.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 784) -> logits (B, n_classes)."""
        h = self.features(x.reshape(-1, 1, 28, 28))  # (B, c2, 4, 4)
        return self.head(h.flatten(1))


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    """Predicted digit of each image (N, 784) -> (N,) int64, on the CPU."""
    device = next(model.parameters()).device
    model.eval()
    chunks = [model(c.to(device)).argmax(dim=1).cpu() for c in images.split(batch_size)]
    return torch.cat(chunks)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return (predict(model, images) == labels.cpu()).float().mean().item()
