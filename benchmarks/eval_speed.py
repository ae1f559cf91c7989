"""Evaluation speed: every seed at once against one model at a time, and against training.

Rows, each the median of --repeats fresh processes, side by side in one run:
(a) per model: the evaluation as it ran before (benchmarks/per_model_eval.py), K models;
(b) anchorvae.evaluation.evaluate.evaluate_seeds: the K models as one stacked ensemble;
(c) training the same K seeds for params.yaml's epochs (one epoch timed, times epochs).
K is params.yaml's number of seeds; with --device cuda also K = 100 and 1,000 (the
evaluation reads the test set in batches of MEMBER_IMAGES / K images, so 1,000 fit).
The models are freshly initialised: evaluation does the same work whatever the weights.
Target (2-core CPU): (b) at most 15 % of (c). --study also times the 100-seed study end to
end (tools/run_without_dvc.py, every stage of dvc.yaml) with its peak GPU memory.

    python benchmarks/eval_speed.py [--mnist data/mnist] [--repeats 3] [--device cpu|cuda]
                                    [--params params.yaml] [--study]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from train_speed import _peak_memory, anchorvae_loop, in_fresh_process

from anchorvae.pipeline.params_file import load_params

ROOT = Path(__file__).resolve().parents[1]
MANY = (100, 1000)  # ensemble sizes measured on a GPU


def _models(k: int, device: str):
    from anchorvae.method.classifier import DigitClassifier
    from anchorvae.method.model import ModelConfig, build_vae

    torch.manual_seed(0)
    return [build_vae(ModelConfig()) for _ in range(k)], DigitClassifier().to(device).eval()


def _test_set(root: str):
    from anchorvae.data.mnist import as_flat_floats, load_mnist

    images, labels = load_mnist(root, train=False)
    return as_flat_floats(images), labels


def per_model(root: str, k: int, grid: int, device: str) -> tuple[float, float]:
    from per_model_eval import evaluate_one

    from anchorvae.pipeline.runtime import configure_cpu

    configure_cpu(0)
    (vaes, classifier), (images, labels) = _models(k, device), _test_set(root)
    start = time.perf_counter()
    for vae in vaes:
        evaluate_one(vae.to(device).eval(), classifier, images, labels, grid)
    return time.perf_counter() - start, _peak_memory(device)


def ensemble(root: str, k: int, grid: int, device: str) -> tuple[float, float]:
    from anchorvae.evaluation.evaluate import evaluate_seeds
    from anchorvae.pipeline.runtime import configure_cpu

    configure_cpu(0)
    (vaes, classifier), (images, labels) = _models(k, device), _test_set(root)
    start = time.perf_counter()
    evaluate_seeds(vaes, classifier, images, labels, grid, 2000, torch.device(device))
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, _peak_memory(device)


def training(root: str, k: int, batch: int, lr: float, epochs: int, device: str) -> tuple:
    """(seconds for ``epochs`` epochs of K seeds, from one timed epoch; peak GiB)."""
    per_model_epoch, _, peak = anchorvae_loop(root, 1, batch, lr, k, device)
    return per_model_epoch * k * epochs, peak


def study(seeds: int) -> float:
    """Seconds for every stage of dvc.yaml on ``seeds`` seeds per variant, without DVC."""
    start = time.perf_counter()
    override = f"seeds={list(range(seeds))}"
    subprocess.run([sys.executable, "tools/run_without_dvc.py", "-S", override], cwd=ROOT,
                   check=True)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default="data/mnist")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--device", default="cpu")
    p.add_argument("--study", action="store_true", help="also the 100-seed study end to end")
    args = p.parse_args()
    params = load_params(args.params)
    t, grid = params.train, params.evaluate.grid_size
    sizes = [len(params.seeds)] + (list(MANY) if args.device == "cuda" else [])
    print(f"torch {torch.__version__}, {args.device}, median of {args.repeats} runs")
    print(f"{'K':>5} {'per model s':>12} {'ensemble s':>11} {'speed-up':>9} {'training s':>11} "
          f"{'eval/train':>11} {'peak GiB':>9}")  # fmt: skip
    for k in sizes:
        runs = {
            "per model": (per_model, args.mnist, k, grid, args.device),
            "ensemble": (ensemble, args.mnist, k, grid, args.device),
            "training": (training, args.mnist, k, t.batch_size, t.lr, t.epochs, args.device),
        }
        if k > max(sizes[:1]):  # one model at a time is not worth the wait at 1,000
            runs.pop("per model")
        rounds = [{n: in_fresh_process(*r) for n, r in runs.items()} for _ in range(args.repeats)]
        median = {n: statistics.median(r[n][0] for r in rounds) for n in runs}
        peak = max(r["ensemble"][1] for r in rounds)
        alone = median.get("per model", float("nan"))
        print(f"{k:5d} {alone:12.2f} {median['ensemble']:11.2f} {alone / median['ensemble']:8.2f}x"
              f" {median['training']:11.1f} {median['ensemble'] / median['training']:11.3f}"
              f" {peak:9.2f}")  # fmt: skip
    print("target (2-core CPU): eval/train <= 0.15 at params seeds; GPU: 100-seed study <= 60 s")
    if args.study:
        print(
            f"study, 100 seeds x {len(params.variants)} variants, end to end: {study(100):.1f} s"
        )


if __name__ == "__main__":
    main()
