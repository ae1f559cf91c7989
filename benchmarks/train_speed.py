"""Training speed: the project's trainer against the usual PyTorch loop, same machine.

(a) reference: torchvision dataset + DataLoader(batch_size=128, shuffle=True) + default
    Adam + `.item()` every batch, as the seed post and pytorch/examples train;
(b) anchorvae.train.train_vae: in-memory tensor, index batches, foreach Adam.
Both train the same model with the same anchored loss for the same epochs. Prints
seconds per epoch, the speed-up, both final losses, and the distance from a floor:
the model's FLOP per epoch at this machine's measured matmul FLOP/s.

    python benchmarks/train_speed.py [--mnist data/mnist] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.datasets import MNIST

from anchorvae.data import as_flat_floats, load_mnist
from anchorvae.loss import anchor_direction, donutness, vae_loss
from anchorvae.model import VAE, ModelConfig
from anchorvae.templates import seed_donut, seed_stick
from anchorvae.train import TrainConfig, set_seed, train_vae

ANCHOR_RATE = 2.0
BATCH = 128


def reference_loop(root: str, epochs: int, direction: torch.Tensor) -> tuple[float, float]:
    """(seconds per epoch, last epoch's loss per image) of the textbook loop."""
    set_seed(0)
    data = MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(data, batch_size=BATCH, shuffle=True)
    model = VAE(ModelConfig())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for images, _ in loader:
            x = images.view(-1, 784)
            recon, mu, logvar = model(x)
            loss = vae_loss(recon, x, mu, logvar, donutness(x, direction), ANCHOR_RATE).total
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
    return (time.perf_counter() - start) / epochs, total / len(data)


def project_loop(root: str, epochs: int, direction: torch.Tensor) -> tuple[float, float]:
    images, _ = load_mnist(root, train=True)
    x = as_flat_floats(images)
    config = TrainConfig(epochs=epochs, batch_size=BATCH, anchor_rate=ANCHOR_RATE, seed=0)
    start = time.perf_counter()
    _, history = train_vae(x, direction, ModelConfig(), config, torch.device("cpu"), "bench")
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


def matmul_flops(size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-product FLOP/s on this machine (best of ``repeats``)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * size**3 / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default="data/mnist")
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()
    direction = anchor_direction(torch.from_numpy(seed_donut()), torch.from_numpy(seed_stick()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, epochs={args.epochs}")
    ref_s, ref_loss = reference_loop(args.mnist, args.epochs, direction)
    our_s, our_loss = project_loop(args.mnist, args.epochs, direction)
    flop = flop_per_epoch(ModelConfig(), 60_000)
    peak = matmul_flops()
    floor_s = flop / peak
    print(f"reference loop   : {ref_s:7.2f} s/epoch   final loss {ref_loss:8.3f}")
    print(f"anchorvae trainer: {our_s:7.2f} s/epoch   final loss {our_loss:8.3f}")
    print(f"speed-up         : {ref_s / our_s:7.2f}x  (target >= 2.0)")
    print(f"loss difference  : {abs(our_loss - ref_loss) / ref_loss:7.2%}  (target <= 2%)")
    print(f"model work       : {flop / 1e9:7.1f} GFLOP/epoch; matmul {peak / 1e9:.1f} GFLOP/s")
    print(f"floor            : {floor_s:7.2f} s/epoch; trainer is {our_s / floor_s:.2f}x "
          "the floor  (target <= 2.0)")  # fmt: skip


if __name__ == "__main__":
    main()
