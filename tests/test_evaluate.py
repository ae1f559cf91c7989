"""The ensemble evaluation gives what evaluating each model on its own gives."""

import sys
from pathlib import Path

import pytest
import torch

from anchorvae.evaluation.evaluate import evaluate_seeds
from anchorvae.method.classifier import DigitClassifier
from anchorvae.method.model import ModelConfig, build_vae

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from per_model_eval import evaluate_one  # noqa: E402


@pytest.mark.parametrize(("latent_dims", "classes"), [(2, 0), (3, 0), (2, 10)])
def test_every_seed_at_once_matches_each_model_alone(latent_dims, classes):
    """The CVAE (classes = 10) too: each image with its label, each anchor code with its
    intended digit's, and no decoded grid."""
    torch.manual_seed(0)
    vaes = [build_vae(ModelConfig(latent_dims=latent_dims, classes=classes)) for _ in range(3)]
    classifier = DigitClassifier().eval()
    images, labels = torch.rand(500, 784), torch.arange(500) % 10
    points = torch.randn(10, latent_dims)
    cpu = torch.device("cpu")
    together = evaluate_seeds(vaes, classifier, images, labels, 5, 40, cpu, points)
    assert len(together) == 3
    for vae, evaluation in zip(vaes, together, strict=True):
        alone, means = evaluate_one(vae, classifier, images, labels, 5, points)
        assert "anchor_decode" in alone
        assert evaluation.metrics.keys() == alone.keys()
        assert evaluation.metrics == pytest.approx(alone, rel=1e-5, abs=1e-6)
        torch.testing.assert_close(evaluation.centroids[0], means[labels == 0].mean(dim=0))
        assert evaluation.sample_codes.shape == (40, latent_dims)
        assert (evaluation.grid_images is None) == (latent_dims != 2 or classes > 0)
    assert together[0].metrics != together[1].metrics  # each member is its own model


def test_the_batches_do_not_change_the_numbers(monkeypatch):
    """Reading the test set in many small batches gives the numbers of one big batch."""
    import anchorvae.evaluation.evaluate as evaluate

    torch.manual_seed(1)
    vaes = [build_vae(ModelConfig()) for _ in range(2)]
    classifier = DigitClassifier().eval()
    images, labels = torch.rand(300, 784), torch.arange(300) % 10
    one = evaluate_seeds(vaes, classifier, images, labels, 4, 10, torch.device("cpu"))
    monkeypatch.setattr(evaluate, "MEMBER_IMAGES", 2 * 64)  # batches of 64 images
    many = evaluate_seeds(vaes, classifier, images, labels, 4, 10, torch.device("cpu"))
    for a, b in zip(one, many, strict=True):
        assert a.metrics == pytest.approx(b.metrics, rel=1e-6)
