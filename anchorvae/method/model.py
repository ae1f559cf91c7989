"""The VAEs: the seed post's MLP and a small convolutional one, with one interface.

mlp:  784-400-100 -> (mu, logvar) -> 100-400-784, ReLU, Sigmoid output (the seed post).
conv: 1x28x28 -conv-> 16x14x14 -conv-> 32x7x7 -> 100 -> (mu, logvar) -> 100 -> 32x7x7
      -deconv-> 16x14x14 -deconv-> 1x28x28, ReLU, Sigmoid output.

Both take and return flattened images (B, 784), so the loss, the trainer's stacked
ensemble and the evaluation never see which one runs. Either is a CVAE (the model the
seed post compares anchoring with) when ``classes`` > 0: the label, one-hot (B, classes),
joins the encoder's features where they meet the mean and log-variance heads, and the
code at the decoder's input. Joining there, not at the pixels, lets both architectures
take it the same way; the encoder still sees x and y together, q(z | x, y). Neither has
BatchNorm or dropout: their state would differ between a member trained under vmap and
one trained alone.
A third architecture is one class here and its name in :data:`ARCHITECTURES`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from anchorvae.digits import N_DIGITS, PIXELS, SIDE


@dataclass(frozen=True)
class ModelConfig:
    latent_dims: int = 2  # size of the latent code z
    architecture: str = "mlp"  # a key of ARCHITECTURES
    pixels: int = PIXELS  # input and output size, a flattened 28x28 image
    hidden: int = 400  # mlp: first and last hidden layer
    bottleneck: int = 100  # hidden layer next to the latent code
    channels: int = 16  # conv: channels of the first conv layer (the second has twice)
    classes: int = 0  # > 0: a CVAE, conditioned on a one-hot label of this many classes
    semi_supervised: bool = False  # a CVAE with a classifier q(y | x): M2 (m2.py)

    def to_dict(self) -> dict:
        config = asdict(self)
        for key in ("classes", "semi_supervised"):  # checkpoints stay as they were before
            if not config[key]:
                del config[key]
        return config


def config_for(
    latent_dims: int, architecture: str, conditional: bool, semi_supervised: bool = False
) -> ModelConfig:
    """The model of a latent size and architecture, a CVAE of the ten digits if
    ``conditional`` (M2 if ``semi_supervised`` too): what params.yaml's ``train`` section
    and a variant ask for."""
    classes = N_DIGITS if conditional else 0
    return ModelConfig(latent_dims=latent_dims, architecture=architecture, classes=classes,
                       semi_supervised=semi_supervised)  # fmt: skip


def one_hot(labels: torch.Tensor, classes: int) -> torch.Tensor | None:
    """The condition a model of ``classes`` (its config's) takes for digit ``labels``
    (...,): one-hot floats for a CVAE, None for a plain VAE (which takes none)."""
    if not classes:
        return None
    return nn.functional.one_hot(labels.long(), classes).float()


def _joined(features: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    return features if y is None else torch.cat([features, y], dim=-1)


class VAE(nn.Module):
    """A VAE's shared part: subclasses build the encoder (x -> features of size
    ``bottleneck``) and the decoder (z, and y for a CVAE -> reconstruction (B, pixels) in
    (0, 1)). ``y`` is the one-hot condition of a CVAE (:func:`one_hot`), None otherwise."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        # Built in this order, which fixes how a seed's random stream initialises them.
        self.encoder = self.make_encoder(config)
        self.mu_head = nn.Linear(config.bottleneck + config.classes, config.latent_dims)
        self.logvar_head = nn.Linear(config.bottleneck + config.classes, config.latent_dims)
        self.decoder = self.make_decoder(config)

    def make_encoder(self, config: ModelConfig) -> nn.Module:
        raise NotImplementedError

    def make_decoder(self, config: ModelConfig) -> nn.Module:
        raise NotImplementedError

    def encode(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, pixels) -> mu, logvar, each (B, latent_dims)."""
        h = _joined(self.encoder(x), y)  # (B, bottleneck + classes)
        return self.mu_head(h), self.logvar_head(h)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dims) -> reconstruction (B, pixels) in (0, 1)."""
        return self.decoder(_joined(z, y))

    def forward(
        self, x: torch.Tensor, eps: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, mu, logvar) of x (B, pixels) with standard-normal noise eps
        (B, latent_dims). The caller draws the noise, so each seed draws its own."""
        mu, logvar = self.encode(x, y)
        # Kingma & Welling 2013, sec. 2.4: z = mu + sigma * eps keeps z differentiable.
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, latent_dims)
        return self.decode(z, y), mu, logvar


class MLPVAE(VAE):
    """The seed post's network. Its parameter names are those of the first checkpoints."""

    def make_encoder(self, c: ModelConfig) -> nn.Module:
        return nn.Sequential(
            nn.Linear(c.pixels, c.hidden),
            nn.ReLU(),
            nn.Linear(c.hidden, c.bottleneck),
            nn.ReLU(),
        )

    def make_decoder(self, c: ModelConfig) -> nn.Module:
        return nn.Sequential(
            nn.Linear(c.latent_dims + c.classes, c.bottleneck),
            nn.ReLU(),
            nn.Linear(c.bottleneck, c.hidden),
            nn.ReLU(),
            nn.Linear(c.hidden, c.pixels),
            nn.Sigmoid(),
        )


class ConvVAE(VAE):
    """Two stride-2 4x4 convolutions down to 7x7, mirrored by transposed convolutions."""

    QUARTER = SIDE // 4  # 28 -> 14 -> 7

    def make_encoder(self, config: ModelConfig) -> nn.Module:
        c, wide = config.channels, 2 * config.channels
        return nn.Sequential(
            nn.Unflatten(1, (1, SIDE, SIDE)),
            nn.Conv2d(1, c, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c, wide, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(wide * self.QUARTER**2, config.bottleneck),
            nn.ReLU(),
        )

    def make_decoder(self, config: ModelConfig) -> nn.Module:
        c, wide = config.channels, 2 * config.channels
        return nn.Sequential(
            nn.Linear(config.latent_dims + config.classes, config.bottleneck),
            nn.ReLU(),
            nn.Linear(config.bottleneck, wide * self.QUARTER**2),
            nn.ReLU(),
            nn.Unflatten(1, (wide, self.QUARTER, self.QUARTER)),
            nn.ConvTranspose2d(wide, c, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),
            nn.Flatten(),
            nn.Sigmoid(),
        )


ARCHITECTURES: dict[str, type[VAE]] = {"mlp": MLPVAE, "conv": ConvVAE}


def build_vae(config: ModelConfig) -> VAE:
    """An untrained VAE of ``config.architecture``."""
    if config.architecture not in ARCHITECTURES:
        allowed = ", ".join(ARCHITECTURES)
        raise ValueError(
            f"architecture = {config.architecture!r} is unknown: allowed are {allowed}"
        )
    return ARCHITECTURES[config.architecture](config)
