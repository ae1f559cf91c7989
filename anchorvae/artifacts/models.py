"""The files of one variant's trained models, written by `train`, read by later stages.

<folder>/seed<N>/model.pt  one checkpoint per seed (load_checkpoint rebuilds the model)
<folder>/history.csv       epoch, seed, loss, recon, kl: every seed's per-epoch losses
<folder>/anchors.json      the variant's anchor points (anchor_points.py)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import torch

from anchorvae.artifacts.anchor_points import write_anchor_points
from anchorvae.artifacts.checkpoints import build_model, read_checkpoint, write_checkpoint
from anchorvae.artifacts.tables import read_csv
from anchorvae.errors import BadInputFile, UsageError
from anchorvae.method.anchors import Layout
from anchorvae.method.m2 import build_generative
from anchorvae.method.model import VAE, ModelConfig

HISTORY = "history.csv"
HISTORY_COLUMNS = ("epoch", "seed", "loss", "recon", "kl")
SEED_FOLDER = re.compile(r"seed([0-9]+)")  # matched in full


def model_path(folder: str | Path, seed: int) -> Path:
    return Path(folder) / f"seed{seed}" / "model.pt"


def load_checkpoint(path, map_location: str | torch.device = "cpu") -> tuple[VAE, dict]:
    """Rebuild a VAE (a CVAE, M2) from a checkpoint file alone; returns (model in eval mode,
    checkpoint). A file that is not a VAE checkpoint stops with one line naming it."""
    checkpoint = read_checkpoint(path, map_location)
    model = build_model(
        Path(path), checkpoint, lambda c: build_generative(ModelConfig(**c)), "VAE"
    )
    return model, checkpoint


def save_models(
    folder: Path, state_dicts: Mapping[int, dict], history: Sequence[Mapping], variant: str,
    model_config: dict, points: torch.Tensor | None = None,
    purity: dict[str, float] | None = None, layout: Layout | None = None,
) -> None:  # fmt: skip
    """Write every seed's checkpoint (``state_dicts``: seed -> CPU state dict), the history
    (a record per seed and epoch, :data:`HISTORY_COLUMNS`) and the variant's anchor points
    (None for a plain VAE) with its template ``purity`` into ``folder`` (made atomic by
    the caller). Checkpoints hold no
    timings, so the same params give the same bytes."""
    last = {r["seed"]: r for r in history if r["epoch"] == history[-1]["epoch"]}
    for seed, state_dict in state_dicts.items():
        path = model_path(folder, seed)
        path.parent.mkdir(parents=True)
        record = last[seed]
        checkpoint = {
            "state_dict": state_dict,
            "model_config": model_config,
            "variant": variant,
            "seed": seed,
            "epoch": record["epoch"],
            "metrics": {"loss": record["loss"], "recon": record["recon"], "kl": record["kl"]},
        }
        write_checkpoint(checkpoint, path)
    table = pd.DataFrame(list(history), columns=list(HISTORY_COLUMNS))
    table.to_csv(Path(folder) / HISTORY, index=False, float_format="%.5f")
    write_anchor_points(folder, points, purity, layout)


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
    table = read_csv(path)
    missing = [c for c in HISTORY_COLUMNS if c not in table.columns]
    if missing or table.empty:
        what = f"no column {missing[0]}" if missing else "no rows"
        raise BadInputFile(f"{path} has {what}: not the train stage's (rerun it)")
    _check_every_epoch(path, table[list(HISTORY_COLUMNS)])
    return table


def _check_every_epoch(path: Path, table: pd.DataFrame) -> None:
    """Numbers in every cell, and each seed's epochs 1..E once each, E the same for every
    seed: a cut or edited history is refused, not plotted short."""
    numeric = all(pd.api.types.is_numeric_dtype(table[c]) for c in table.columns)
    if not numeric or table.isna().any().any():
        raise BadInputFile(f"{path} has empty or non-number cells: not the train stage's "
                           "(rerun it)")  # fmt: skip
    epochs = table.groupby("seed")["epoch"].apply(list)
    last = int(table["epoch"].max())
    for seed, listed in epochs.items():
        if listed != list(range(1, last + 1)):
            raise BadInputFile(f"{path}: seed {seed} has epochs {_span(listed)}, expected 1 to "
                               f"{last} once each: not the train stage's (rerun it)")  # fmt: skip


def _span(epochs: list) -> str:
    return f"{epochs[0]:g} to {epochs[-1]:g} ({len(epochs)} rows)" if epochs else "none"
