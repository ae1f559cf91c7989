"""Everything random about training follows from a seed: one ``set_seed`` for a process,
and one stream per ensemble member."""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import torch
from torch import nn


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device) in one place."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seeded_member(
    make_model: Callable[[], nn.Module], seed: int
) -> tuple[nn.Module, torch.Generator]:
    """(model initialised under ``seed``, a generator that continues the same stream).

    The generator then draws the member's shuffling and noise, so everything random about
    a member follows from its seed alone; the process's global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make_model()
        stream = torch.Generator().set_state(torch.get_rng_state())
    return model, stream
