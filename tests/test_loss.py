import pytest
import torch

from anchorvae.loss import anchor_direction, donutness, kl_to_standard_normal, vae_loss
from anchorvae.templates import seed_donut, seed_stick


@pytest.fixture
def direction():
    return anchor_direction(torch.from_numpy(seed_donut()), torch.from_numpy(seed_stick()))


def plain_vae_loss(recon, x, mu, logvar):
    """The textbook loss, written independently of anchorvae.loss."""
    sse = ((recon - x) ** 2).sum()
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum()
    return sse + kl


def test_anchor_rate_zero_is_exactly_the_plain_vae_loss(direction):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 784, generator=g)
    recon = torch.rand(8, 784, generator=g)
    mu, logvar = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g)
    parts = vae_loss(recon, x, mu, logvar, donutness(x, direction), anchor_rate=0.0)
    assert torch.equal(parts.total, parts.recon + parts.kl)
    torch.testing.assert_close(parts.total, plain_vae_loss(recon, x, mu, logvar))
    assert torch.equal(parts.kl, kl_to_standard_normal(mu, logvar))


def test_kl_of_standard_normal_is_zero_and_known_value():
    assert kl_to_standard_normal(torch.zeros(3, 2), torch.zeros(3, 2)).item() == 0.0
    # One dimension, mean 1, variance 1: KL = 1/2 * mean^2 = 0.5.
    assert kl_to_standard_normal(torch.ones(1, 1), torch.zeros(1, 1)).item() == 0.5


def test_donutness_of_hand_made_image(direction):
    image = torch.zeros(28, 28)
    image[0, 7] = 1.0  # on the donut ring, off the stick
    image[12, 12] = 0.5  # in the donut's hole, on the stick
    image[12, 3] = 0.25  # on the ring (row 12 spans columns 3..24), off the stick
    image[0, 0] = 0.25  # on neither
    # donut overlap 1 + 0.25, stick overlap 0.5, total ink 2.0
    expected = (1.25 - 0.5) / 2.0
    got = donutness(image.reshape(1, -1), direction)
    assert got.item() == pytest.approx(expected)


def test_donut_and_stick_templates_score_plus_and_minus(direction):
    donut = torch.from_numpy(seed_donut()).reshape(1, -1)
    stick = torch.from_numpy(seed_stick()).reshape(1, -1)
    assert donutness(donut, direction).item() > 0.5
    assert donutness(stick, direction).item() < -0.5


def test_blank_image_is_safe(direction):
    x = torch.zeros(2, 784)
    score = donutness(x, direction)
    assert torch.equal(score, torch.zeros(2))
    parts = vae_loss(
        torch.full((2, 784), 0.5), x, torch.zeros(2, 2), torch.zeros(2, 2), score, anchor_rate=2.0
    )
    assert torch.isfinite(parts.total)


def test_anchored_kl_gradient_pushes_a_donut_mean_down(direction):
    donut = torch.from_numpy(seed_donut()).reshape(1, -1)
    mu = torch.zeros(1, 2, requires_grad=True)
    parts = vae_loss(donut, donut, mu, torch.zeros(1, 2), donutness(donut, direction), 2.0)
    parts.kl.backward()
    # Positive gradient: a gradient step (mu -= lr * grad) lowers the mean.
    assert (mu.grad > 0).all()


def test_anchored_kl_gradient_pushes_a_stick_mean_up(direction):
    stick = torch.from_numpy(seed_stick()).reshape(1, -1)
    mu = torch.zeros(1, 2, requires_grad=True)
    parts = vae_loss(stick, stick, mu, torch.zeros(1, 2), donutness(stick, direction), 2.0)
    parts.kl.backward()
    assert (mu.grad < 0).all()
