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


def test_the_labelled_draw_is_n_of_each_digit_the_same_for_the_same_seed():
    from anchorvae.method.m2 import draw_labelled

    labels = torch.arange(10).repeat(30)[
        torch.randperm(300, generator=torch.Generator().manual_seed(1))
    ]
    drawn = draw_labelled(labels, 3, seed=5)
    assert sorted(drawn) == list(range(10))
    for digit, indices in drawn.items():
        assert len(indices) == len(set(indices.tolist())) == 3
        assert (labels[indices] == digit).all()
    again, other = draw_labelled(labels, 3, seed=5), draw_labelled(labels, 3, seed=6)
    assert all(torch.equal(drawn[d], again[d]) for d in drawn)
    assert any(not torch.equal(drawn[d], other[d]) for d in drawn)
    with pytest.raises(
        ValueError,
        match="= 31 is more than the 30 training images of digit 0: expected at most 30",
    ):
        draw_labelled(labels, 31, seed=0)


@pytest.mark.parametrize(("n", "batch", "labelled"), [(100, 32, 10), (100, 32, 50), (70, 100, 5)])
def test_every_step_carries_labelled_images_after_its_shuffled_ones(n, batch, labelled):
    """Each batch: its share of the epoch's permutation of the N images (labels hidden),
    then min(L, batch) of the labelled rows N.., each member going through all of them
    before it repeats one."""
    from anchorvae.training.train import _epoch_draws, _with_carried

    streams = [torch.Generator().manual_seed(s) for s in (0, 1)]
    carried = min(labelled, batch)
    indices, noises = _with_carried(_epoch_draws(streams, n, 2, batch, "cpu"), streams, n,
                                    labelled, carried)  # fmt: skip
    assert len(indices) == len(noises) == -(-n // batch)
    pool = torch.cat([index[:, : index.shape[1] - carried] for index in indices], dim=1)
    extra = torch.cat([index[:, index.shape[1] - carried :] for index in indices], dim=1)
    for member in range(2):
        assert sorted(pool[member].tolist()) == list(range(n))  # every image once
        first_round = extra[member, :labelled].tolist()
        assert sorted(first_round) == list(range(n, n + labelled))
    assert all(
        noise.shape == (*index.shape, 2) for index, noise in zip(indices, noises, strict=True)
    )
    assert not torch.equal(extra[0], extra[1])  # each member its own shuffles


def test_a_steps_weights_make_it_its_share_of_the_papers_objective():
    """b unlabelled and m labelled rows: the cross-entropy weighs w b / m per labelled
    image, its ELBO b L / (N m)."""
    from anchorvae.method.m2 import step_weights

    y = torch.zeros(12, 10)
    y[8:, 3] = 1.0  # b = 8, m = 4
    alpha, labelled_weight = step_weights(y, classify_weight=0.1, labelled_share=100 / 60000)
    assert alpha.item() == pytest.approx(0.1 * 8 / 4)
    assert labelled_weight.item() == pytest.approx(8 * 100 / (60000 * 4))
