"""Training speed: the project's trainer against the usual PyTorch loops, same machine, one run.

(a) textbook: torchvision dataset + DataLoader(batch_size=128, shuffle=True) + default
    Adam (lr 1e-3) + `.item()` every batch, as the seed post and pytorch/examples train;
(b) in-memory autograd: one model, the images in one tensor, batches gathered from a
    permutation, fused Adam, denormals flushed, params.yaml's batch and lr;
(c) anchorvae.training.train.train_seeds (stacked seeds, loss.py through autograd; one CUDA graph
    per step on a GPU) with K = 1 seed and K = params.yaml's number of seeds, and with
    --device cuda also K = 100;
(d) the same trainer on M2 (anchorvae/method/m2.py, params.yaml's `references.m2`, K =
    params.yaml's seeds): the few_labels grid's cost, printed against (c) at that K.
All but (d) train the same model with the same anchored loss (rate 2, donutness along (1, 1)),
each in a fresh process, in --repeats interleaved rounds. Prints, per loop, the median
seconds per model-epoch with its range, the speed-up over (a), the distance from a floor
(the model's FLOP per epoch, counted by torch's FlopCounterMode, at this machine's
float32 matmul rate measured in the same run), the last epoch's loss per image and, on
CUDA, the peak GPU memory.

    python benchmarks/train_speed.py [--mnist data/mnist] [--epochs 2] [--repeats 3]
                                     [--params params.yaml] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import torch

from anchorvae.method.model import ModelConfig, build_vae
from anchorvae.pipeline.params import VariantParams
from anchorvae.pipeline.params_file import load_params

ANCHORED = VariantParams(anchor_rate=2.0, scale="raw", anchors={"donutness": [1.0, 1.0]})
TEXTBOOK_BATCH, TEXTBOOK_LR = 128, 1e-3
MANY_SEEDS = 100  # the GPU's ensemble size


def _maps(device: str = "cpu") -> dict[str, torch.Tensor]:
    from anchorvae.method.scores.donutness import post_donut, post_stick

    return {
        "donut": torch.from_numpy(post_donut()).reshape(-1).to(device),
        "stick": torch.from_numpy(post_stick()).reshape(-1).to(device),
    }


def _scores(images: torch.Tensor, maps: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """(N, 1) donutness of flat images, from the post's templates."""
    from anchorvae.method.scores import ScoreInputs, anchor_scores

    maps = maps or _maps(images.device.type)
    return anchor_scores(list(ANCHORED.anchors), ScoreInputs(images, torch.zeros(0), maps))


def _shift(scores: torch.Tensor) -> torch.Tensor:
    from anchorvae.method.loss import anchor_shift

    return anchor_shift(scores, torch.tensor([[1.0, 1.0]], device=scores.device), 2.0)


def _peak_memory(device: str) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else math.nan


def textbook_loop(root: str, epochs: int, device: str) -> tuple[float, float, float]:
    """(seconds per model-epoch, last loss per image, peak GiB) of the textbook loop."""
    from torch.utils.data import DataLoader
    from torchvision import transforms
    from torchvision.datasets import MNIST

    from anchorvae.method.loss import vae_loss

    torch.manual_seed(0)
    data = MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(data, batch_size=TEXTBOOK_BATCH, shuffle=True)
    model = build_vae(ModelConfig()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=TEXTBOOK_LR)
    maps = _maps(device)
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for images, _ in loader:
            x = images.view(-1, 784).to(device)
            recon, mu, logvar = model(x, torch.randn(len(x), 2, device=device))
            loss = vae_loss(recon, x, mu, logvar, _shift(_scores(x, maps))).total
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
    return (time.perf_counter() - start) / epochs, total / len(data), _peak_memory(device)


