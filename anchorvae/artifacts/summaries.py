"""The summarize stage's per-model tables, in memory and as files: a row per model with its
scalar metrics (metrics/models.csv) and a row per model and digit with its centroid
(metrics/centroids.csv). A grid's report reads them back from experiments or a folder,
checked here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from anchorvae.artifacts.evaluations import code_columns
from anchorvae.digits import N_DIGITS
from anchorvae.errors import BadInputFile


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
            frame = pd.DataFrame(centroids, columns=code_columns(centroids.shape[1]))
            frame.insert(0, "digit", range(len(frame)))
            frame.insert(0, "seed", seed)
            frame.insert(0, "variant", variant)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def by_variant(models: pd.DataFrame, centroids: pd.DataFrame) -> dict[str, tuple]:
    """variant -> (per-seed metrics dicts, (n seeds, 10, D) centroids), seeds in the order
    of ``models``: what anchorvae/evaluation/summary.py takes, from the two tables above."""
    grouped = {}
    for variant, rows in models.groupby("variant", sort=False):
        metrics = rows.drop(columns=["model", "variant", "seed"]).to_dict("records")
        codes = centroids[centroids["variant"] == variant].set_index(["seed", "digit"])
        codes = codes.drop(columns="variant").sort_index()
        stacked = np.stack([codes.loc[seed].to_numpy() for seed in rows["seed"]])
        grouped[variant] = (metrics, torch.tensor(stacked))
    return grouped


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
