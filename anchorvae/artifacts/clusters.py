"""The clusters stage's folder, written there and read (checked) here and nowhere else.

<clusters>/memberships.npy  float32 (N, k): each training image's memberships, rows sum to 1
<clusters>/means.npy        float32 (k, 28, 28) in [0, 1]: each cluster's mean image
<clusters>/clusters.json    what made them (features, method, k, seed, ...), their order
                            rule, mean ink and sizes
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from anchorvae.artifacts.atomic import write_json
from anchorvae.digits import SIDE
from anchorvae.errors import BadInputFile, UsageError
from anchorvae.method.clusters import Clusters

if TYPE_CHECKING:  # the clusters stage writes without torch (seconds a process)
    import torch

MEMBERSHIPS, MEANS, RECORD = "memberships.npy", "means.npy", "clusters.json"
WRITER = "the clusters stage (`dvc repro clusters`)"
CLUSTER_MEANS = "data/clusters/means.npy"  # as dvc.yaml places them


def save_clusters(folder: str | Path, clusters: Clusters) -> None:
    """Write ``clusters`` into ``folder`` (the caller makes it atomic)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    np.save(Path(folder) / MEMBERSHIPS, clusters.memberships.astype(np.float32))
    np.save(Path(folder) / MEANS, clusters.means.astype(np.float32))
    write_json(Path(folder) / RECORD, clusters.record)


def load_memberships(folder: str | Path, n_images: int) -> torch.Tensor:
    """(N, k) memberships of the ``n_images`` training images, rows summing to 1 (k = 0:
    none); BadInputFile naming the file if they are not."""
    import torch

    from anchorvae.artifacts.arrays import float_array

    path = Path(folder) / MEMBERSHIPS
    if not path.is_file():
        raise UsageError(f"{path} is missing: run {WRITER}")
    memberships = float_array(path, None, WRITER)
    k = memberships.shape[1] if memberships.ndim == 2 else -1
    if memberships.ndim != 2 or len(memberships) != n_images or k == 1:
        raise BadInputFile(f"{path} holds memberships of shape {memberships.shape}, expected "
                           f"({n_images}, k), k = 0 or >= 2: run {WRITER}")  # fmt: skip
    rows = memberships.astype(np.float64).sum(axis=1)
    if k and ((memberships < 0).any() or not np.allclose(rows, 1, atol=1e-4)):
        raise BadInputFile(f"{path} holds rows that are not memberships (>= 0, summing to 1): "
                           f"run {WRITER}")  # fmt: skip
    return torch.from_numpy(memberships)


def cluster_means(data: bytes, where: str) -> np.ndarray:
    """The (k, 28, 28) mean images of a clusters folder's means.npy, from its bytes (an
    experiment's); BadInputFile naming ``where`` if they are not."""
    try:
        means = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{where} is not a .npy array ({reason}): run {WRITER}") from None
    if means.dtype != np.float32 or means.ndim != 3 or means.shape[1:] != (SIDE, SIDE) or not (
        np.isfinite(means).all()
    ):  # fmt: skip
        raise BadInputFile(f"{where} holds {means.dtype} of shape {means.shape}, expected finite "
                           f"float32 (k, {SIDE}, {SIDE}): run {WRITER}")  # fmt: skip
    return means
