"""K copies of one model, one per seed, trained as one: weights stacked on a new first axis.

Each member is built by the same factory under its own seed (seeds.py), then the members' weights
are stacked (``torch.func.stack_module_state``) and every call runs all members at once
through ``torch.func.vmap`` over ``functional_call``: one batched matrix product per
layer instead of K small ones. Members share no weights and no data, so a member's
result does not depend on which others train beside it. The model class is untouched:
any ``nn.Module`` whose ``forward`` vmap can batch works (an MLP or a conv VAE alike).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


class Ensemble:
    def __init__(self, members: list[nn.Module], device: torch.device):
        self.size, self.device = len(members), device
        params, buffers = stack_module_state(members)  # name -> (K, *shape)
        # Stacked matrices are stored transposed, (K, in, out): under vmap autograd
        # computes a linear layer's weight gradient in that layout, and storing the weight
        # the same way spares a strided transpose copy of every weight gradient (measured
        # on the 2-core CPU: 2-6 % of a step at K = 5, 8 % at K = 1). Calls see
        # (K, out, in) views.
        self._transposed = {k for k, v in params.items() if v.dim() == 3}
        self.params = {
            k: _stored(v, k in self._transposed).to(device).requires_grad_()
            for k, v in params.items()
        }
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        self.base = copy.deepcopy(members[0]).to("meta")  # the structure, without weights
        self._keys = list(members[0].state_dict())  # state_dict order of one member
        self._methods: dict[str, nn.Module] = {}

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def map(self, fn: Callable, *batched: torch.Tensor):
        """``fn(model, *args)`` for every member at once; each of ``batched`` is (K, ...).

        ``model(*inputs)`` inside ``fn`` calls that member's forward, and
        ``model.encode(*inputs)`` any other method of the model (``encode`` here).
        """

        def one(params, buffers, *args):
            return fn(_Member(self, {**params, **buffers}), *args)

        return vmap(one)(self._views(), self.buffers, *batched)

    def method(self, name: str) -> nn.Module:
        """A module whose forward is the model's method ``name`` (what functional_call runs)."""
        if name not in self._methods:
            self._methods[name] = _Method(self.base, name)
        return self._methods[name]

    def gradients(self) -> dict[str, torch.Tensor | None]:
        """Each parameter's gradient as the model declares it, (K, *shape)."""
        return {
            k: None if v.grad is None else self._declared(k, v.grad)
            for k, v in self.params.items()
        }

    def _views(self) -> dict[str, torch.Tensor]:
        """The parameters as the model declares them, (K, *shape)."""
        return {k: self._declared(k, v) for k, v in self.params.items()}

    def _declared(self, name: str, stored: torch.Tensor) -> torch.Tensor:
        """A stored (K, ...) tensor of parameter ``name`` in the model's own layout."""
        return stored.mT if name in self._transposed else stored

    def state_dicts(self) -> list[dict[str, torch.Tensor]]:
        """One CPU state dict per member, each tensor its own compact copy."""
        stacked = {**self._views(), **self.buffers}
        return [
            {key: stacked[key][i].detach().cpu().contiguous().clone() for key in self._keys}
            for i in range(self.size)
        ]


class _Method(nn.Module):
    """Runs one method of ``module``: functional_call calls forward only."""

    def __init__(self, module: nn.Module, name: str):
        super().__init__()
        self.module, self.name = module, name

    def forward(self, *inputs):
        return getattr(self.module, self.name)(*inputs)


class _Member:
    """One member inside vmap: called, its forward; ``.name(...)``, its method ``name``."""

    def __init__(self, ensemble: Ensemble, state: dict[str, torch.Tensor]):
        self._ensemble, self._state = ensemble, state

    def __call__(self, *inputs):
        return functional_call(self._ensemble.base, self._state, inputs)

    def __getattr__(self, name: str) -> Callable:
        method = self._ensemble.method(name)
        state = {f"module.{key}": value for key, value in self._state.items()}
        return lambda *inputs: functional_call(method, state, inputs)


def _stored(stacked: torch.Tensor, transposed: bool) -> torch.Tensor:
    return stacked.detach().mT.contiguous() if transposed else stacked.detach()
