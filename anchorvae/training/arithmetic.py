"""Which bytes this machine's arithmetic gives: the record a training stage writes beside
its models (made_on.json), so that committed outputs say what made them.

The math libraries choose their code paths by CPU, and the thread count decides how a
sum is split: the same params and seeds then train other bytes, and training's chaos
turns last bits into other metrics (docs/speed.md: MKL takes one path on an AMD EPYC and
another on an Intel Xeon whatever MKL_CBWR says). One epoch of the project's own trainer
on seeded noise, hashed, tells two such machines apart in a fraction of a second: equal
digests, the same arithmetic for these ops.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from anchorvae.method.model import ModelConfig, build_vae
from anchorvae.training.train import train_seeds

PROBE_IMAGES, PROBE_BATCH, PROBE_SEEDS = 256, 64, [0, 1]  # 4 steps of a 2-member ensemble


@dataclass(frozen=True)
class ProbeSchedule:
    epochs: int = 1
    batch_size: int = PROBE_BATCH
    lr: float = 1e-3


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name as the kernel reports it (``platform.processor()`` elsewhere)."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def fingerprint(architecture: str, device: torch.device) -> str:
    """12 hex digits of the weights one epoch of training gives ``architecture`` on noise
    drawn from a fixed seed, with this process's threads and math-library paths."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(PROBE_IMAGES, 784, generator=generator)
    scores = torch.rand(PROBE_IMAGES, 1, generator=generator)
    make_model = partial(build_vae, ModelConfig(architecture=architecture))
    trained = train_seeds(images, scores, PROBE_SEEDS, make_model, ProbeSchedule(),
                          torch.ones(1, 2), 2.0, device, name="arithmetic probe")  # fmt: skip
    digest = hashlib.md5()
    for state_dict in trained.state_dicts.values():
        for name, tensor in sorted(state_dict.items()):
            digest.update(name.encode() + tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def machine_record(architecture: str, device: torch.device) -> dict[str, str | int]:
    """What made a training stage's bytes: CPU (or GPU), threads, torch and the digest."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return {"device": name, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "arithmetic": fingerprint(architecture, device)}  # fmt: skip
