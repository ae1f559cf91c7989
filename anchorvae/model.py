"""The MLP VAE of the seed post: 784-400-100 -> (mu, logvar) -> 100-400-784."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from anchorvae.checkpoint_file import build_model, read_checkpoint
from anchorvae.data import PIXELS

if TYPE_CHECKING:
    from anchorvae.config import TrainParams


@dataclass(frozen=True)
class ModelConfig:
    latent_dims: int = 2  # size of the latent code z
    pixels: int = PIXELS  # input and output size, a flattened 28x28 image
    hidden: int = 400  # first and last hidden layer
    bottleneck: int = 100  # hidden layer next to the latent code

    def to_dict(self) -> dict:
        return asdict(self)


def config_for(train: TrainParams) -> ModelConfig:
    """The model that params.yaml's ``train`` section asks for."""
    return ModelConfig(latent_dims=train.latent_dims)


class VAE(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.encoder = nn.Sequential(
            nn.Linear(c.pixels, c.hidden),
            nn.ReLU(),
            nn.Linear(c.hidden, c.bottleneck),
            nn.ReLU(),
        )
        self.mu_head = nn.Linear(c.bottleneck, c.latent_dims)
        self.logvar_head = nn.Linear(c.bottleneck, c.latent_dims)
        self.decoder = nn.Sequential(
            nn.Linear(c.latent_dims, c.bottleneck),
            nn.ReLU(),
            nn.Linear(c.bottleneck, c.hidden),
            nn.ReLU(),
            nn.Linear(c.hidden, c.pixels),
            nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, pixels) -> mu, logvar, each (B, latent_dims)."""
        h = self.encoder(x)  # (B, bottleneck)
        return self.mu_head(h), self.logvar_head(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dims) -> reconstruction (B, pixels) in (0, 1)."""
        return self.decoder(z)

    def forward(
        self, x: torch.Tensor, eps: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, mu, logvar) of x (B, pixels) with standard-normal noise eps
        (B, latent_dims). The caller draws the noise, so each seed draws its own."""
        mu, logvar = self.encode(x)
        # Kingma & Welling 2013, sec. 2.4: z = mu + sigma * eps keeps z differentiable.
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, latent_dims)
        return self.decode(z), mu, logvar


def load_checkpoint(path, map_location: str | torch.device = "cpu") -> tuple[VAE, dict]:
    """Rebuild a VAE from a checkpoint file alone; returns (model in eval mode, checkpoint).

    A file that is not a VAE checkpoint stops with one line naming it (checkpoint_file.py).
    """
    checkpoint = read_checkpoint(path, map_location)
    model = build_model(Path(path), checkpoint, lambda c: VAE(ModelConfig(**c)), "VAE")
    return model, checkpoint
