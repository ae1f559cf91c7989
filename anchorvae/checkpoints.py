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
from anchorvae.errors import BadInputFile, UsageError

if TYPE_CHECKING:  # a type only: reading models must not depend on the trainer
    from anchorvae.train import TrainedSeeds

HISTORY = "history.csv"
ANCHORS = "anchors.json"
SEED_FOLDER = re.compile(r"^seed(\d+)$")


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


def read_anchor_points(folder: str | Path) -> torch.Tensor | None:
    """The (10, D) anchor points the train stage wrote into ``folder``; None for a plain
    VAE or a folder without them (models trained before the anchor decode existed)."""
    path = Path(folder) / ANCHORS
    if not path.is_file():
        return None
    try:
        points = json.loads(path.read_text())["points"]
        return None if points is None else torch.tensor(points, dtype=torch.float32)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise BadInputFile(f"{path} is not an anchors file ({err})") from None


def trained_seeds(folder: str | Path) -> list[int]:
    """The seeds that have a checkpoint in ``folder``, in ascending order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder of trained models: run the train stage")
    found = (SEED_FOLDER.match(p.name) for p in folder.iterdir())
    return sorted(
        int(m.group(1)) for m in found if m and model_path(folder, int(m.group(1))).is_file()
    )


def read_history(folder: str | Path) -> pd.DataFrame:
    """The per-epoch table (epoch, seed, loss, recon, kl) of one variant."""
    path = Path(folder) / HISTORY
    if not path.is_file():
        raise UsageError(f"{path} is missing: run the train stage")
    return pd.read_csv(path)
