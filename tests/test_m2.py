"""M2's objective (anchorvae/method/m2.py) held to its parts written out directly: the CVAE's
loss at the label, and the sum over the ten labels for an unlabelled image."""

import pytest
import torch

from anchorvae.method.loss import vae_loss
from anchorvae.method.m2 import M2, m2_loss
from anchorvae.method.model import ModelConfig, one_hot


def batch(seed=0, n=6, dims=2):
    torch.manual_seed(seed)
    model = M2(ModelConfig(latent_dims=dims, classes=10))
    x, eps = torch.rand(n, 784), torch.randn(n, dims)
    labels = torch.randint(0, 10, (n,))
    return model, x, eps, labels


def cvae_loss(model, x, eps, y):
    """The CVAE's loss of each image at its condition y: (B,), written with the model's own
    forward pass and the project's one loss."""
    losses = []
    for i in range(len(x)):
        recon, mu, logvar = model.vae(x[i : i + 1], eps[i : i + 1], y[i : i + 1])
        losses.append(vae_loss(recon, x[i : i + 1], mu, logvar, torch.zeros_like(mu)).total)
    return torch.stack(losses)


def test_every_image_labelled_and_alpha_zero_is_the_cvaes_loss():
    model, x, eps, labels = batch()
    y = one_hot(labels, 10)
    torch.testing.assert_close(m2_loss(model, x, eps, y, alpha=0.0).total,
                               cvae_loss(model, x, eps, y).sum())  # fmt: skip


def test_the_labelled_term_adds_alpha_times_the_classifiers_cross_entropy():
    model, x, eps, labels = batch(seed=1)
    y = one_hot(labels, 10)
    cross_entropy = torch.nn.functional.cross_entropy(model.classify(x), labels, reduction="sum")
    gap = m2_loss(model, x, eps, y, alpha=3.0).total - m2_loss(model, x, eps, y, 0.0).total
    torch.testing.assert_close(gap, 3.0 * cross_entropy)


def unlabelled_directly(model, x, eps):
    """sum_y q(y | x) L(x, y) - H(q(y | x)), summed over the batch: a loop over the labels."""
    q = torch.softmax(model.classify(x), dim=-1)
    total = (q * q.log()).sum()
    for digit in range(10):
        y = one_hot(torch.full((len(x),), digit), 10)
        total = total + (q[:, digit] * cvae_loss(model, x, eps, y)).sum()
    return total


def test_the_unlabelled_term_and_its_gradient_are_the_sum_over_the_ten_labels():
    model, x, eps, _ = batch(seed=2)
    unlabelled = torch.zeros(len(x), 10)
    ours = m2_loss(model, x, eps, unlabelled, alpha=5.0).total  # alpha: labelled ones only
    theirs = unlabelled_directly(model, x, eps)
    torch.testing.assert_close(ours, theirs)
    params = list(model.parameters())
    ours_grads = torch.autograd.grad(ours, params, retain_graph=True)
    for a, b in zip(ours_grads, torch.autograd.grad(theirs, params), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    classifier = {id(p) for p in model.classify.parameters()}  # learns from unlabelled images
    assert any(g.abs().sum() > 0 for p, g in zip(params, ours_grads, strict=True)
               if id(p) in classifier)  # fmt: skip


@pytest.mark.parametrize("labelled", [[True, False, True, False, False, True]])
def test_a_mixed_batch_is_its_labelled_and_unlabelled_parts(labelled):
    model, x, eps, labels = batch(seed=3)
    mask = torch.tensor(labelled)
    y = one_hot(labels, 10) * mask.unsqueeze(-1)
    whole = m2_loss(model, x, eps, y, alpha=2.0).total
    parts = m2_loss(model, x[mask], eps[mask], y[mask], 2.0).total + m2_loss(
        model, x[~mask], eps[~mask], y[~mask], 2.0).total  # fmt: skip
    torch.testing.assert_close(whole, parts)


def test_m2_is_a_cvae_of_the_ten_digits():
    with pytest.raises(ValueError, match="classes = 10"):
        M2(ModelConfig(classes=0))
