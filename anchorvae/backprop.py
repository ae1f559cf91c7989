"""One training step of the VAE with hand-derived gradients, on one flat parameter vector.

The loss is loss.vae_loss (summed squared error + KL to N(0, I) of the anchored mean);
this module computes it and its gradient for every weight without autograd.

Why by hand: at batch 128 on a 2-core CPU the autograd step spent as long outside the
matrix products as in them (graph bookkeeping, a fresh gradient tensor per weight and
per step, one optimizer state per tensor), and issue 3 asks for 2x the matmul floor.
Here every weight is a view into one flat vector, the backward pass writes straight
into views of one flat gradient, and one fused Adam kernel updates the whole vector.
The elementwise derivatives are ATen's own (sigmoid_backward, threshold_backward), the
ones autograd calls. tests/test_backprop.py checks the gradient against autograd's.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from anchorvae.model import VAE, ModelConfig


class Dense(NamedTuple):
    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor  # (out,)


class StepLosses(NamedTuple):
    recon: torch.Tensor  # summed squared error over the batch, scalar
    kl: torch.Tensor  # summed anchored KL over the batch, scalar


def _layer_params(model: VAE) -> list[tuple[list[torch.Tensor], list[torch.Tensor]]]:
    """(weights, biases) of each layer in forward order. The mean and logvar heads are
    one layer, so that one (2 * latent_dims, bottleneck) product serves both."""
    enc1, enc2 = model.encoder[0], model.encoder[2]
    dec1, dec2, dec3 = model.decoder[0], model.decoder[2], model.decoder[4]
    heads = [model.mu_head, model.logvar_head]
    return [
        ([layer.weight for layer in group], [layer.bias for layer in group])
        for group in ([enc1], [enc2], heads, [dec1], [dec2], [dec3])
    ]


def training_order(model: VAE) -> list[torch.Tensor]:
    """The model's parameters as laid out in the flat vector: layer by layer, each
    layer's weights, then its biases."""
    return [p for weights, biases in _layer_params(model) for p in (*weights, *biases)]


