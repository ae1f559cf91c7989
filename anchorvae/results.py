"""The files of one model's evaluation, written by `evaluate` and read by `summarize`.

<folder>/metrics.json   scalar metrics
<folder>/centroids.tsv  digit, z1..zD: mean code of each digit
<folder>/latent.csv     z1..zD, digit: encoder means of a fixed test subset
<folder>/grid.npy       uint8 (n, n, 28, 28) decoded grid (latent_dims = 2 only)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from anchorvae.digits import N_DIGITS
from anchorvae.errors import BadInputFile, UsageError

if TYPE_CHECKING:  # a type only: summaries and plots must not depend on the evaluation code
    from anchorvae.evaluate import Evaluation


def _code_columns(dims: int) -> list[str]:
    return [f"z{i + 1}" for i in range(dims)]


def save_evaluation(folder: Path, evaluation: Evaluation) -> None:
    """Write into ``folder`` (the caller makes it atomic)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(evaluation.metrics, indent=2) + "\n")
    columns = _code_columns(evaluation.centroids.shape[1])
    centroids = pd.DataFrame(evaluation.centroids.numpy(), columns=columns)
    centroids.insert(0, "digit", range(len(centroids)))
    centroids.to_csv(folder / "centroids.tsv", sep="\t", index=False, float_format="%.5f")
    sample = pd.DataFrame(evaluation.sample_codes.numpy(), columns=columns)
    sample["digit"] = evaluation.sample_labels.numpy()
    sample.to_csv(folder / "latent.csv", index=False, float_format="%.5f")
    if evaluation.grid_images is not None:
        pixels = (evaluation.grid_images.clamp(0, 1) * 255).round().to(torch.uint8)
        np.save(folder / "grid.npy", pixels.numpy())


def load_result(folder: Path) -> dict:
    """{"metrics": dict, "centroids": (10, D) tensor} of one evaluated model."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
        centroids = pd.read_csv(folder / "centroids.tsv", sep="\t").set_index("digit")
    except FileNotFoundError as err:
        raise UsageError(f"{err.filename} is missing: run the evaluate stage first") from None
    _check_finite(folder / "metrics.json", metrics)
    return {"metrics": metrics, "centroids": torch.tensor(centroids.to_numpy())}


# A share of a digit's test images is NaN where the test set has none of that digit (the
# same for every model); any other number that is not finite is a broken model.
MAY_BE_NAN = ("zeros_in_corner", "ones_in_corner", "zeros_on_side", "ones_on_side")


def _check_finite(path: Path, metrics: dict) -> None:
    for key, value in metrics.items():
        if key not in MAY_BE_NAN and isinstance(value, float) and not math.isfinite(value):
            raise BadInputFile(
                f"{path}: {key} = {value} is not finite: the model is broken, not a result "
                "(retrain it)"
            )


def model_table(results: dict[str, dict[int, dict]]) -> pd.DataFrame:
    """One row per model (variant, seed) with its scalar metrics."""
    rows = [
        {"model": f"{variant}/seed{seed}", "variant": variant, "seed": seed, **result["metrics"]}
        for variant, by_seed in results.items()
        for seed, result in by_seed.items()
    ]
    return pd.DataFrame(rows)


def centroid_table(results: dict[str, dict[int, dict]]) -> pd.DataFrame:
    """One row per (variant, seed, digit) with the digit's mean code z1..zD."""
    frames = []
    for variant, by_seed in results.items():
        for seed, result in by_seed.items():
            centroids = result["centroids"].numpy()
            frame = pd.DataFrame(centroids, columns=_code_columns(centroids.shape[1]))
            frame.insert(0, "digit", range(len(frame)))
            frame.insert(0, "seed", seed)
            frame.insert(0, "variant", variant)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def by_variant(models: pd.DataFrame, centroids: pd.DataFrame) -> dict[str, tuple]:
    """variant -> (per-seed metrics dicts, (n seeds, 10, D) centroids), seeds in the order
    of ``models``: what anchorvae.summary takes, from the two tables above."""
    grouped = {}
    for variant, rows in models.groupby("variant", sort=False):
        metrics = rows.drop(columns=["model", "variant", "seed"]).to_dict("records")
        codes = centroids[centroids["variant"] == variant].set_index(["seed", "digit"])
        codes = codes.drop(columns="variant").sort_index()
        stacked = np.stack([codes.loc[seed].to_numpy() for seed in rows["seed"]])
        grouped[variant] = (metrics, torch.tensor(stacked))
    return grouped


def load_sample(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(codes (N, D), digit labels (N,), decoded grid or None) of one evaluated model."""
    sample = pd.read_csv(folder / "latent.csv")
    grid_file = folder / "grid.npy"
    grid = np.load(grid_file) if grid_file.exists() else None
    return sample.drop(columns="digit").to_numpy(), sample["digit"].to_numpy(), grid


MODEL_COLUMNS = ("model", "variant", "seed", "placed")
CENTROID_COLUMNS = ("variant", "seed", "digit", "z1")
NUMBERS = ("seed", "placed", "digit", "z1")  # columns that hold numbers, not names


def check_tables(models: pd.DataFrame, centroids: pd.DataFrame, where: str) -> None:
    """BadInputFile naming ``where`` unless both are summarize's tables of the same
    models: their columns, some rows, ten digits and no empty cell per model."""
    named = (("models.csv", models, MODEL_COLUMNS), ("centroids.csv", centroids, CENTROID_COLUMNS))
    for name, table, columns in named:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise BadInputFile(f"{where}: {name} has no column {missing[0]}: not summarize's")
        if table.empty:
            raise BadInputFile(f"{where}: {name} has no rows")
        if table.isna().any().any() and name == "centroids.csv":
            raise BadInputFile(f"{where}: {name} has empty cells (a truncated copy?)")
        for column in (c for c in columns if c in NUMBERS):
            if not pd.api.types.is_numeric_dtype(table[column]):
                text = next(v for v in table[column] if isinstance(v, str))
                raise BadInputFile(f"{where}: {name} column {column} holds {text[:20]!r}, "
                                   "expected numbers: not summarize's")  # fmt: skip
    in_models = set(zip(models["variant"], models["seed"], strict=True))
    in_centroids = set(zip(centroids["variant"], centroids["seed"], strict=True))
    if in_models != in_centroids:
        raise BadInputFile(
            f"{where}: models.csv and centroids.csv list different models ({len(in_models)} "
            f"and {len(in_centroids)}): copy both from one run"
        )
    if (centroids.groupby(["variant", "seed"]).size() != N_DIGITS).any():
        raise BadInputFile(f"{where}: centroids.csv lacks digits: expected {N_DIGITS} per model")
