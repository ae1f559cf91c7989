"""M2, the semi-supervised VAE of Kingma et al. 2014 ("Semi-supervised learning with deep
generative models", sec. 3.1.2): the few-label peer of the anchored VAE's templates.

M2 is a CVAE (anchorvae/method/model.py: the label joins q(z | x, y) and p(x | z, y)) with a
classifier q(y | x) beside it, of the post's encoder widths (784-400-100-10). Its loss, in
this project's units (summed squared error in place of the Bernoulli log-likelihood):

    L(x, y) = SSE(x, decode(z, y)) + KL(q(z | x, y) || N(0, I))       the CVAE's loss
    labelled (x, y):   L(x, y) + alpha * -log q(y | x)
    unlabelled x:      sum_y q(y | x) L(x, y) - H(q(y | x))

(the paper's log p(y), a constant of a uniform prior, is left out: it moves no gradient).
An unlabelled image is decoded once per class, so a step costs about ten decoder passes.
Every image is decoded with every class here, the labelled ones too: one shape for all
batches, which the stacked ensemble and a CUDA graph need.

The paper's objective sums over the data set: J = sum_labelled L + sum_unlabelled U +
alpha E_labelled[-log q(y | x)], alpha = 0.1 N. A training step (anchorvae/training/train.py)
takes b images of the N with their labels hidden and, after them, m of the L labelled
images with theirs, and estimates J's share of those b images: each unlabelled image's U,
each labelled image's L(x, y) times b L / (N m) (its share of the set: few labels weigh
little) and its cross-entropy times w b / m, w = alpha / N (params.yaml's
``classify_weight``, 0.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import torch
from torch import nn

from anchorvae.digits import N_DIGITS
from anchorvae.errors import UsageError
from anchorvae.method.loss import kl_to_standard_normal
from anchorvae.method.model import VAE, ModelConfig, build_vae


def build_classifier(config: ModelConfig) -> nn.Sequential:
    """q(y | x): the post's encoder widths, then logits of the ten digits."""
    return nn.Sequential(
        nn.Linear(config.pixels, config.hidden),
        nn.ReLU(),
        nn.Linear(config.hidden, config.bottleneck),
        nn.ReLU(),
        nn.Linear(config.bottleneck, N_DIGITS),
    )


class M2(nn.Module):
    """A CVAE of the ten digits (``vae``) and its classifier q(y | x) (``classify``)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.classes != N_DIGITS:
            raise ValueError(f"M2 conditions on the {N_DIGITS} digits: classes = {N_DIGITS}")
        self.config = config
        self.vae: VAE = build_vae(config)
        self.classify = build_classifier(config)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x, y) as the CVAE's (the evaluation reads M2 as it reads a CVAE)."""
        return self.vae.encode(x, y)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z, y)

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """What the objective needs of a batch x (B, pixels) on noise eps (B, D): the SSE
        and the KL under every class (each (classes, B)) and log q(y | x) (B, classes). One
        call, so that a member of a stacked ensemble runs it whole."""
        sse, kl = per_class_losses(self.vae, x, eps)
        return sse, kl, torch.log_softmax(self.classify(x), dim=-1)


def build_generative(config: ModelConfig) -> nn.Module:
    """The model a config describes: M2 if it is semi-supervised, else its VAE or CVAE."""
    return M2(config) if config.semi_supervised else build_vae(config)


class M2Parts(NamedTuple):
    recon: torch.Tensor  # summed SSE at the label (labelled) or under q(y | x), scalar
    kl: torch.Tensor  # the same for the KL, scalar
    total: torch.Tensor  # the objective above, summed over the batch, scalar


