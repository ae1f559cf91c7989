"""The optimizer every training here uses (the VAE ensemble's and the classifier's)."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def make_optimizer(
    params: Iterable[torch.Tensor], lr: float, device: torch.device
) -> torch.optim.Adam:
    """Adam as one fused kernel per step, on the CPU and on CUDA.

    The foreach path spends as long in Adam's elementwise ops as in the model's matrix
    products on a 2-core CPU. ``capturable`` keeps the step count on the GPU, so that a
    CUDA graph can replay the update without reading it on the host.
    """
    return torch.optim.Adam(params, lr=lr, fused=True, capturable=device.type == "cuda")
