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
    labelled: torch.Tensor | None = None,
) -> TrainedSeeds:
    """Train one model per seed on ``images`` (N, pixels) in [0, 1].

    ``scores`` (N, S) are the images' anchor scores, ``directions`` (S, D) their latent
    directions (anchorvae/method/anchors.py) and ``rate`` the anchor rate; D is the latent
    size.
    ``make_model()`` builds one untrained model whose ``forward(x, eps)`` returns
    (reconstruction, mu, logvar); a CVAE's ``forward(x, eps, y)`` gets its images'
    ``conditions`` (N, classes) too; ``loss`` is a member's loss (step.member_loss's form).
    M2 (method/m2.py's m2_member_loss) gives the indices of its ``labelled`` images: every
    image is then shown with its label hidden (zeros), and each step carries, after its
    shuffled images, min(L, batch) labelled ones with their labels, each member cycling
    through its own shuffles of them.
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
    carried = 0  # labelled images each step carries (M2)
    if labelled is not None:
        x_all, scores, conditions = _with_labelled(x_all, scores, conditions, labelled.to(device))
        carried = min(len(labelled), batch)
    sizes = sorted({min(batch, n), n % batch or batch})  # full batches, and the last one
    steps = {b + carried: Step(ensemble, optimizer, x_all, scores, directions, rate,
                               b + carried, conditions, loss)
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
            draws = _epoch_draws(streams, n, latent_dims, batch, device)
            if carried:
                draws = _with_carried(draws, streams, n, len(labelled), carried)
            sums = _run_epoch(steps, *draws, bar)  # (batches, K, 2)
            history += _epoch_records(sums.cpu(), seeds, epoch, n, name)  # the one host read
            bar.set_postfix(loss=f"{history[-1].loss:.2f}", refresh=False)
    seconds = time.perf_counter() - start
    log.info(
        "%s: %d seeds x %d epochs in %.1f s (%.3f s per model-epoch, %s)",
        name, len(seeds), train.epochs, seconds, seconds / len(seeds) / train.epochs, device,
    )  # fmt: skip
    return TrainedSeeds(dict(zip(seeds, ensemble.state_dicts(), strict=True)), history)


def _with_labelled(x_all, scores, conditions, labelled) -> tuple[torch.Tensor, ...]:
    """M2's images: every image with its label hidden (zeros), then the labelled ones
    (rows N.. of the result) with their labels."""
    hidden = torch.zeros_like(conditions)
    return (torch.cat([x_all, x_all[labelled]]), torch.cat([scores, scores[labelled]]),
            torch.cat([hidden, conditions[labelled]]))  # fmt: skip


def _epoch_draws(streams, n: int, dims: int, batch: int, device) -> tuple[list, list]:
    """Each batch's image indices (K, b) and noise (K, b, D) of one epoch: every member's
    permutation of the N images and its noise, from its own stream."""
    order = torch.stack([torch.randperm(n, generator=g) for g in streams])
    noise = torch.stack([torch.randn(n, dims, generator=g) for g in streams])
    batches = math.ceil(n / batch)
    return _batched(order.to(device), batch, batches), _batched(noise.to(device), batch, batches)


def _with_carried(draws, streams, n: int, labelled: int, carried: int) -> tuple[list, list]:
    """The epoch's draws with ``carried`` of the labelled images (rows n.. of M2's images)
    after each batch's: each member's own shuffles of them in turn, and their noise, drawn
    from its stream after the epoch's other draws."""
    indices, noises = draws
    batches, dims, device = len(indices), noises[0].shape[-1], indices[0].device
    need = batches * carried
    rounds = math.ceil(need / labelled)
    extra = torch.stack([torch.cat([torch.randperm(labelled, generator=g) for _ in range(rounds)])
                         [:need] for g in streams]) + n  # fmt: skip
    extra_noise = torch.stack([torch.randn(need, dims, generator=g) for g in streams])
    extra = _batched(extra.to(device), carried, batches)
    extra_noise = _batched(extra_noise.to(device), carried, batches)
    return ([torch.cat(p, dim=1) for p in zip(indices, extra, strict=True)],
            [torch.cat(p, dim=1) for p in zip(noises, extra_noise, strict=True)])  # fmt: skip


def _batched(drawn: torch.Tensor, size: int, batches: int) -> list[torch.Tensor]:
    """(K, M, ...) -> ``batches`` consecutive slices of ``size`` along M (the last shorter)."""
    return [drawn[:, b * size : (b + 1) * size] for b in range(batches)]


def _run_epoch(steps, indices: list, noises: list, bar) -> torch.Tensor:
    """One pass over the data, a step per batch of ``indices`` (K, b) and ``noises``
    (K, b, D); returns the per-batch (K, 2) sums, still on the device."""
    sums = torch.empty(len(indices), indices[0].shape[0], 2, device=indices[0].device)
    for b, (index, noise) in enumerate(zip(indices, noises, strict=True)):
        step = steps[index.shape[1]]
        step.load(index, noise)
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
