"""The hand-derived training step against autograd on the same weights, batch and noise."""

import pytest
import torch

from anchorvae.backprop import FlatVAE, training_order
from anchorvae.flat_adam import FlatAdam
from anchorvae.loss import vae_loss
from anchorvae.model import VAE, ModelConfig

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
    ),
]


def autograd_step(model, x, score, anchor_rate, noise):
    """loss.vae_loss through autograd, with the reparameterisation noise given."""
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * noise
    parts = vae_loss(model.decode(z), x, mu, logvar, score, anchor_rate)
    parts.total.backward()
    grad = torch.cat([p.grad.reshape(-1) for p in training_order(model)])
    return parts, grad


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("latent_dims", [1, 2, 3])
@pytest.mark.parametrize("anchor_rate", [0.0, 2.0])
def test_loss_and_gradient_match_autograd(latent_dims, anchor_rate, device):
    torch.manual_seed(latent_dims)
    model = VAE(ModelConfig(latent_dims=latent_dims)).to(device)
    x = torch.rand(32, 784) * (torch.rand(32, 784) < 0.3)  # mostly black, like digits
    x[5] = 0  # a blank image: donutness 0, and nothing may become NaN
    score = torch.randn(32).clamp(-1, 1)
    score[5] = 0
    x, score, noise = x.to(device), score.to(device), torch.randn(32, latent_dims, device=device)
    flat = FlatVAE(model)

    losses = flat.loss_and_grad(x, score, anchor_rate, noise)
    parts, expected = autograd_step(model, x, score, anchor_rate, noise)

    torch.testing.assert_close(losses.recon, parts.recon, rtol=1e-5, atol=0)
    torch.testing.assert_close(losses.kl, parts.kl, rtol=1e-5, atol=1e-5)
    got = flat.vector.grad
    assert torch.isfinite(got).all()
    # Same maths, different summation order in a few products: float32 rounding only.
    assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()


def test_anchor_rate_changes_only_the_kl_and_its_gradient():
    torch.manual_seed(0)
    model = VAE(ModelConfig())
    x, noise = torch.rand(16, 784), torch.randn(16, 2)
    score = torch.full((16,), 0.5)
    plain, anchored = FlatVAE(model), FlatVAE(model)
    a = plain.loss_and_grad(x, score, 0.0, noise)
    b = anchored.loss_and_grad(x, score, 2.0, noise)
    assert torch.equal(a.recon, b.recon)
    assert b.kl > a.kl  # the mean is pulled away from 0 by 2 * 0.5
    dec3_weight = slice(len(plain.vector) - 784 * 400 - 784, len(plain.vector) - 784)
    assert torch.equal(plain.vector.grad[dec3_weight], anchored.vector.grad[dec3_weight])
    assert not torch.equal(plain.vector.grad, anchored.vector.grad)


def test_layers_are_views_of_the_vector_and_copy_to_writes_the_model():
    torch.manual_seed(0)
    model = VAE(ModelConfig(latent_dims=3))
    flat = FlatVAE(model)
    heads = flat.layers[2]
    assert heads.weight.shape == (6, 100) and heads.bias.shape == (6,)
    torch.testing.assert_close(heads.weight[:3], model.mu_head.weight, rtol=0, atol=0)
    torch.testing.assert_close(heads.bias[3:], model.logvar_head.bias, rtol=0, atol=0)
    assert all(layer.weight.data_ptr() >= flat.vector.data_ptr() for layer in flat.layers)
    assert flat.vector.numel() == sum(p.numel() for p in model.parameters())

    flat.vector.add_(1.0)
    other = flat.copy_to(VAE(ModelConfig(latent_dims=3)))
    torch.testing.assert_close(other.logvar_head.weight, heads.weight[3:], rtol=0, atol=0)
    torch.testing.assert_close(other.decoder[4].bias, flat.layers[5].bias, rtol=0, atol=0)


def test_flat_adam_steps_exactly_like_torch_adam():
    torch.manual_seed(0)
    start = torch.randn(1000)
    ours, theirs = start.clone(), start.clone().requires_grad_()
    optimizer = FlatAdam(ours, lr=0.01)
    reference = torch.optim.Adam([theirs], lr=0.01, fused=True)
    for _ in range(5):
        grad = torch.randn(1000)
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        optimizer.step()
        reference.step()
    assert torch.equal(ours, theirs.detach())
    assert not torch.equal(ours, start)
