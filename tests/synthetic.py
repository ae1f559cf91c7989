"""Tiny synthetic MNIST: IDX files made here, so no test needs the network."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np

IDX_UBYTE = 0x08  # IDX type code of unsigned bytes


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic, big-endian dims, then the data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, IDX_UBYTE, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def digit_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 images: even indices a ring ('0'), odd a vertical bar ('1'), plus noise.

    Labels cycle through 0..9 so every class exists; images of labels other than 0/1
    are blobs at a label-dependent place.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    labels = np.arange(n) % 10
    images = np.zeros((n, 28, 28), dtype=np.float64)
    for i, label in enumerate(labels):
        if label == 0:
            radius = np.hypot(yy - 14, xx - 14)
            images[i] = np.exp(-((radius - 8 - rng.normal(0, 0.5)) ** 2) / 4)
        elif label == 1:
            images[i] = np.exp(-((xx - 14 - rng.normal(0, 1)) ** 2) / 3) * (abs(yy - 14) < 11)
        else:
            cy, cx = 6 + 2 * label, 20 - 1.5 * label
            images[i] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18)
    images += rng.uniform(0, 0.05, images.shape)
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels.astype(np.uint8)


def synthetic_raw_files(n_train: int = 200, n_test: int = 100) -> dict[str, bytes]:
    """The four raw MNIST files (torchvision's names) as bytes."""
    train_x, train_y = digit_images(n_train, seed=1)
    test_x, test_y = digit_images(n_test, seed=2)
    return {
        "train-images-idx3-ubyte": idx_bytes(train_x),
        "train-labels-idx1-ubyte": idx_bytes(train_y),
        "t10k-images-idx3-ubyte": idx_bytes(test_x),
        "t10k-labels-idx1-ubyte": idx_bytes(test_y),
    }


def pins_of(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def write_raw_files(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` under root/MNIST/raw (torchvision's layout); returns that folder."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (raw / name).write_bytes(data)
    return raw
