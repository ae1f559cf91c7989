"""MNIST as in-memory tensors, read from the raw IDX files in torchvision's layout.

The files are read here with NumPy (a checked header, then the bytes) rather than through
torchvision.datasets.MNIST: importing torchvision costs every stage process about a
second (measured), and the header checks below are needed for one-line errors anyway.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from anchorvae.digits import PIXELS, SIDE
from anchorvae.errors import BadInputFile, UsageError

if TYPE_CHECKING:
    import torch


def raw_dir(root: str | Path) -> Path:
    """Where torchvision.datasets.MNIST(root) looks for the raw files."""
    return Path(root) / "MNIST" / "raw"


IDX_UBYTE = 0x08  # IDX type code of unsigned bytes
SHAPES = {"images": (SIDE, SIDE), "labels": ()}  # per-item shape in each kind of file


def idx_count(path: Path, kind: str) -> int:
    """Number of items in the raw IDX file ``path`` of ``kind``, after checking its header
    and size; BadInputFile naming the file if they are not an MNIST IDX file's."""
    item_shape = SHAPES[kind]
    ndim = 1 + len(item_shape)
    if not path.is_file():
        raise UsageError(f"{path} is missing: run the download stage")
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(4 + 4 * ndim)
    if len(header) < 4 + 4 * ndim or header[:4] != bytes([0, 0, IDX_UBYTE, ndim]):
        raise BadInputFile(
            f"{path} is not an MNIST {kind} file: expected an IDX header of unsigned bytes "
            f"with {ndim} dimension(s) ({size} bytes read)"
        )
    dims = struct.unpack(f">{ndim}I", header[4:])
    if tuple(dims[1:]) != item_shape or size != len(header) + math.prod(dims):
        raise BadInputFile(
            f"{path} is not an MNIST {kind} file: its header says {dims}, its size is {size} "
            f"bytes (expected {len(header) + math.prod(dims)} and items of shape {item_shape})"
        )
    return dims[0]


def check_split(root: str | Path, train: bool) -> None:
    """The images and labels file of a split have good headers and as many items."""
    prefix = "train" if train else "t10k"
    raw = raw_dir(root)
    images = idx_count(raw / f"{prefix}-images-idx3-ubyte", "images")
    labels = idx_count(raw / f"{prefix}-labels-idx1-ubyte", "labels")
    if images != labels or images == 0:
        raise BadInputFile(
            f"{raw}: {prefix} has {images} images and {labels} labels: expected as many, > 0"
        )


def read_idx(path: Path, kind: str) -> np.ndarray:
    """The items of a checked raw IDX file: uint8 (N, *SHAPES[kind])."""
    count = idx_count(path, kind)
    header = 4 + 4 * (1 + len(SHAPES[kind]))
    return np.fromfile(path, dtype=np.uint8, offset=header).reshape(count, *SHAPES[kind])


def load_mnist(root: str | Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels): uint8 (N, 28, 28) and int64 (N,) from ``root``'s raw files, as
    torchvision.datasets.MNIST(root, train) gives them."""
    import torch

    images, labels = load_mnist_arrays(root, train)
    return torch.from_numpy(images), torch.from_numpy(labels)


def load_mnist_arrays(root: str | Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`load_mnist` as NumPy arrays, without importing torch (seconds a process)."""
    if not raw_dir(root).is_dir():
        raise UsageError(f"no MNIST files under {raw_dir(root)}: run the download stage")
    check_split(root, train)
    prefix = "train" if train else "t10k"
    images = read_idx(raw_dir(root) / f"{prefix}-images-idx3-ubyte", "images")
    labels = read_idx(raw_dir(root) / f"{prefix}-labels-idx1-ubyte", "labels")
    return images, labels.astype(np.int64)


def as_flat_floats(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 784) in [0, 1], the model's input."""
    return images.reshape(len(images), PIXELS).float().div_(255.0)
