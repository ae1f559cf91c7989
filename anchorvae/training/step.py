"""One optimisation step of a seed ensemble, eager on the CPU and a replayed CUDA graph on GPUs.

A step reads its batch from fixed input slots (image indices and noise; the images, their
anchor scores and a CVAE's one-hot labels are gathered by those indices) and
writes each member's (recon, kl) sums to a fixed output slot. Fixed slots are what lets
CUDA replay the whole step (gather, forward, loss, backward, Adam) as one graph: the
host only copies the next batch into the slots and launches the graph, with no reads back.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from anchorvae.method.loss import anchor_shift, vae_loss
from anchorvae.training.ensemble import Ensemble

WARMUP_STEPS = 3  # eager steps before capture, on a side stream (PyTorch's recipe)


def member_loss(model, x, eps, shift, *y) -> tuple[torch.Tensor, torch.Tensor]:
    """One member's (total, [recon, kl]) on x (B, pixels), noise and shift (B, D), and a
    CVAE's condition y (B, classes)."""
    recon, mu, logvar = model(x, eps, *y)
    parts = vae_loss(recon, x, mu, logvar, shift)
    return parts.total, torch.stack([parts.recon, parts.kl])


class Step:
    """The training step at one batch size; fill the slots with :meth:`load`, then call it."""

    def __init__(
        self,
        ensemble: Ensemble,
        optimizer: torch.optim.Optimizer,
        images: torch.Tensor,  # (N, pixels) on the device
        scores: torch.Tensor,  # (N, S) each image's anchor scores, on the device
        directions: torch.Tensor,  # (S, D) latent direction of each anchor score
        rate: float,
        batch_size: int,
        conditions: torch.Tensor | None = None,  # (N, classes) of a CVAE, on the device
        loss: Callable = member_loss,  # a member's (total, [recon, kl]): member_loss's form
    ):
        k, (s, d), device = ensemble.size, directions.shape, images.device
        self.ensemble, self.optimizer, self.loss = ensemble, optimizer, loss
        self.images, self.directions, self.rate = images, directions, rate
        self.index = torch.zeros(k, batch_size, dtype=torch.long, device=device)
        self.noise = torch.zeros(k, batch_size, d, device=device)
        self.scores = torch.zeros(k, batch_size, s, device=device)
        self.x = torch.empty(k, batch_size, images.shape[1], device=device)
        # a CVAE's condition slot, passed to the members after the others; none for a VAE
        self.y = (
            []
            if conditions is None
            else [conditions.new_empty(k, batch_size, conditions.shape[1])]
        )
        # gathered by index, inside the step (and its CUDA graph): no host work per batch
        self.gathered = [(images, self.x), (scores, self.scores)] + [
            (conditions, y) for y in self.y
        ]
        self.sums = torch.zeros(k, 2, device=device)  # per member: recon, kl of the batch
        self._run = self._eager

    def load(self, index: torch.Tensor, noise: torch.Tensor) -> None:
        self.index.copy_(index)
        self.noise.copy_(noise)

    def __call__(self) -> torch.Tensor:
        """Run the step on the loaded slots; returns the (K, 2) sums slot."""
        self._run()
        return self.sums

    def _eager(self) -> None:
        # Gather into reused buffers: no new (K, B, pixels) tensor per step.
        for source, slot in self.gathered:
            torch.index_select(source, 0, self.index.view(-1), out=slot.flatten(0, 1))
        shift = anchor_shift(self.scores, self.directions, self.rate)  # (K, B, D)
        totals, parts = self.ensemble.map(self.loss, self.x, self.noise, shift, *self.y)
        self.optimizer.zero_grad(set_to_none=True)
        totals.sum().backward()  # members share nothing: d(sum)/d(member) = d(member's loss)
        self.optimizer.step()
        self.sums.copy_(parts.detach())

    def capture(self) -> None:
        """Record the eager step as a CUDA graph; later calls replay it.

        The warm-up steps train for real, so weights and Adam's state are put back
        afterwards: capturing leaves the model exactly as it was.
        """
        saved = [p.detach().clone() for p in self.ensemble.parameters()]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self._eager()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            self._eager()
        with torch.no_grad():
            for param, value in zip(self.ensemble.parameters(), saved, strict=True):
                param.copy_(value)
            for state in self.optimizer.state.values():  # Adam's fresh state is all zeros
                for value in state.values():
                    value.zero_()
        self._run = graph.replay