class FlatVAE:
    """A VAE's weights as one flat vector (``vector``) with a flat gradient (``vector.grad``).

    ``layers`` are views into the vector: encoder 1-2, merged heads, decoder 1-3.
    The module itself is left alone until :meth:`copy_to` writes the vector back.
    """

    def __init__(self, model: VAE):
        self.config = model.config
        self.vector = torch.cat([p.detach().reshape(-1) for p in training_order(model)])
        self.vector.grad = torch.zeros_like(self.vector)
        layers = _layer_params(model)
        self.layers = _dense_views(self.vector, layers)
        self.grads = _dense_views(self.vector.grad, layers)
        self._buffers: dict[int, Buffers] = {}
        # Constants as float tensors of the vector's device: a Python number in a tensor
        # op is first wrapped into a double tensor and converted, ~7 us each on the CPU.
        self._half, self._two = (torch.tensor(c, device=self.vector.device) for c in (0.5, 2.0))

    def copy_to(self, model: VAE) -> VAE:
        """Write the current weights into ``model`` (same architecture); returns it."""
        torch.nn.utils.vector_to_parameters(self.vector, training_order(model))
        return model

    def buffers(self, batch_size: int) -> Buffers:
        """The reusable activations for batches of ``batch_size`` images."""
        if batch_size not in self._buffers:
            self._buffers[batch_size] = Buffers(self.config, batch_size, self.vector.device)
        return self._buffers[batch_size]

    def load_batch(self, images: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``images[index]``, gathered into this batch size's input buffer."""
        return torch.index_select(images, 0, index, out=self.buffers(len(index)).x)

    @torch.no_grad()
    def loss_and_grad(
        self, x: torch.Tensor, score: torch.Tensor, anchor_rate: float, noise: torch.Tensor
    ) -> StepLosses:
        """Loss of the batch ``x`` (B, pixels) and its gradient, written into ``vector.grad``.

        ``score`` (B,) is the donutness of ``x``; ``noise`` (B, latent_dims) is the
        reparameterisation's standard-normal draw. Activations live in reused buffers.
        """
        b = self.buffers(len(x))
        latent, y = self._forward(x, noise, b)
        diff = torch.sub(y, x, out=b.diff)
        recon = torch.dot(diff.view(-1), diff.view(-1))
        anchored = torch.add(latent.mu, score.unsqueeze(-1), alpha=anchor_rate)
        var_minus_1 = torch.expm1(latent.logvar)
        # KL = 1/2 * sum(anchored^2 + var - 1 - logvar), the closed form in loss.py.
        kl_terms = torch.sub(var_minus_1, latent.logvar).addcmul_(anchored, anchored)
        kl = torch.sum(kl_terms).mul_(self._half)

        # d(recon)/dy = 2 * diff, through the sigmoid (in place: diff is not needed again).
        grad_y = _sigmoid_backward_(diff, y).mul_(self._two)
        grad_z = self._backward_decoder(grad_y, latent.z, b)
        # z = mu + std * noise; the KL adds d/dmu = anchored, d/dlogvar = (var - 1) / 2.
        grad_mu, grad_logvar = b.g_heads.split(self.config.latent_dims, dim=1)
        torch.add(grad_z, anchored, out=grad_mu)
        torch.addcmul(var_minus_1, grad_z, noise * latent.std, out=grad_logvar)
        grad_logvar.mul_(self._half)
        self._backward_encoder(b.g_heads, x, b)
        return StepLosses(recon, kl)

    def _forward(self, x: torch.Tensor, noise: torch.Tensor, b: Buffers):
        """Encode, sample z, decode; returns (Latent, reconstruction y in (0, 1))."""
        enc1, enc2, heads, dec1, dec2, dec3 = self.layers
        _linear(x, enc1, out=b.h1).relu_()
        _linear(b.h1, enc2, out=b.h2).relu_()
        mu, logvar = _linear(b.h2, heads, out=b.heads).split(self.config.latent_dims, dim=1)
        std = torch.exp(logvar).sqrt_()
        z = torch.addcmul(mu, std, noise)
        _linear(z, dec1, out=b.h4).relu_()
        _linear(b.h4, dec2, out=b.h5).relu_()
        y = _linear(b.h5, dec3, out=b.y).sigmoid_()
        return Latent(mu, logvar, std, z), y

    def _backward_decoder(self, grad: torch.Tensor, z: torch.Tensor, b: Buffers):
        """From d/d(decoder's last pre-activation) to d/dz; fills the decoder's gradients."""
        _, _, _, dec1, dec2, dec3 = self.layers
        _, _, _, g_dec1, g_dec2, g_dec3 = self.grads
        grad = _relu_backward_(_linear_backward(grad, b.h5, dec3, g_dec3, out=b.g_h5), b.h5)
        grad = _relu_backward_(_linear_backward(grad, b.h4, dec2, g_dec2, out=b.g_h4), b.h4)
        return _linear_backward(grad, z, dec1, g_dec1, out=b.g_z)

    def _backward_encoder(self, grad: torch.Tensor, x: torch.Tensor, b: Buffers) -> None:
        """From d/d(mu, logvar) to the encoder's and the heads' gradients."""
        enc1, enc2, heads = self.layers[:3]
        g_enc1, g_enc2, g_heads = self.grads[:3]
        grad = _relu_backward_(_linear_backward(grad, b.h2, heads, g_heads, out=b.g_h2), b.h2)
        grad = _relu_backward_(_linear_backward(grad, b.h1, enc2, g_enc2, out=b.g_h1), b.h1)
        _linear_backward(grad, x, enc1, g_enc1, out=None)


class Latent(NamedTuple):
    mu: torch.Tensor  # (B, latent_dims), views into the heads' output
    logvar: torch.Tensor
    std: torch.Tensor  # exp(logvar / 2)
    z: torch.Tensor  # mu + std * noise


class Buffers:
    """Activations and their gradients for one batch size, rewritten every step.

    Reusing them is measurably faster on the CPU: at batch 256 a 784-wide elementwise
    pass took 190 us into a fresh tensor and under 100 us into a reused one (no page
    faults either way; fresh memory is most likely just not in cache).
    """

    def __init__(self, config: ModelConfig, batch_size: int, device: torch.device):
        def new(width: int) -> torch.Tensor:
            return torch.empty(batch_size, width, device=device)

        self.x, self.y, self.diff = new(config.pixels), new(config.pixels), new(config.pixels)
        self.h1, self.h5 = new(config.hidden), new(config.hidden)
        self.h2, self.h4 = new(config.bottleneck), new(config.bottleneck)
        self.heads, self.g_heads = new(2 * config.latent_dims), new(2 * config.latent_dims)
        self.g_z = new(config.latent_dims)
        self.g_h1, self.g_h5 = new(config.hidden), new(config.hidden)
        self.g_h2, self.g_h4 = new(config.bottleneck), new(config.bottleneck)


def _dense_views(vector: torch.Tensor, layers: list[tuple[list, list]]) -> list[Dense]:
    """Cut ``vector`` into one (weight, bias) view pair per layer of ``layers``
    (see _layer_params); a merged layer's weights are adjacent, so one view spans them."""
    views, offset = [], 0
    for weights, biases in layers:
        weight_size = sum(w.numel() for w in weights)
        bias_size = sum(b.numel() for b in biases)
        weight = vector[offset : offset + weight_size].view(-1, weights[0].shape[1])
        bias = vector[offset + weight_size : offset + weight_size + bias_size]
        views.append(Dense(weight, bias))
        offset += weight_size + bias_size
    return views


def _linear(x: torch.Tensor, layer: Dense, out: torch.Tensor) -> torch.Tensor:
    return torch.addmm(layer.bias, x, layer.weight.t(), out=out)


def _linear_backward(
    grad_out: torch.Tensor,
    x: torch.Tensor,
    layer: Dense,
    grads: Dense,
    out: torch.Tensor | None,
) -> torch.Tensor | None:
    """Write d/dweight and d/dbias into ``grads`` and d/dx into ``out``; returns ``out``.

    ``out=None`` skips d/dx (the first layer's input is the data)."""
    torch.mm(grad_out.t(), x, out=grads.weight)
    torch.sum(grad_out, dim=0, out=grads.bias)
    return None if out is None else torch.mm(grad_out, layer.weight, out=out)


def _relu_backward_(grad: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """Zero ``grad`` in place where the ReLU's output was 0."""
    return torch.ops.aten.threshold_backward.grad_input(grad, activation, 0, grad_input=grad)


def _sigmoid_backward_(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """``grad * output * (1 - output)`` in place: the sigmoid's chain rule."""
    return torch.ops.aten.sigmoid_backward.grad_input(grad, output, grad_input=grad)
