from functools import partial

import pytest
import torch
from torch import nn

from anchorvae.evaluation.placement import corner_fractions
from anchorvae.method.anchors import anchor_directions
from anchorvae.method.loss import anchor_shift, vae_loss
from anchorvae.method.model import ModelConfig, build_vae, one_hot
from anchorvae.method.scores import ScoreInputs, anchor_scores
from anchorvae.method.scores.donutness import post_donut, post_stick
from anchorvae.pipeline.params import TrainParams, VariantParams
from anchorvae.pipeline.runtime import choose_device, configure_cpu
from anchorvae.training.ensemble import Ensemble
from anchorvae.training.seeds import seeded_member
from anchorvae.training.step import member_loss
from anchorvae.training.train import TrainingDiverged, train_seeds

from synthetic import digit_images

ANCHORED = VariantParams(anchor_rate=2.0, scale="raw", anchors={"donutness": [1.0, 1.0]})
CVAE = VariantParams(anchor_rate=0.0, scale="raw", anchors={}, conditional=True)


@pytest.fixture(scope="module")
def tiny_data():
    images, labels = digit_images(256, seed=0)
    x = torch.from_numpy(images).reshape(256, -1).float() / 255
    labels = torch.from_numpy(labels).long()
    maps = {
        "donut": torch.from_numpy(post_donut()).reshape(-1),
        "stick": torch.from_numpy(post_stick()).reshape(-1),
    }
    scores = anchor_scores(["donutness"], ScoreInputs(x, labels, maps))  # (256, 1)
    return x, labels, scores


def train_variant(x, scores, seeds, make, params, variant, device, *args, **kwargs):
    """train_seeds with the directions and rate of a params.yaml variant, as the stage has."""
    directions = anchor_directions(variant, params.latent_dims)
    return train_seeds(x, scores, seeds, make, params, directions, variant.anchor_rate, device,
                       *args, **kwargs)  # fmt: skip


def train_params(**overrides) -> TrainParams:
    values = dict(epochs=2, batch_size=64, lr=1e-3, latent_dims=2, architecture="mlp", limit=0)
    return TrainParams(**{**values, **overrides})


def train(tiny_data, seeds, variant=ANCHORED, make_model=None, **overrides):
    x, _, scores = tiny_data
    params = train_params(**overrides)
    config = ModelConfig(latent_dims=params.latent_dims, architecture=params.architecture)
    make_model = make_model or partial(build_vae, config)
    if not variant.anchors:
        scores = scores[:, :0]
    return train_variant(x, scores, seeds, make_model, params, variant, torch.device("cpu"), "t")


def vae_from(state_dict, latent_dims=2, architecture="mlp") -> nn.Module:
    model = build_vae(ModelConfig(latent_dims=latent_dims, architecture=architecture))
    model.load_state_dict(state_dict)
    return model.eval()


@pytest.mark.parametrize("latent_dims", [1, 2, 5])
def test_shapes(latent_dims):
    model = build_vae(ModelConfig(latent_dims=latent_dims))
    recon, mu, logvar = model(torch.rand(3, 784), torch.randn(3, latent_dims))
    assert recon.shape == (3, 784)
    assert mu.shape == logvar.shape == (3, latent_dims)
    assert ((recon > 0) & (recon < 1)).all()
    assert model.decode(torch.zeros(4, latent_dims)).shape == (4, 784)


def test_layer_sizes_are_the_seed_posts():
    model = build_vae(ModelConfig())
    sizes = [tuple(p.shape) for n, p in model.named_parameters() if "weight" in n]
    assert sizes == [(400, 784), (100, 400), (2, 100), (2, 100), (100, 2), (400, 100), (784, 400)]


