"""The same bytes on every x86-64 CPU with AVX2: a stage pins the math libraries' paths.

An AVX2-only machine is simulated here by capping what ATen, oneDNN and MKL may use; on
an AVX-512 machine the uncapped libraries took other paths (and the classifier's weights
came out different) until stages/_bootstrap.py pinned them.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from synthetic import synthetic_raw_files, write_raw_files

ROOT = Path(__file__).resolve().parents[1]
AVX2_MACHINE = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                "MKL_ENABLE_INSTRUCTIONS": "AVX2"}  # fmt: skip
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(" avx2" not in Path("/proc/cpuinfo").read_text(errors="ignore")
                       if Path("/proc/cpuinfo").exists() else True, reason="needs x86 AVX2"),
]  # fmt: skip


def stage(name: str, args: list[str], work: Path, env: dict) -> None:
    clean = {k: v for k, v in os.environ.items()
             if k not in (*AVX2_MACHINE, "MKL_CBWR", "ANCHORVAE_THREADS")}  # fmt: skip
    done = subprocess.run([sys.executable, str(ROOT / "stages" / f"{name}.py"), *args,
                           "--params", str(work / "params.yaml")], cwd=work,
                          capture_output=True, text=True, env={**clean, **env})  # fmt: skip
    assert done.returncode == 0, done.stderr


def digests(work: Path, env: dict, tag: str) -> dict[str, str]:
    """Train the classifier and one variant's VAEs under ``env``; sha256 of what they wrote."""
    outs = {"classifier": work / tag / "classifier.pt", "vae": work / tag / "vae"}
    stage("classifier", ["--mnist", str(work / "mnist"), "--out", str(outs["classifier"]),
                         "--metrics", str(work / tag / "c.json")], work, env)  # fmt: skip
    stage(
        "train",
        ["baseline", str(work / "mnist"), str(work / "scores.npy"), str(outs["vae"])],
        work,
        env,
    )
    files = [
        outs["classifier"],
        outs["vae"] / "seed0" / "model.pt",
        outs["vae"] / "seed1" / "model.pt",
    ]
    return {
        f.name + str(i): hashlib.sha256(f.read_bytes()).hexdigest() for i, f in enumerate(files)
    }


def test_outputs_are_the_same_bytes_on_an_avx2_machine(tmp_path):
    write_raw_files(tmp_path / "mnist", synthetic_raw_files(n_train=400, n_test=50))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update(epochs=1, batch_size=64)
    params["classifier"].update(epochs=1, batch_size=32)
    params["seeds"] = [0, 1]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    np.save(tmp_path / "scores.npy", np.zeros((400, 0), np.float32))
    here = digests(tmp_path, {}, "here")
    assert digests(tmp_path, AVX2_MACHINE, "avx2") == here
