import pytest
import torch

from anchorvae.loss import anchor_direction
from anchorvae.model import VAE, ModelConfig, load_checkpoint
from anchorvae.templates import seed_donut, seed_stick
from anchorvae.train import (
    TrainConfig,
    TrainingDiverged,
    choose_device,
    configure_cpu,
    train_vae,
)

from synthetic import digit_images


@pytest.fixture(scope="module")
def tiny_data():
    images, labels = digit_images(256, seed=0)
    x = torch.from_numpy(images).reshape(256, -1).float() / 255
    direction = anchor_direction(torch.from_numpy(seed_donut()), torch.from_numpy(seed_stick()))
    return x, torch.from_numpy(labels), direction


@pytest.mark.parametrize("latent_dims", [1, 2, 5])
def test_shapes(latent_dims):
    model = VAE(ModelConfig(latent_dims=latent_dims))
    recon, mu, logvar = model(torch.rand(3, 784))
    assert recon.shape == (3, 784)
    assert mu.shape == logvar.shape == (3, latent_dims)
    assert ((recon > 0) & (recon < 1)).all()
    assert model.decode(torch.zeros(4, latent_dims)).shape == (4, 784)


def test_layer_sizes_are_the_seed_posts():
    sizes = [tuple(p.shape) for n, p in VAE(ModelConfig()).named_parameters() if "weight" in n]
    assert sizes == [(400, 784), (100, 400), (2, 100), (2, 100), (100, 2), (400, 100), (784, 400)]


def train_once(tiny_data, **overrides):
    x, _, direction = tiny_data
    config = TrainConfig(**{"epochs": 2, "batch_size": 64, "anchor_rate": 2.0, **overrides})
    return train_vae(x, direction, ModelConfig(), config, torch.device("cpu"), "test")


def test_same_seed_same_weights_other_seed_other_weights(tiny_data):
    first, history = train_once(tiny_data, seed=3)
    again, history_again = train_once(tiny_data, seed=3)
    other, _ = train_once(tiny_data, seed=4)
    for key, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])
    assert [r.loss for r in history] == [r.loss for r in history_again]
    assert not torch.equal(
        first.state_dict()["mu_head.weight"], other.state_dict()["mu_head.weight"]
    )


def test_history_records_each_epoch_and_loss_falls(tiny_data):
    _, history = train_once(tiny_data, epochs=3)
    assert [r.epoch for r in history] == [1, 2, 3]
    for r in history:
        assert r.loss == pytest.approx(r.recon + r.kl)
        assert r.seconds > 0
    assert history[-1].loss < history[0].loss


def test_anchoring_separates_round_and_stick_images(tiny_data):
    x, labels, _ = tiny_data
    model, _ = train_once(tiny_data, epochs=15, anchor_rate=4.0, seed=0)
    with torch.no_grad():
        mu, _ = model.encode(x)
    assert (mu[labels == 0].mean(0) < 0).all()
    assert (mu[labels == 1].mean(0) > 0).all()


@pytest.mark.parametrize("latent_dims", [1, 3])
def test_trains_with_any_latent_size(tiny_data, latent_dims):
    x, _, direction = tiny_data
    config = TrainConfig(epochs=2, batch_size=100, anchor_rate=2.0)  # 256 = 100 + 100 + 56
    model, history = train_vae(
        x, direction, ModelConfig(latent_dims=latent_dims), config, torch.device("cpu")
    )
    assert model.mu_head.out_features == latent_dims
    assert history[-1].loss < history[0].loss


def test_nan_loss_names_model_epoch_and_batch(tiny_data):
    x, _, direction = tiny_data
    poisoned = x.clone()
    poisoned[100] = float("nan")  # lands in some batch of epoch 1
    config = TrainConfig(epochs=2, batch_size=64)
    with pytest.raises(
        TrainingDiverged,
        match=r"baseline/seed0: loss is not finite at epoch 1, "
        r"batch [1-4] of 4",
    ):
        train_vae(
            poisoned, direction, ModelConfig(), config, torch.device("cpu"), "baseline/seed0"
        )


def test_checkpoint_round_trip(tmp_path, tiny_data):
    model, _ = train_once(tiny_data, epochs=1)
    path = tmp_path / "model.pt"
    torch.save(
        {
            "state_dict": model.state_dict(),
            "model_config": ModelConfig().to_dict(),
            "variant": "anchored",
            "seed": 0,
            "epoch": 1,
            "metrics": {"loss": 1.0},
        },
        path,
    )
    loaded, checkpoint = load_checkpoint(path)
    x = tiny_data[0][:5]
    torch.testing.assert_close(loaded.encode(x)[0], model.encode(x)[0], rtol=0, atol=0)
    assert checkpoint["variant"] == "anchored"


def test_configure_cpu_flushes_denormals():
    tiny = torch.tensor([1e-39])  # below float32's smallest normal, 1.2e-38
    assert (tiny * 1.0).item() != 0.0
    configure_cpu(0)
    try:
        assert (tiny * 1.0).item() == 0.0
    finally:
        torch.set_flush_denormal(False)


def test_device_choice():
    assert choose_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert choose_device("auto").type == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_training_on_cuda_is_reproducible_and_close_to_cpu(tiny_data):
    x, _, direction = tiny_data
    config = TrainConfig(epochs=2, batch_size=64, anchor_rate=2.0, seed=1)
    runs = [
        train_vae(x, direction, ModelConfig(), config, torch.device("cuda"), "gpu")
        for _ in range(2)
    ]
    cpu_model, cpu_history = train_vae(
        x, direction, ModelConfig(), config, torch.device("cpu"), "cpu"
    )
    (first, history), (again, _) = runs
    for key, value in first.state_dict().items():
        assert value.is_cuda
        assert torch.equal(value, again.state_dict()[key])
    # Different kernels round differently, but the same seed draws the same noise.
    assert history[-1].loss == pytest.approx(cpu_history[-1].loss, rel=0.05)
