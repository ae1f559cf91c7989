"""The files of one variant's trained models, written by `train`, read by later stages.

<folder>/seed<N>/model.pt  one checkpoint per seed (load_checkpoint rebuilds the model)
<folder>/history.csv       epoch, seed, loss, recon, kl: every seed's per-epoch losses
<folder>/anchors.json      {"points": (10, D) anchor point of each digit, or null}
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import torch

from anchorvae.checkpoint_file import write_checkpoint
from anchorvae.digits import ANCHORED_DIGITS, N_DIGITS
from anchorvae.errors import BadInputFile, UsageError

if TYPE_CHECKING:  # a type only: reading models must not depend on the trainer
    from anchorvae.train import TrainedSeeds

HISTORY = "history.csv"
ANCHORS = "anchors.json"
SEED_FOLDER = re.compile(r"seed([0-9]+)")  # matched in full


def model_path(folder: str | Path, seed: int) -> Path:
    return Path(folder) / f"seed{seed}" / "model.pt"


def save_models(
    folder: Path, trained: TrainedSeeds, variant: str, model_config: dict,
    points: torch.Tensor | None = None,
) -> None:  # fmt: skip
    """Write every seed's checkpoint, the history and the variant's anchor points (None
    for a plain VAE) into ``folder`` (made atomic by the caller). Checkpoints hold no
    timings, so the same params give the same bytes."""
    last = {r.seed: r for r in trained.history if r.epoch == trained.history[-1].epoch}
    for seed, state_dict in trained.state_dicts.items():
        path = model_path(folder, seed)
        path.parent.mkdir(parents=True)
        record = last[seed]
        checkpoint = {
            "state_dict": state_dict,
            "model_config": model_config,
            "variant": variant,
            "seed": seed,
            "epoch": record.epoch,
            "metrics": {"loss": record.loss, "recon": record.recon, "kl": record.kl},
        }
        write_checkpoint(checkpoint, path)
    history = pd.DataFrame([dataclasses.asdict(r) for r in trained.history])
    history.to_csv(Path(folder) / HISTORY, index=False, float_format="%.5f")
    listed = None if points is None else points.tolist()
    (Path(folder) / ANCHORS).write_text(json.dumps({"points": listed}, indent=1) + "\n")


def read_anchor_points(folder: str | Path, latent_dims: int) -> torch.Tensor | None:
    """The (10, latent_dims) anchor points the train stage wrote into ``folder``, None
    where it wrote ``null`` (a plain VAE). A missing file, or points of another shape or
    not finite where a digit is decoded, is a BadInputFile naming the file."""
    path = Path(folder) / ANCHORS
    try:
        points = json.loads(path.read_text())["points"]
        if points is None:
            return None
        points = torch.tensor(points, dtype=torch.float64)
    except FileNotFoundError:
        raise BadInputFile(f"{path} is missing: run the train stage") from None
    except (OSError, ValueError, KeyError, TypeError, OverflowError, RuntimeError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{path} is not an anchors file ({reason})") from None
    _check_points(path, points, latent_dims)
    return points.float()


def _check_points(path: Path, points: torch.Tensor, latent_dims: int) -> None:
    """(10, D) points, finite in the decoded digits' rows; a row of NaN is allowed for a
    digit that had no training image (anchorvae.anchors.anchor_points), inf nowhere."""
    expected = (N_DIGITS, latent_dims)
    if tuple(points.shape) != expected:
        raise BadInputFile(f"{path} holds points of shape {tuple(points.shape)}, expected "
                           f"{expected} (a point per digit): run the train stage")  # fmt: skip
    decoded = points[list(ANCHORED_DIGITS)]
    rows_ok = points.isfinite().all(dim=1) | points.isnan().all(dim=1)
    if not decoded.isfinite().all() or not rows_ok.all():
        raise BadInputFile(f"{path} holds points that are not finite numbers: run the train "
                           "stage")  # fmt: skip


def variant_of(checkpoint: dict, path: str | Path) -> str:
    """The name of the variant that trained a checkpoint (save_models writes it)."""
    name = checkpoint.get("variant")
    if not isinstance(name, str):
        raise BadInputFile(f"{path} names no variant: not a checkpoint of the train stage")
    return name


def trained_seeds(folder: str | Path) -> list[int]:
    """The seeds that have a checkpoint in ``folder``, in ascending order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder of trained models: run the train stage")
    found = (SEED_FOLDER.fullmatch(p.name) for p in folder.iterdir())
    return sorted(
        int(m.group(1)) for m in found if m and model_path(folder, int(m.group(1))).is_file()
    )


def read_history(folder: str | Path) -> pd.DataFrame:
    """The per-epoch table (epoch, seed, loss, recon, kl) of one variant."""
    path = Path(folder) / HISTORY
    if not path.is_file():
        raise UsageError(f"{path} is missing: run the train stage")
    return pd.read_csv(path)