def per_class_losses(vae: VAE, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(SSE, KL) of every image (B, pixels) under every class: each (classes, B). The
    encoder's body runs once; its heads and the decoder once per class, on noise eps."""
    classes = vae.config.classes
    features = vae.encoder(x)  # (B, bottleneck)
    y = torch.eye(classes, device=x.device).unsqueeze(1).expand(-1, len(x), -1)  # (C, B, C)
    h = torch.cat([features.expand(classes, -1, -1), y], dim=-1)  # (C, B, bottleneck + C)
    mu, logvar = vae.mu_head(h), vae.logvar_head(h)  # (C, B, D)
    z = mu + torch.exp(0.5 * logvar) * eps  # the same noise for every class
    recon = vae.decoder(torch.cat([z, y], dim=-1).flatten(0, 1)).view(classes, len(x), -1)
    sse = (recon - x).pow(2).sum(-1)
    kl = kl_to_standard_normal(mu, logvar, dim=-1)
    return sse, kl


def m2_loss(
    model, x: torch.Tensor, eps: torch.Tensor, y: torch.Tensor, alpha: float,
    labelled_weight: float | torch.Tensor = 1.0,
) -> M2Parts:  # fmt: skip
    """The M2 objective of a batch: x (B, pixels), noise eps (B, D), y (B, classes) the
    one-hot label of a labelled image and zeros for an unlabelled one."""
    return m2_objective(*model(x, eps), y, alpha, labelled_weight)


def m2_objective(
    sse: torch.Tensor, kl: torch.Tensor, log_q: torch.Tensor, y: torch.Tensor,
    alpha: float | torch.Tensor, labelled_weight: float | torch.Tensor = 1.0,
) -> M2Parts:  # fmt: skip
    """The objective from :meth:`M2.forward`'s parts: sum_unlabelled U + labelled_weight *
    sum_labelled L + alpha * sum_labelled -log q(y | x). No data-dependent shapes (vmap)."""
    labelled = (y.sum(-1) > 0).unsqueeze(-1)  # (B, 1)
    q = log_q.exp()
    # the weight of each class's loss: the label's one-hot, or q(y | x) where there is none
    weight = torch.where(labelled, y * labelled_weight, q).T  # (C, B)
    recon, kl_sum = (weight * sse).sum(), (weight * kl).sum()
    cross_entropy = -(log_q * y).sum()  # y is zero for the unlabelled images
    negative_entropy = ((q * log_q) * ~labelled).sum()  # -H(q(y | x)), unlabelled only
    total = recon + kl_sum + alpha * cross_entropy + negative_entropy
    return M2Parts(recon, kl_sum, total)


def step_weights(
    y: torch.Tensor, classify_weight: float, labelled_share: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha, labelled_weight) of a step whose conditions y (B, classes) are zeros for its
    b unlabelled images and one-hot for its m labelled ones: w b / m and b L / (N m), with
    ``labelled_share`` = L / N (the module's docstring). Computed on the device, so that
    the last, shorter batch needs no other code."""
    m = (y.sum(-1) > 0).sum()
    b = len(y) - m
    per_labelled = b / m.clamp(min=1)
    return classify_weight * per_labelled, labelled_share * per_labelled


def m2_member_loss(classify_weight: float, labelled_share: float) -> Callable:
    """M2's loss in the form a member of the stacked ensemble is trained with
    (anchorvae/training/step.py): (total, [recon, kl]) of ``model`` on x, noise eps and its
    condition y (the one-hot label of a labelled image, zeros otherwise), weighted as
    :func:`step_weights` says; the anchor shift is unused (M2 has no anchors)."""

    def loss(model, x, eps, shift, y) -> tuple[torch.Tensor, torch.Tensor]:
        alpha, labelled_weight = step_weights(y, classify_weight, labelled_share)
        parts = m2_loss(model, x, eps, y, alpha, labelled_weight)
        return parts.total, torch.stack([parts.recon, parts.kl])

    return loss


def draw_labelled(labels: torch.Tensor, per_class: int, seed: int) -> dict[int, torch.Tensor]:
    """Digit -> the sorted indices of ``per_class`` training images of it, drawn without
    replacement by a generator seeded with ``seed`` (the same draw for the same seed).
    ValueError if a digit has fewer images."""
    g = torch.Generator().manual_seed(seed)
    counts = torch.bincount(labels, minlength=N_DIGITS)
    drawn = {}
    for digit in range(N_DIGITS):
        pool = torch.nonzero(labels == digit).flatten()
        if len(pool) < per_class:
            raise ValueError(f"labels_per_class = {per_class} is more than the {len(pool)} "
                             f"training images of digit {digit}: expected at most "
                             f"{counts.min().item()}")  # fmt: skip
        drawn[digit] = pool[torch.randperm(len(pool), generator=g)[:per_class]].sort().values
    return drawn


class SemiSupervised(Protocol):
    """What the training reads of a variant's ``semi_supervised`` section (params.yaml)."""

    labels_per_class: int
    seed: int
    classify_weight: float


@dataclass(frozen=True)
class M2Training:
    train_args: dict  # train_seeds' keywords: M2's loss and its labelled images ({}: not M2)
    record: dict | None  # the labelled draw, to write beside the models (None: not M2)


def semi_supervised_training(
    semi: SemiSupervised | None, labels: torch.Tensor, key: str
) -> M2Training:
    """How an M2 variant trains on images of ``labels`` (N,): its loss, its labelled draw
    and the record of it; nothing for any other variant. A draw larger than a class is a
    UsageError (exit 2) naming ``key``, the variant's section."""
    if semi is None:
        return M2Training({}, None)
    try:
        drawn = draw_labelled(labels, semi.labels_per_class, semi.seed)
    except ValueError as err:
        raise UsageError(f"{key}.{err}") from None
    labelled = torch.cat(list(drawn.values()))
    loss = m2_member_loss(semi.classify_weight, len(labelled) / len(labels))
    record = {"labels_per_class": semi.labels_per_class, "seed": semi.seed,
              "training_images": {str(d): i.tolist() for d, i in drawn.items()}}  # fmt: skip
    return M2Training({"loss": loss, "labelled": labelled}, record)