def in_memory_loop(
    root: str, epochs: int, batch: int, lr: float, device: str
) -> tuple[float, float, float]:
    """The same, one model, with the data in memory, fused Adam and flushed denormals."""
    from anchorvae.data.mnist import as_flat_floats, load_mnist
    from anchorvae.method.loss import vae_loss
    from anchorvae.pipeline.runtime import configure_cpu
    from anchorvae.training.optimizer import make_optimizer

    configure_cpu(0)
    torch.manual_seed(0)
    x_all = as_flat_floats(load_mnist(root, train=True)[0]).to(device)
    shift_all = _shift(_scores(x_all))
    model = build_vae(ModelConfig()).to(device)
    optimizer = make_optimizer(model.parameters(), lr, torch.device(device))
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x_all), device=device)
        sums = torch.zeros((), device=device)
        for idx in order.split(batch):
            x = x_all[idx]
            recon, mu, logvar = model(x, torch.randn(len(x), 2, device=device))
            loss = vae_loss(recon, x, mu, logvar, shift_all[idx]).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sums += loss.detach()
    loss = sums.item() / len(x_all)
    return (time.perf_counter() - start) / epochs, loss, _peak_memory(device)


def anchorvae_loop(
    root: str, epochs: int, batch: int, lr: float, k: int, device: str, m2=None
) -> tuple[float, float, float]:
    """The project's trainer on K seeds; seconds per model-epoch, mean last loss. ``m2``:
    a ``semi_supervised`` section (params.yaml's M2 reference), trained in place of the
    anchored VAE."""
    from anchorvae.data.mnist import as_flat_floats, load_mnist
    from anchorvae.method.anchors import anchor_directions
    from anchorvae.pipeline.params import TrainParams
    from anchorvae.pipeline.runtime import choose_device, configure_cpu
    from anchorvae.training.train import train_seeds

    configure_cpu(0)  # first, as stages/train.py does
    images, labels = load_mnist(root, train=True)
    images = as_flat_floats(images)
    params = TrainParams(epochs=epochs, batch_size=batch, lr=lr, latent_dims=2,
                         architecture="mlp", limit=0)  # fmt: skip
    model, scores, rate, extra = partial(build_vae, ModelConfig()), _scores(images), 2.0, {}
    if m2 is not None:
        model, scores, rate, extra = _m2_setup(m2, labels.long())
    start = time.perf_counter()
    trained = train_seeds(images, scores, list(range(k)), model, params,
                          anchor_directions(ANCHORED, 2)[: scores.shape[1]], rate,
                          choose_device(device), **extra)  # fmt: skip
    seconds = (time.perf_counter() - start) / epochs / k
    last = [r.loss for r in trained.history if r.epoch == epochs]
    return seconds, statistics.fmean(last), _peak_memory(device)


def _m2_setup(semi, labels: torch.Tensor) -> tuple:
    """(model factory, no scores, rate 0, train_seeds' M2 keywords) of M2 as ``semi`` (a
    ``semi_supervised`` section) says."""
    from anchorvae.method.m2 import build_generative, semi_supervised_training
    from anchorvae.method.model import config_for, one_hot

    m2 = semi_supervised_training(semi, labels, "m2")
    config = config_for(2, "mlp", conditional=True, semi_supervised=True)
    extra = {"conditions": one_hot(labels, config.classes), **m2.train_args}
    return partial(build_generative, config), torch.zeros(len(labels), 0), 0.0, extra


def flop_per_epoch(n_images: int, batch: int) -> float:
    """FLOP of one epoch's forward and backward passes, counted by torch on one step."""
    from torch.utils.flop_counter import FlopCounterMode

    from anchorvae.method.loss import vae_loss

    model = build_vae(ModelConfig())
    x = torch.rand(batch, 784)
    with FlopCounterMode(display=False) as counter:
        recon, mu, logvar = model(x, torch.randn(batch, 2))
        vae_loss(recon, x, mu, logvar, torch.zeros(batch, 2)).total.backward()
    return counter.get_total_flops() * n_images / batch


