import pytest
import torch

from anchorvae.method.loss import anchor_shift, kl_to_standard_normal, vae_loss
from anchorvae.method.scores import SCORES, ScoreInputs, anchor_scores
from anchorvae.method.scores._base import overlap_ratio as donutness
from anchorvae.method.scores.donutness import post_donut, post_stick

MAPS = {
    "donut": torch.from_numpy(post_donut()).reshape(-1),
    "stick": torch.from_numpy(post_stick()).reshape(-1),
}
DIRECTION = MAPS["donut"] - MAPS["stick"]


def random_batch(seed=0, n=8, dims=2):
    g = torch.Generator().manual_seed(seed)
    x, recon = torch.rand(n, 784, generator=g), torch.rand(n, 784, generator=g)
    return x, recon, torch.randn(n, dims, generator=g), torch.randn(n, dims, generator=g)


def donut_scores(x):
    return anchor_scores(["donutness"], ScoreInputs(x, torch.zeros(len(x)), MAPS))  # (B, 1)


def plain_vae_loss(recon, x, mu, logvar):
    """The textbook loss, written independently of anchorvae.method.loss."""
    sse = ((recon - x) ** 2).sum()
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum()
    return sse + kl


def post_anchored_loss(recon, x, mu, logvar, rate):
    """The seed post's formula: the KL at mu + rate * donutness, the same in every dim."""
    anchored = mu + rate * donutness(x, DIRECTION).unsqueeze(-1)
    return plain_vae_loss(recon, x, anchored, logvar)


def test_anchor_rate_zero_is_exactly_the_plain_vae_loss():
    x, recon, mu, logvar = random_batch()
    shift = anchor_shift(donut_scores(x), torch.tensor([[1.0, 1.0]]), 0.0)
    parts = vae_loss(recon, x, mu, logvar, shift)
    assert torch.equal(parts.total, parts.recon + parts.kl)
    torch.testing.assert_close(parts.total, plain_vae_loss(recon, x, mu, logvar))
    assert torch.equal(parts.kl, kl_to_standard_normal(mu, logvar))


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_one_score_along_all_ones_is_the_posts_loss(dims):
    x, recon, mu, logvar = random_batch(dims=dims)
    shift = anchor_shift(donut_scores(x), torch.ones(1, dims), 2.0)
    parts = vae_loss(recon, x, mu, logvar, shift)
    torch.testing.assert_close(parts.total, post_anchored_loss(recon, x, mu, logvar, 2.0))


def test_scores_add_up_along_their_directions():
    scores = torch.tensor([[1.0, 0.5], [-2.0, 0.0]])  # (B=2, S=2)
    directions = torch.tensor([[1.0, 1.0], [1.0, -1.0]])  # (S=2, D=2)
    expected = 3.0 * torch.tensor([[1.0 + 0.5, 1.0 - 0.5], [-2.0, -2.0]])
    torch.testing.assert_close(anchor_shift(scores, directions, 3.0), expected)
    no_anchors = anchor_shift(torch.zeros(2, 0), torch.zeros(0, 2), 3.0)
    assert torch.equal(no_anchors, torch.zeros(2, 2))


def test_anchor_scores_follow_the_order_given_and_none_is_empty():
    x = torch.rand(5, 784)
    inputs = ScoreInputs(x, torch.zeros(5), MAPS)
    assert anchor_scores([], inputs).shape == (5, 0)
    torch.testing.assert_close(anchor_scores(["donutness"], inputs)[:, 0], donutness(x, DIRECTION))
    assert set(SCORES) >= {"donutness"}


def test_label_score_is_plus_one_for_0s_minus_one_for_1s_and_zero_else():
    labels = torch.arange(10)
    scores = anchor_scores(["label"], ScoreInputs(torch.rand(10, 784), labels, MAPS))[:, 0]
    expected = torch.zeros(10)
    expected[0], expected[1] = 1.0, -1.0
    assert torch.equal(scores, expected)


