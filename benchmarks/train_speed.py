"""Training speed: the project's trainer against the usual PyTorch loop, same machine.

(a) reference: torchvision dataset + DataLoader(batch_size=128, shuffle=True) + default
    Adam (lr 1e-3) + `.item()` every batch, as the seed post and pytorch/examples train;
(b) anchorvae.train.train_vae at the reference's batch size and learning rate, then at
    params.yaml's `train.batch_size` and `train.lr` (what `dvc repro` runs).
All train the same model with the same anchored loss for the same epochs, each in a
fresh process set up as its stage sets itself up (anchorvae's trainer flushes denormals
to zero, see train.configure_cpu; the reference runs as the textbook writes it, and once
more with flushing, to show how much of the gain that flag alone is). The loops run in
--repeats interleaved rounds. Prints the median seconds per epoch with its range,
speed-ups, final losses, and the distance from a floor: the model's FLOP per epoch at
this machine's measured matmul FLOP/s.

    python benchmarks/train_speed.py [--mnist data/mnist] [--epochs 2] [--repeats 3]
                                     [--params params.yaml] [--device cpu]

With --device cuda every loop trains on the GPU (the reference moves each batch there).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from anchorvae.config import load_params
from anchorvae.model import ModelConfig

ANCHOR_RATE = 2.0
REFERENCE_BATCH, REFERENCE_LR = 128, 1e-3


def _direction() -> torch.Tensor:
    from anchorvae.loss import anchor_direction
    from anchorvae.templates import seed_donut, seed_stick

    return anchor_direction(torch.from_numpy(seed_donut()), torch.from_numpy(seed_stick()))


def reference_loop(
    root: str, epochs: int, flush_denormals: bool, device: str
) -> tuple[float, float]:
    """(seconds per epoch, last epoch's loss per image) of the textbook loop."""
    from torch.utils.data import DataLoader
    from torchvision import transforms
    from torchvision.datasets import MNIST

    from anchorvae.loss import donutness, vae_loss
    from anchorvae.model import VAE
    from anchorvae.train import set_seed

    torch.set_flush_denormal(flush_denormals)
    direction = _direction().to(device)
    set_seed(0)
    data = MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(data, batch_size=REFERENCE_BATCH, shuffle=True)
    model = VAE(ModelConfig()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=REFERENCE_LR)
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for images, _ in loader:
            x = images.view(-1, 784).to(device)
            recon, mu, logvar = model(x)
            loss = vae_loss(recon, x, mu, logvar, donutness(x, direction), ANCHOR_RATE).total
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
    return (time.perf_counter() - start) / epochs, total / len(data)


def project_loop(
    root: str, epochs: int, batch_size: int, lr: float, device: str
) -> tuple[float, float]:
    from anchorvae.data import as_flat_floats, load_mnist
    from anchorvae.train import TrainConfig, configure_cpu, train_vae

    configure_cpu(0)  # first, as stages/train.py does
    images, _ = load_mnist(root, train=True)
    config = TrainConfig(epochs, batch_size, lr, ANCHOR_RATE, seed=0)
    start = time.perf_counter()
    _, history = train_vae(
        as_flat_floats(images), _direction(), ModelConfig(), config, torch.device(device)
    )
    return (time.perf_counter() - start) / epochs, history[-1].loss


def flop_per_epoch(config: ModelConfig, n_images: int) -> float:
    """Forward MACs of every linear layer; backward adds weight grads (same MACs) and
    input grads (same MACs, except the first layer, whose input needs none). FLOP = 2 MAC."""
    c = config
    layers = [(c.pixels, c.hidden), (c.hidden, c.bottleneck), (c.bottleneck, c.latent_dims),
              (c.bottleneck, c.latent_dims), (c.latent_dims, c.bottleneck),
              (c.bottleneck, c.hidden), (c.hidden, c.pixels)]  # fmt: skip
    forward = sum(i * o for i, o in layers)
    backward = 2 * forward - c.pixels * c.hidden
    return 2.0 * (forward + backward) * n_images


def matmul_flops(device: str, size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-product FLOP/s on ``device`` (best of ``repeats``)."""
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
    """Run ``fn(*args)`` in a new interpreter: threads and float modes start clean."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(fn, *args).result()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default="data/mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement")
    p.add_argument("--params", default="params.yaml", help="train.batch_size and train.lr")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args()
    train = load_params(args.params).train
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, "
          f"epochs={args.epochs}, median of {args.repeats} runs (min-max)")  # fmt: skip
    runs = {
        "reference loop": (reference_loop, args.mnist, args.epochs, False, args.device),
        "reference + flush": (reference_loop, args.mnist, args.epochs, True, args.device),
        f"anchorvae, batch {REFERENCE_BATCH}, lr {REFERENCE_LR:g}": (
            project_loop, args.mnist, args.epochs, REFERENCE_BATCH, REFERENCE_LR, args.device),
    }  # fmt: skip
    if (train.batch_size, train.lr) != (REFERENCE_BATCH, REFERENCE_LR):
        runs[f"anchorvae, batch {train.batch_size}, lr {train.lr:g} (params)"] = (
            project_loop, args.mnist, args.epochs, train.batch_size, train.lr, args.device,
        )  # fmt: skip
    # Interleaved rounds, so that a slow spell of the machine hits every loop alike.
    rounds = [{name: in_fresh_process(*run) for name, run in runs.items()}
              for _ in range(args.repeats)]  # fmt: skip
    flops = statistics.median(
        in_fresh_process(matmul_flops, args.device) for _ in range(args.repeats)
    )
    report(rounds, flop_per_epoch(ModelConfig(), 60_000), flops)


def report(rounds: list[dict[str, tuple[float, float]]], flop: float, flops: float) -> None:
    """Median seconds per epoch of each loop over the rounds, against the reference's."""
    seconds = {name: [r[name][0] for r in rounds] for name in rounds[0]}
    losses = {name: rounds[0][name][1] for name in rounds[0]}  # the same in every round
    ref_s, ref_loss = statistics.median(seconds["reference loop"]), losses["reference loop"]
    floor_s = flop / flops
    print(f"floor: {floor_s:.2f} s/epoch = {flop / 1e9:.1f} GFLOP/epoch "
          f"at a measured {flops / 1e9:.0f} GFLOP/s (float32 matmul)")  # fmt: skip
    print(f"{'':42} {'s/epoch (min-max)':>19} {'speed-up':>9} {'x floor':>8} "
          f"{'loss':>8} {'vs ref':>7}")  # fmt: skip
    for name, times in seconds.items():
        median, loss = statistics.median(times), losses[name]
        spread = f"{median:.2f} ({min(times):.2f}-{max(times):.2f})"
        print(f"{name:42} {spread:>19} {ref_s / median:8.2f}x {median / floor_s:7.2f}x "
              f"{loss:8.3f} {(loss - ref_loss) / ref_loss:+7.2%}")  # fmt: skip
    print("targets: speed-up >= 2.0, x floor <= 2.0, loss within 2% of the reference")


if __name__ == "__main__":
    main()