def matmul_flops(device: str, size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-product FLOP/s on ``device`` (best of ``repeats``)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    a @ b  # warm up
    best = min(_timed(lambda: a @ b, device) for _ in range(repeats))
    return 2.0 * size**3 / best


def _timed(fn, device: str) -> float:
    sync = torch.cuda.synchronize if device.startswith("cuda") else lambda: None
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def in_fresh_process(fn, *args):
    """Run ``fn(*args)`` in a new interpreter: threads, float modes and GPU memory start clean."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(fn, *args).result()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default="data/mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement")
    p.add_argument("--params", default="params.yaml", help="train.batch_size, lr and seeds")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args()
    params = load_params(args.params)
    batch, lr, k = params.train.batch_size, params.train.lr, len(params.seeds)
    print(
        f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, "
        f"epochs={args.epochs}, batch {batch}, lr {lr:g}, median of {args.repeats} runs"
    )
    runs = {
        f"textbook loop (batch {TEXTBOOK_BATCH})": (
            textbook_loop,
            args.mnist,
            args.epochs,
            args.device,
        ),
        "in-memory autograd, 1 model": (
            in_memory_loop,
            args.mnist,
            args.epochs,
            batch,
            lr,
            args.device,
        ),
        "anchorvae, K = 1": (anchorvae_loop, args.mnist, args.epochs, batch, lr, 1, args.device),
        f"anchorvae, K = {k} (params seeds)": (
            anchorvae_loop,
            args.mnist,
            args.epochs,
            batch,
            lr,
            k,
            args.device,
        ),
    }
    m2 = params.references.get("m2")
    if m2 is not None and m2.semi_supervised is not None:
        runs[f"M2, K = {k} ({m2.semi_supervised.labels_per_class} labels per digit)"] = (
            anchorvae_loop, args.mnist, args.epochs, batch, lr, k, args.device,
            m2.semi_supervised,
        )  # fmt: skip
    if args.device == "cuda":
        runs[f"anchorvae, K = {MANY_SEEDS}"] = (
            anchorvae_loop,
            args.mnist,
            args.epochs,
            batch,
            lr,
            MANY_SEEDS,
            args.device,
        )
    # Interleaved rounds, so that a slow spell of the machine hits every loop alike.
    rounds = [
        {name: in_fresh_process(*run) for name, run in runs.items()} for _ in range(args.repeats)
    ]
    flops = statistics.median(
        in_fresh_process(matmul_flops, args.device) for _ in range(args.repeats)
    )
    n_images = len(_load_train_labels(args.mnist))
    report(rounds, flop_per_epoch(n_images, batch), flops)


def _load_train_labels(root: str) -> torch.Tensor:
    from anchorvae.data.mnist import load_mnist

    return load_mnist(root, train=True)[1]


def report(rounds: list[dict[str, tuple[float, float, float]]], flop: float, flops: float) -> None:
    """Median seconds per model-epoch of each loop over the rounds, against the textbook's."""
    seconds = {name: [r[name][0] for r in rounds] for name in rounds[0]}
    textbook = statistics.median(next(iter(seconds.values())))
    floor_s = flop / flops
    print(
        f"floor: {floor_s:.3f} s per model-epoch = {flop / 1e9:.1f} GFLOP "
        f"(FlopCounterMode, params batch) at a measured {flops / 1e9:.0f} GFLOP/s"
    )
    print(
        f"{'':36} {'s/model-epoch (min-max)':>24} {'speed-up':>9} {'x floor':>8} "
        f"{'loss':>8} {'peak GiB':>9}"
    )
    for name, times in seconds.items():
        median = statistics.median(times)
        loss, peak = rounds[0][name][1], max(r[name][2] for r in rounds)
        spread = f"{median:.3f} ({min(times):.3f}-{max(times):.3f})"
        print(
            f"{name:36} {spread:>24} {textbook / median:8.2f}x {median / floor_s:7.2f}x "
            f"{loss:8.3f} {peak:9.2f}"
        )
    m2 = next((name for name in seconds if name.startswith("M2, K = ")), None)
    vae = m2 and f"anchorvae, K = {m2.split()[3]} (params seeds)"
    if m2 and vae in seconds:  # M2's unlabelled term decodes every image once per digit
        ratio = statistics.median(seconds[m2]) / statistics.median(seconds[vae])
        print(f"M2 per model-epoch: {ratio:.1f}x the anchored VAE's at the same K")
    print(
        "targets (2-core CPU): K = params seeds within 2.4x the floor and >= 3.5x the textbook "
        "loop; GPU: K = 100 at most 20 ms per model-epoch, K = 1 at most 0.15 s"
    )


if __name__ == "__main__":
    main()
