"""Training under MKL's COMPATIBLE branch against the AVX2 branch the stages pin: seconds
per model-epoch and the arithmetic digest of each, measured in one run.

    python benchmarks/mkl_branch.py [--mnist data/mnist] [--epochs 2] [--repeats 2]
                                    [--params params.yaml]

MKL documents COMPATIBLE as the branch that gives the same results on every x86-64 CPU
(Intel's and others'); the AVX2 branch the stages pin (stages/_bootstrap.py) is followed
on Intel CPUs only: an AMD EPYC takes its own path whatever MKL_CBWR says, except
COMPATIBLE. Issue 42's rule: pin COMPATIBLE only if training costs at most 1.25x with it.
Each measurement is the project's trainer (train_speed.anchorvae_loop, K = params.yaml's
seeds) in a fresh process, the branches interleaved round by round.
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch
from train_speed import anchorvae_loop, in_fresh_process

from anchorvae.pipeline.params_file import load_params

PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}  # as the stages
BRANCHES = ("AVX2", "COMPATIBLE")
TARGET = 1.25


def digest(architecture: str = "mlp") -> str:
    from anchorvae.training.arithmetic import fingerprint

    torch.set_num_threads(2)  # the stages' default ANCHORVAE_THREADS
    return fingerprint(architecture, torch.device("cpu"))


def under(branch: str, fn, *args):
    """``fn(*args)`` in a fresh process whose MKL takes ``branch`` (read at MKL's start)."""
    saved = dict(os.environ)
    os.environ.update(PINNED, MKL_CBWR=branch, OMP_NUM_THREADS="2")
    try:
        return in_fresh_process(fn, *args)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default="data/mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2, help="fresh processes per branch")
    p.add_argument("--params", default="params.yaml", help="train.batch_size, lr and seeds")
    args = p.parse_args()
    params = load_params(args.params)
    batch, lr, k = params.train.batch_size, params.train.lr, len(params.seeds)
    run = (anchorvae_loop, args.mnist, args.epochs, batch, lr, k, "cpu")
    seconds = {branch: [] for branch in BRANCHES}
    for _ in range(args.repeats):  # interleaved: a slow spell hits both branches
        for branch in BRANCHES:
            seconds[branch].append(under(branch, *run)[0])
    print(f"torch {torch.__version__}, cpu, 2 threads, K = {k}, epochs={args.epochs}, "
          f"median of {args.repeats} runs per branch")  # fmt: skip
    print(f"{'MKL_CBWR':<12} {'s/model-epoch (min-max)':>26} {'x AVX2':>7}  arithmetic")
    base = statistics.median(seconds["AVX2"])
    for branch in BRANCHES:
        times = seconds[branch]
        median = statistics.median(times)
        print(f"{branch:<12} {median:>9.3f} ({min(times):.3f}-{max(times):.3f}){'':>4} "
              f"{median / base:>6.2f}x  {under(branch, digest)}")  # fmt: skip
    print(f"target: COMPATIBLE within {TARGET}x of AVX2 to be pinned (issue 42)")


if __name__ == "__main__":
    main()