def test_sevenness_is_donutness_with_the_mean_7_and_mean_6():
    g = torch.Generator().manual_seed(3)
    seven, six = torch.rand(784, generator=g), torch.rand(784, generator=g)
    x = torch.rand(6, 784, generator=g)
    inputs = ScoreInputs(x, torch.zeros(6), {**MAPS, "seven": seven, "six": six})
    torch.testing.assert_close(
        anchor_scores(["sevenness"], inputs)[:, 0], donutness(x, seven - six)
    )


def test_two_axis_loss_is_the_one_axis_loss_when_the_second_direction_is_zero():
    x, recon, mu, logvar = random_batch()
    g = torch.Generator().manual_seed(4)
    maps = {**MAPS, "seven": torch.rand(784, generator=g), "six": torch.rand(784, generator=g)}
    inputs = ScoreInputs(x, torch.zeros(len(x)), maps)
    two = anchor_scores(["donutness", "sevenness"], inputs)  # (B, 2)
    silent_second = anchor_shift(two, torch.tensor([[1.0, 1.0], [0.0, 0.0]]), 2.0)
    one_axis = anchor_shift(two[:, :1], torch.tensor([[1.0, 1.0]]), 2.0)
    assert torch.equal(
        vae_loss(recon, x, mu, logvar, silent_second).total,
        vae_loss(recon, x, mu, logvar, one_axis).total,
    )
    second = anchor_shift(two, torch.tensor([[1.0, 1.0], [1.0, -1.0]]), 2.0)
    assert not torch.equal(second, one_axis)  # and the second axis does move the KL's mean


def test_kl_of_standard_normal_is_zero_and_known_value():
    assert kl_to_standard_normal(torch.zeros(3, 2), torch.zeros(3, 2)).item() == 0.0
    # One dimension, mean 1, variance 1: KL = 1/2 * mean^2 = 0.5.
    assert kl_to_standard_normal(torch.ones(1, 1), torch.zeros(1, 1)).item() == 0.5


def test_donutness_of_hand_made_image():
    image = torch.zeros(28, 28)
    image[0, 7] = 1.0  # on the donut ring, off the stick
    image[12, 12] = 0.5  # in the donut's hole, on the stick
    image[12, 3] = 0.25  # on the ring (row 12 spans columns 3..24), off the stick
    image[0, 0] = 0.25  # on neither
    # donut overlap 1 + 0.25, stick overlap 0.5, total ink 2.0
    expected = (1.25 - 0.5) / 2.0
    assert donutness(image.reshape(1, -1), DIRECTION).item() == pytest.approx(expected)


def test_donut_and_stick_templates_score_plus_and_minus():
    assert donutness(MAPS["donut"].reshape(1, -1), DIRECTION).item() > 0.5
    assert donutness(MAPS["stick"].reshape(1, -1), DIRECTION).item() < -0.5


def test_blank_image_is_safe():
    x = torch.zeros(2, 784)
    scores = donut_scores(x)
    assert torch.equal(scores, torch.zeros(2, 1))
    shift = anchor_shift(scores, torch.ones(1, 2), 2.0)
    parts = vae_loss(torch.full((2, 784), 0.5), x, torch.zeros(2, 2), torch.zeros(2, 2), shift)
    assert torch.isfinite(parts.total)


@pytest.mark.parametrize("image, sign", [("donut", 1.0), ("stick", -1.0)])
def test_anchored_kl_gradient_pushes_donuts_down_and_sticks_up(image, sign):
    x = MAPS[image].reshape(1, -1)
    mu = torch.zeros(1, 2, requires_grad=True)
    shift = anchor_shift(donut_scores(x), torch.ones(1, 2), 2.0)
    vae_loss(x, x, mu, torch.zeros(1, 2), shift).kl.backward()
    # A gradient step (mu -= lr * grad) lowers a donut's mean and raises a stick's.
    assert (sign * mu.grad > 0).all()
