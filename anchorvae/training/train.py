"""Training every seed of one variant at once, as a stacked ensemble, with the one loss
(anchorvae/method/loss.py).

The training images live on the device as one float tensor; each member shuffles them
and draws its reparameterisation noise from its own seeded stream, once per epoch. The
per-batch losses stay on the device and the host reads them once per epoch, so the step
loop never waits on the device. On CUDA each step is a replayed graph (step.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import torch
from torch import nn
from tqdm import tqdm

from anchorvae.errors import StageFailure
from anchorvae.training.ensemble import Ensemble
from anchorvae.training.optimizer import make_optimizer
from anchorvae.training.seeds import seeded_member
from anchorvae.training.step import Step, member_loss

log = logging.getLogger(__name__)


class TrainingDiverged(StageFailure):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based
    seed: int
    loss: float  # per image: recon + kl
    recon: float  # per image: summed squared error
    kl: float  # per image, at the anchored mean


@dataclass
class TrainedSeeds:
    state_dicts: dict[int, dict[str, torch.Tensor]]  # seed -> CPU state dict
    history: list[EpochRecord]  # every epoch of every seed

    def history_records(self) -> list[dict]:
        """The history as plain records (what anchorvae/artifacts/models.py writes)."""
        return [asdict(r) for r in self.history]


class Schedule(Protocol):
    """How long and in what steps to train (params.yaml's ``train`` section has it)."""

    epochs: int  # passes over the training set
    batch_size: int  # images per Adam step
    lr: float  # Adam's learning rate


def train_seeds(
    images: torch.Tensor,
    scores: torch.Tensor,
    seeds: list[int],
    make_model: Callable[[], nn.Module],
    train: Schedule,
    directions: torch.Tensor,
    rate: float,
    device: torch.device,
    name: str = "model",
    conditions: torch.Tensor | None = None,
    loss: Callable = member_loss,
) -> TrainedSeeds:
    """Train one model per seed on ``images`` (N, pixels) in [0, 1].

    ``scores`` (N, S) are the images' anchor scores, ``directions`` (S, D) their latent
    directions (anchorvae/method/anchors.py) and ``rate`` the anchor rate; D is the latent
    size.
    ``make_model()`` builds one untrained model whose ``forward(x, eps)`` returns
    (reconstruction, mu, logvar); a CVAE's ``forward(x, eps, y)`` gets its images'
    ``conditions`` (N, classes) too; ``loss`` is a member's loss (step.member_loss's form:
    method/m2.py's m2_member_loss for M2, whose conditions are zeros where an image has no label).
    Raises TrainingDiverged naming the seed, the epoch and
    the batch if a loss stops being finite; nothing is returned then.
    """
    members = [seeded_member(make_model, seed) for seed in seeds]
    ensemble = Ensemble([model for model, _ in members], device)
    streams = [stream for _, stream in members]
    optimizer = make_optimizer(ensemble.parameters(), train.lr, device)
    x_all = images.to(device, torch.float32)  # (N, pixels)
    scores = scores.to(device, torch.float32)  # (N, S)
    directions = directions.to(device, torch.float32)
    latent_dims = directions.shape[1]
    if conditions is not None:
        conditions = conditions.to(device, torch.float32)
    n, batch = len(x_all), train.batch_size
    sizes = sorted({min(batch, n), n % batch or batch})  # full batches, and the last one
    steps = {b: Step(ensemble, optimizer, x_all, directions, rate, b, conditions, loss)
             for b in sizes}  # fmt: skip
    if device.type == "cuda":
        for step in steps.values():
            step.capture()
    log.info("%s: training %d seeds x %d epochs on %s", name, len(seeds), train.epochs, device)
    history = []
    start = time.perf_counter()
    n_batches = math.ceil(n / batch)
    with tqdm(total=train.epochs * n_batches, desc=name, unit="batch", disable=None) as bar:
        for epoch in range(1, train.epochs + 1):
            order, noise = _epoch_draws(streams, n, latent_dims, device)
            sums = _run_epoch(steps, order, noise, scores[order], batch, bar)  # (batches, K, 2)
            history += _epoch_records(sums.cpu(), seeds, epoch, n, name)  # the one host read
            bar.set_postfix(loss=f"{history[-1].loss:.2f}", refresh=False)
    seconds = time.perf_counter() - start
    log.info(
        "%s: %d seeds x %d epochs in %.1f s (%.3f s per model-epoch, %s)",
        name, len(seeds), train.epochs, seconds, seconds / len(seeds) / train.epochs, device,
    )  # fmt: skip
    return TrainedSeeds(dict(zip(seeds, ensemble.state_dicts(), strict=True)), history)


def _epoch_draws(streams, n: int, dims: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's permutation (K, N) and noise (K, N, D), from its own stream."""
    order = torch.stack([torch.randperm(n, generator=g) for g in streams])
    noise = torch.stack([torch.randn(n, dims, generator=g) for g in streams])
    return order.to(device), noise.to(device)


def _run_epoch(steps, order, noise, scores, batch: int, bar) -> torch.Tensor:
    """One pass over the data; returns the per-batch (K, 2) sums, still on the device."""
    n_batches = math.ceil(order.shape[1] / batch)
    sums = torch.empty(n_batches, order.shape[0], 2, device=order.device)
    for b in range(n_batches):
        part = slice(b * batch, (b + 1) * batch)
        step = steps[order[:, part].shape[1]]
        step.load(order[:, part], noise[:, part], scores[:, part])
        sums[b].copy_(step())
        bar.update()
    return sums


def _epoch_records(sums, seeds, epoch: int, n: int, name: str) -> list[EpochRecord]:
    """Per-seed records of one epoch from its (batches, K, 2) sums; checks they are finite."""
    finite = torch.isfinite(sums).all(dim=2)  # (batches, K)
    if not finite.all():
        batch, member = (~finite).nonzero()[0].tolist()
        raise TrainingDiverged(
            f"{name}/seed{seeds[member]}: loss is not finite at epoch {epoch}, batch "
            f"{batch + 1} of {len(sums)}; no checkpoint written (try a lower train.lr)"
        )
    per_image = sums.sum(dim=0).double() / n  # (K, 2)
    return [
        EpochRecord(epoch, seed, recon + kl, recon, kl)
        for seed, (recon, kl) in zip(seeds, per_image.tolist(), strict=True)
    ]
