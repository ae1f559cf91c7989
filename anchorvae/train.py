"""Training a VAE on an in-memory tensor of images: fast, seeded, NaN-guarded.

The whole training set lives on the device as one float tensor, so batches are
index gathers from a seeded permutation rather than a per-sample DataLoader. The
weights train as one flat vector with hand-derived gradients (backprop.py) and one
fused Adam kernel. Losses stay on the device; the host reads them only every
REPORT_EVERY batches.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from anchorvae.backprop import FlatVAE
from anchorvae.errors import StageFailure, UsageError
from anchorvae.flat_adam import FlatAdam
from anchorvae.loss import donutness
from anchorvae.model import VAE, ModelConfig

log = logging.getLogger(__name__)

REPORT_EVERY = 50  # batches between host reads of the loss (progress bar, NaN check)


class TrainingDiverged(StageFailure):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10  # passes over the training set
    batch_size: int = 128  # images per Adam step
    lr: float = 1e-3  # Adam learning rate
    anchor_rate: float = 0.0  # weight of donutness in the KL's mean; 0 = plain VAE
    seed: int = 0  # seeds the weights, the shuffling and the reparameterisation noise


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based
    loss: float  # per image: recon + kl
    recon: float  # per image: summed squared error
    kl: float  # per image
    seconds: float  # wall time of the epoch


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device) in one place."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def choose_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for ``cuda`` without one is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("train.device = 'cuda' but no CUDA device is available: use auto or cpu")
    return torch.device(name)


def configure_cpu(threads: int) -> None:
    """Use ``threads`` CPU threads for torch (0 keeps one per core); flush denormals to 0.

    Call it before any other torch work: OpenMP's worker threads copy the floating-point
    mode of the thread that starts them. Once the decoder's sigmoid saturates, the
    gradients of black pixels fall below 1e-38, and x86 cores take a slow microcode path
    for such denormal numbers: without flushing, an epoch took 1.27 s at first and
    2.14 s by the fourth here; with it, the same run's per-epoch losses came out equal
    to the two decimals printed.
    """
    torch.set_flush_denormal(True)
    if threads > 0:
        torch.set_num_threads(threads)
    log.debug("torch threads: %d of %d cores", torch.get_num_threads(), os.cpu_count())


def make_optimizer(params: Iterable[torch.Tensor], lr: float) -> torch.optim.Adam:
    # One fused kernel per step (CPU and CUDA): the foreach path spends as long in
    # Adam's elementwise ops as in the model's matrix products on a 2-core CPU.
    # (The VAE trainer uses FlatAdam: the same kernel over one flat vector.)
    return torch.optim.Adam(params, lr=lr, fused=True)


def train_vae(
    images: torch.Tensor,
    direction: torch.Tensor,
    model_config: ModelConfig,
    config: TrainConfig,
    device: torch.device,
    name: str = "model",
    on_epoch: Callable[[EpochRecord, VAE], None] | None = None,
) -> tuple[VAE, list[EpochRecord]]:
    """Train a VAE on ``images`` (N, pixels) in [0, 1]; returns (model, per-epoch records).

    ``direction`` is (donut - stick) flattened (see loss.anchor_direction); it is unused
    when ``config.anchor_rate`` is 0. Raises TrainingDiverged naming ``name``, the epoch
    and the batch if the loss stops being finite. ``on_epoch(record, model)`` is called
    after every epoch.
    """
    set_seed(config.seed)
    model = VAE(model_config).to(device)
    flat = FlatVAE(model)
    optimizer = FlatAdam(flat.vector, config.lr)
    x_all = images.to(device, torch.float32)  # (N, pixels)
    score_all = donutness(x_all, direction.to(device))  # (N,), fixed per image
    shuffler = torch.Generator().manual_seed(config.seed)
    n_batches = math.ceil(len(x_all) / config.batch_size)
    history = []
    with tqdm(total=config.epochs * n_batches, desc=name, unit="batch", leave=False) as bar:
        for epoch in range(1, config.epochs + 1):
            start = time.perf_counter()
            order = torch.randperm(len(x_all), generator=shuffler).to(device)
            bar.set_description(f"{name} epoch {epoch}/{config.epochs}", refresh=False)
            sums = _run_epoch(flat, optimizer, x_all, score_all, order, config, bar)
            _check_finite(sums, name, epoch, n_batches)
            recon, kl = (sums.sum(dim=0) / len(x_all)).tolist()
            record = EpochRecord(epoch, recon + kl, recon, kl, time.perf_counter() - start)
            history.append(record)
            flat.copy_to(model)
            if on_epoch is not None:
                on_epoch(record, model)
    return model.eval(), history


def _run_epoch(flat, optimizer, x_all, score_all, order, config, bar) -> torch.Tensor:
    """One pass; returns (n_batches, 2) per-batch (recon, kl) sums, still on the device."""
    n_batches = math.ceil(len(order) / config.batch_size)
    sums = torch.zeros(n_batches, 2, device=x_all.device)
    reported = 0  # batches already counted on the progress bar
    # One draw and one gather per epoch rather than per batch: fewer small ops per step.
    noise = torch.randn(len(order), flat.config.latent_dims, device=x_all.device)
    scores = score_all[order]
    for b in range(n_batches):
        batch = slice(b * config.batch_size, (b + 1) * config.batch_size)
        x = flat.load_batch(x_all, order[batch])
        losses = flat.loss_and_grad(x, scores[batch], config.anchor_rate, noise[batch])
        optimizer.step()
        torch.stack(losses, out=sums[b])
        if (b + 1) % REPORT_EVERY == 0 or b + 1 == n_batches:
            done = sums[: b + 1]
            if not torch.isfinite(done).all():
                return done  # stop early: the caller names the first bad batch
            seen = min((b + 1) * config.batch_size, len(order))
            bar.set_postfix(loss=f"{done.sum().item() / seen:.2f}", refresh=False)
            bar.update(b + 1 - reported)
            reported = b + 1
    return sums


def _check_finite(sums: torch.Tensor, name: str, epoch: int, n_batches: int) -> None:
    finite = torch.isfinite(sums).all(dim=1)
    if not finite.all():
        batch = int((~finite).nonzero()[0]) + 1
        raise TrainingDiverged(
            f"{name}: loss is not finite at epoch {epoch}, batch {batch} of {n_batches}; "
            "no checkpoint written (try a lower train.lr)"
        )
