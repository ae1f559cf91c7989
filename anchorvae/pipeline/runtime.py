"""Process set-up shared by the stages that run models: device and CPU threads."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import torch

from anchorvae.errors import UsageError
from anchorvae.pipeline.settings import download_settings, queue_settings, run_settings

log = logging.getLogger(__name__)


def choose_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for ``cuda`` without one is an error.

    On CUDA, TF32 products stay off: float32 everywhere, so GPU and CPU runs agree in
    distribution (they still round differently, so not bit for bit).
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "ANCHORVAE_DEVICE = 'cuda' but no CUDA device is available: use auto or cpu"
        )
    if name == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
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


def device_from_env(env: Mapping[str, str] = os.environ) -> torch.device:
    """What every stage that runs models does first: its CPU threads set and its device
    chosen from ANCHORVAE_THREADS and ANCHORVAE_DEVICE (settings, not params: they do not
    change what the numbers say)."""
    run = run_settings(env)
    configure_cpu(run.threads)
    return choose_device(run.device)


def check_settings(env: Mapping[str, str] = os.environ) -> None:
    """Every ANCHORVAE_* setting a stage of the pipeline reads, checked as that stage would
    (cuda with no GPU included): `make grid` calls it before it removes or queues any
    experiment, so a bad one is one line naming it now, not a failed cell an hour on."""
    download_settings(env)
    queue_settings(env)
    choose_device(run_settings(env).device)
