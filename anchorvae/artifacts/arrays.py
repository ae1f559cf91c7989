"""The .npy files: every score's anchor maps (the templates stage's) and a variant's
training-image scores (the scores stage's), each read back checked by shape, dtype and
finiteness, a BadInputFile naming the file otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from anchorvae.digits import SIDE
from anchorvae.errors import BadInputFile, UsageError


def save_maps(folder: str | Path, maps: dict[str, np.ndarray]) -> None:
    """Write each map as ``<name>.npy`` into ``folder`` (the caller makes it atomic)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    for name, image in maps.items():
        np.save(Path(folder) / f"{name}.npy", image)


class Maps(dict):
    """name -> flattened map; a map a score asks for and the folder lacks is one line
    naming its file (a KeyError deep in a score otherwise)."""

    def __init__(self, folder: Path, maps: dict[str, torch.Tensor]):
        super().__init__(maps)
        self.folder = folder

    def __missing__(self, name: str) -> torch.Tensor:
        raise UsageError(f"{self.folder / (name + '.npy')} is missing: rerun the templates "
                         "stage (`dvc repro templates`)")  # fmt: skip


def load_maps(folder: str | Path) -> Maps:
    """name -> flattened map (pixels,), as :func:`save_maps` wrote them into ``folder``."""
    if not Path(folder).is_dir():
        raise UsageError(f"{folder} is not a folder of anchor maps: run the templates stage")
    return Maps(Path(folder), {
        path.stem: torch.from_numpy(float_array(path, (SIDE, SIDE), "the templates stage"))
        .reshape(-1)
        for path in sorted(Path(folder).glob("*.npy"))
    })  # fmt: skip


def save_scores(path: str | Path, scores: torch.Tensor) -> None:
    """Write (N, S) scores as float32 into ``path`` (the caller makes it atomic)."""
    with open(path, "wb") as f:
        np.save(f, scores.numpy().astype(np.float32))


def load_scores(path: str | Path, n_images: int, n_scores: int) -> torch.Tensor:
    """The (N, S) scores of the scores stage, checked against the images and the anchors."""
    if not Path(path).is_file():
        raise UsageError(f"{path} cannot be read as scores (it is missing): run the scores stage")
    scores = float_array(path, None, "the scores stage for this variant")
    if scores.shape != (n_images, n_scores):
        raise UsageError(
            f"{path} holds scores of shape {scores.shape}, expected ({n_images}, {n_scores}): "
            "run the scores stage for this variant"
        )
    return torch.from_numpy(scores)


def float_array(path: Path, shape: tuple[int, ...] | None, writer: str) -> np.ndarray:
    """A float array of ``shape`` (any, if None) with finite values from ``path``."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{path} is not a .npy array ({reason}): run {writer}") from None
    if not np.issubdtype(array.dtype, np.floating) or (shape and array.shape != shape):
        raise BadInputFile(f"{path} holds {array.dtype} of shape {array.shape}, expected floats"
                           f"{f' of shape {shape}' if shape else ''}: run {writer}")  # fmt: skip
    if not np.isfinite(array).all():
        raise BadInputFile(f"{path} holds values that are not finite: run {writer}")
    return array