@pytest.mark.parametrize(
    ("architecture", "classes"), [("mlp", 0), ("conv", 0), ("mlp", 10), ("conv", 10)]
)
def test_ensemble_gradient_is_each_members_own_autograd_gradient(tiny_data, architecture, classes):
    """The stacked ensemble runs loss.py per member: its gradient for member k equals the
    gradient of member k's loss computed alone on an unstacked copy of the model (a CVAE,
    classes = 10, given each image's label)."""
    x, labels, scores = tiny_data
    make = partial(build_vae, ModelConfig(architecture=architecture, classes=classes))
    members = [seeded_member(make, seed)[0] for seed in (0, 1, 2)]
    ensemble = Ensemble(members, torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    xb = torch.stack([x[:32], x[32:64], x[64:96]])  # (3, 32, 784): a batch per member
    eps = torch.randn(3, 32, 2, generator=g)
    directions = torch.tensor([[1.0, 1.0]])
    shift = anchor_shift(torch.stack([scores[:32], scores[32:64], scores[64:96]]), directions, 2.0)
    y = one_hot(labels[:96].reshape(3, 32), classes)
    ys = [] if y is None else [y]
    totals, _ = ensemble.map(member_loss, xb, eps, shift, *ys)
    totals.sum().backward()
    gradients = ensemble.gradients()
    for k, member in enumerate(members):
        recon, mu, logvar = member(xb[k], eps[k], *(y[k] for y in ys))
        vae_loss(recon, xb[k], mu, logvar, shift[k]).total.backward()
        for name, param in member.named_parameters():
            torch.testing.assert_close(gradients[name][k], param.grad, rtol=1e-4, atol=1e-5)


def test_same_seeds_same_bytes_other_seed_other_weights(tiny_data):
    first = train(tiny_data, [3, 4])
    again = train(tiny_data, [3, 4])
    for seed in (3, 4):
        for key, value in first.state_dicts[seed].items():
            assert torch.equal(value, again.state_dicts[seed][key])
    assert [r.loss for r in first.history] == [r.loss for r in again.history]
    assert not torch.equal(
        first.state_dicts[3]["mu_head.weight"], first.state_dicts[4]["mu_head.weight"]
    )


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_a_seed_does_not_depend_on_the_seeds_beside_it(tiny_data, architecture):
    """A member trained among others is the model trained alone: same losses, same codes."""
    x, labels, _ = tiny_data
    alone = train(tiny_data, [3], architecture=architecture)
    among = train(tiny_data, [0, 1, 2, 3, 4], architecture=architecture)
    shares = []
    for trained in (alone, among):
        with torch.no_grad():
            mu, _ = vae_from(trained.state_dicts[3], architecture=architecture).encode(x)
        shares.append(corner_fractions(mu, labels))
    for key in shares[0]:
        assert shares[0][key] == pytest.approx(shares[1][key], abs=1e-3)
    record = [r for r in among.history if r.seed == 3 and r.epoch == 2][0]
    assert record.loss == pytest.approx(alone.history[-1].loss, rel=1e-5)


def test_a_cvae_among_others_is_the_cvae_trained_alone(tiny_data):
    """The CVAE through the stacked ensemble, each image with its one-hot label: seed 3
    trained beside others has the losses and the weights of seed 3 trained alone."""
    x, labels, scores = tiny_data
    make = partial(build_vae, ModelConfig(classes=10))

    def run(seeds):
        return train_variant(x, scores[:, :0], seeds, make, train_params(), CVAE,
                           torch.device("cpu"), "t", conditions=one_hot(labels, 10))  # fmt: skip

    alone, among = run([3]), run([0, 3])
    losses = [r.loss for r in among.history if r.seed == 3]
    assert losses == pytest.approx([r.loss for r in alone.history], rel=1e-5)
    assert alone.state_dicts[3]["mu_head.weight"].shape == (2, 100 + 10)  # features and y
    # Batched products round their sums otherwise than the lone model's on some CPUs (an
    # Intel Xeon: 2 of 313,600 weights 1e-4 apart after two epochs, weights ~0.05 in size);
    # another seed's or a mixed member's weights are that far apart everywhere.
    for key, value in alone.state_dicts[3].items():
        torch.testing.assert_close(among.state_dicts[3][key], value, rtol=1e-3, atol=1e-3)
    other, own = among.state_dicts[0]["mu_head.weight"], alone.state_dicts[3]["mu_head.weight"]
    assert not torch.allclose(other, own, atol=1e-3)


def test_an_m2_member_of_the_ensemble_is_the_m2_trained_alone(tiny_data):
    """M2 through the stacked ensemble (anchorvae/method/m2.py), two images of each digit
    labelled and every image shown without its label too: seed 3 trained beside another
    has the losses and the weights, classifier included, of seed 3 trained alone."""
    from anchorvae.method.m2 import M2, draw_labelled, m2_member_loss

    x, labels, scores = tiny_data
    labelled = torch.cat(list(draw_labelled(labels, 2, seed=0).values()))
    loss = m2_member_loss(classify_weight=0.1, labelled_share=len(labelled) / len(x))

    def run(seeds):
        return train_variant(x, scores[:, :0], seeds, partial(M2, ModelConfig(classes=10)),
                             train_params(), CVAE, torch.device("cpu"), "t",
                             conditions=one_hot(labels, 10), loss=loss,
                             labelled=labelled)  # fmt: skip

    alone, among = run([3]), run([0, 3])
    losses = [r.loss for r in among.history if r.seed == 3]
    assert losses == pytest.approx([r.loss for r in alone.history], rel=1e-5)
    assert "classify.4.weight" in alone.state_dicts[3]
    # The classifier's gradient from an unlabelled image is a difference of the ten
    # classes' losses (about 50 each), so the summation order of one member or two moves
    # it, and Adam turns that into steps of up to lr (1e-3): its weights agree to 2e-3,
    # the generative model's to 1e-4.
    for key, value in alone.state_dicts[3].items():
        atol = 2e-3 if key.startswith("classify.") else 1e-4
        torch.testing.assert_close(among.state_dicts[3][key], value, rtol=0, atol=atol)
    other, own = (
        among.state_dicts[0]["classify.4.weight"],
        alone.state_dicts[3]["classify.4.weight"],
    )
    assert not torch.allclose(other, own, atol=1e-3)


def test_the_cvae_takes_the_label_into_its_encoder_and_decoder():
    model = build_vae(ModelConfig(classes=10)).eval()
    x, z = torch.rand(4, 784), torch.zeros(4, 2)
    y0, y1 = one_hot(torch.zeros(4), 10), one_hot(torch.ones(4), 10)
    assert not torch.equal(model.encode(x, y0)[0], model.encode(x, y1)[0])
    assert not torch.equal(model.decode(z, y0), model.decode(z, y1))
    sizes = [tuple(p.shape) for n, p in model.named_parameters() if "weight" in n]
    assert sizes == [(400, 784), (100, 400), (2, 110), (2, 110), (100, 12), (400, 100), (784, 400)]
    assert "classes" not in ModelConfig().to_dict()  # plain VAEs' checkpoints as before
    assert ModelConfig(**ModelConfig(classes=10).to_dict()).classes == 10


def test_history_records_every_seed_and_epoch_and_loss_falls(tiny_data):
    trained = train(tiny_data, [0, 1], epochs=3)
    assert [(r.epoch, r.seed) for r in trained.history] == [
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
        (3, 0),
        (3, 1),
    ]
    for r in trained.history:
        assert r.loss == pytest.approx(r.recon + r.kl)
    for seed in (0, 1):
        losses = [r.loss for r in trained.history if r.seed == seed]
        assert losses[-1] < losses[0]


def test_anchoring_separates_round_and_stick_images(tiny_data):
    x, labels, _ = tiny_data
    trained = train(
        tiny_data,
        [0],
        epochs=15,
        variant=VariantParams(anchor_rate=4.0, scale="raw", anchors={"donutness": [1.0, 1.0]}),
    )
    with torch.no_grad():
        mu, _ = vae_from(trained.state_dicts[0]).encode(x)
    assert (mu[labels == 0].mean(0) < 0).all()
    assert (mu[labels == 1].mean(0) > 0).all()


@pytest.mark.parametrize("latent_dims", [1, 3])
def test_trains_with_any_latent_size_and_a_last_short_batch(tiny_data, latent_dims):
    variant = VariantParams(
        anchor_rate=2.0, scale="raw", anchors={"donutness": [1.0] * latent_dims}
    )
    # 256 images = 100 + 100 + 56: two batch sizes in every epoch
    trained = train(tiny_data, [0], variant, latent_dims=latent_dims, batch_size=100)
    assert trained.state_dicts[0]["mu_head.weight"].shape == (latent_dims, 100)
    assert trained.history[-1].loss < trained.history[0].loss


def test_plain_variant_needs_no_scores(tiny_data):
    trained = train(tiny_data, [0], VariantParams(anchor_rate=0.0, scale="raw", anchors={}))
    assert trained.history[-1].loss < trained.history[0].loss


def test_the_conv_vae_trains_and_keeps_the_mlps_interface(tiny_data):
    trained = train(tiny_data, [0, 1], epochs=3, architecture="conv")
    assert "encoder.1.weight" in trained.state_dicts[1]  # the first convolution
    for seed in (0, 1):
        losses = [r.loss for r in trained.history if r.seed == seed]
        assert losses[-1] < losses[0]
    model = vae_from(trained.state_dicts[0], architecture="conv")
    recon, mu, logvar = model(torch.rand(3, 784), torch.randn(3, 2))
    assert recon.shape == (3, 784) and mu.shape == logvar.shape == (3, 2)
    assert 0 < recon.min() and recon.max() < 1


def test_an_unknown_architecture_names_the_known_ones():
    with pytest.raises(ValueError, match="'resnet' is unknown: allowed are mlp, conv"):
        build_vae(ModelConfig(architecture="resnet"))


def test_the_architectures_params_allow_are_the_models():
    from typing import get_args

    from anchorvae.method.model import ARCHITECTURES
    from anchorvae.pipeline.params import TrainParams

    allowed = get_args(TrainParams.model_fields["architecture"].annotation)
    assert list(allowed) == list(ARCHITECTURES)


def test_nan_loss_names_seed_epoch_and_batch(tiny_data):
    x, labels, scores = tiny_data
    poisoned = x.clone()
    poisoned[100] = float("nan")  # lands in some batch of epoch 1 of every seed
    with pytest.raises(
        TrainingDiverged,
        match=r"t/seed[57]: loss is not finite at epoch 1, "
        r"batch [1-4] of 4",
    ):
        train((poisoned, labels, scores), [5, 7])


def test_configure_cpu_flushes_denormals():
    tiny = torch.tensor([1e-39])  # below float32's smallest normal, 1.2e-38
    torch.set_flush_denormal(False)  # as a fresh process has it (a stage run here sets it)
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
def test_cuda_graph_training_is_reproducible_and_close_to_cpu(tiny_data):
    x, _, scores = tiny_data
    params = train_params(batch_size=100)  # two batch sizes: two captured graphs
    make = partial(build_vae, ModelConfig())
    runs = [
        train_variant(x, scores, [1, 2], make, params, ANCHORED, torch.device("cuda"))
        for _ in range(2)
    ]
    cpu = train_variant(x, scores, [1, 2], make, params, ANCHORED, torch.device("cpu"))
    first, again = runs
    for seed in (1, 2):
        for key, value in first.state_dicts[seed].items():
            assert torch.equal(value, again.state_dicts[seed][key])
    # Different kernels round differently, but each seed draws the same data and noise.
    for gpu_record, cpu_record in zip(first.history, cpu.history, strict=True):
        assert gpu_record.loss == pytest.approx(cpu_record.loss, rel=0.05)
