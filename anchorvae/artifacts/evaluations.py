"""The files of one model's evaluation, written by `evaluate`, read by `summarize` and
`plots` (here, and nowhere else).

<folder>/metrics.json   scalar metrics
<folder>/centroids.tsv  digit, z1..zD: mean code of each digit
<folder>/latent.csv     z1..zD, digit: encoder means of a fixed test subset
<folder>/grid.npy       uint8 (n, n, 28, 28) decoded grid (latent_dims = 2 only)
<folder>/anchors.npy    uint8 (2, 28, 28) decoded at the 0s' and the 1s' anchor points
<folder>/points.npy     uint8 (k, n, 28, 28) at each of a layout's k points: it, then samples
<folder>/points.csv     point, digit, read: each layout point's digit and its samples' read
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from anchorvae.artifacts.tables import read_csv, read_json
from anchorvae.digits import ANCHORED_DIGITS, N_DIGITS, SIDE
from anchorvae.errors import BadInputFile, UsageError


@dataclass
class Evaluation:
    """What the files of one model's evaluation hold."""

    metrics: dict  # scalar metrics of this model (anchorvae/evaluation/evaluate.py)
    centroids: torch.Tensor  # (10, latent_dims) mean code per digit
    sample_codes: torch.Tensor  # (sample_size, latent_dims) encoder means of a fixed subset
    sample_labels: torch.Tensor  # (sample_size,)
    grid_images: torch.Tensor | None  # (n, n, 28, 28) decoded grid, latent_dims = 2 only
    anchor_images: torch.Tensor | None = None  # (2, 28, 28) decoded at the 0s', 1s' points
    layout: LayoutDecodes | None = None  # a membership score's (or a CVAE's) k points


@dataclass
class LayoutDecodes:
    """What a model draws at a layout's k points (anchorvae/method/anchors.Layout)."""

    digits: torch.Tensor  # (k,) the digit each point stands for
    read: torch.Tensor  # (k,) the share of its samples read as that digit
    images: torch.Tensor  # (k, n, pixels) in [0, 1]: the point, then samples around it


def code_columns(dims: int) -> list[str]:
    return [f"z{i + 1}" for i in range(dims)]


def save_evaluation(folder: Path, evaluation: Evaluation) -> None:
    """Write into ``folder`` (the caller makes it atomic)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(evaluation.metrics, indent=2) + "\n")
    columns = code_columns(evaluation.centroids.shape[1])
    centroids = pd.DataFrame(evaluation.centroids.numpy(), columns=columns)
    centroids.insert(0, "digit", range(len(centroids)))
    centroids.to_csv(folder / "centroids.tsv", sep="\t", index=False, float_format="%.5f")
    sample = pd.DataFrame(evaluation.sample_codes.numpy(), columns=columns)
    sample["digit"] = evaluation.sample_labels.numpy()
    sample.to_csv(folder / "latent.csv", index=False, float_format="%.5f")
    for name, images in (("grid", evaluation.grid_images), ("anchors", evaluation.anchor_images)):
        if images is not None:
            np.save(folder / f"{name}.npy", as_bytes(images))
    if evaluation.layout is not None:
        layout = evaluation.layout
        k, n = layout.images.shape[:2]
        np.save(folder / "points.npy", as_bytes(layout.images.reshape(k, n, SIDE, SIDE)))
        table = pd.DataFrame({"point": range(k), "digit": layout.digits.numpy(),
                              "read": layout.read.numpy()})  # fmt: skip
        table.to_csv(folder / "points.csv", index=False, float_format="%.4f")


def as_bytes(images: torch.Tensor) -> np.ndarray:
    """Images in [0, 1] as uint8 pixels, how they are stored."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


ALWAYS_WRITTEN = {"placed", "test_recon", "test_kl"}  # by evaluate, for every model


def load_result(folder: Path) -> dict:
    """{"metrics": dict, "centroids": (10, D) tensor} of one evaluated model; a file that
    is missing is a UsageError, one that is not what `evaluate` writes a BadInputFile."""
    paths = [folder / "metrics.json", folder / "centroids.tsv"]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path} is missing: run the evaluate stage first")
    metrics = read_json(paths[0])
    if isinstance(metrics, dict) and not ALWAYS_WRITTEN <= metrics.keys():
        lacks = sorted(ALWAYS_WRITTEN - metrics.keys())[0]
        raise BadInputFile(f"{paths[0]} lacks {lacks!r}: not the evaluate stage's metrics "
                           "(rerun it)")  # fmt: skip
    if not isinstance(metrics, dict) or not all(_is_number(v) for v in metrics.values()):
        raise BadInputFile(f"{paths[0]}: not the evaluate stage's metrics (a mapping of "
                           "numbers): rerun it")  # fmt: skip
    _check_finite(paths[0], metrics)
    _check_meaning(paths[0], metrics)
    centroids = read_csv(paths[1], sep="\t")
    columns = ["digit", *code_columns(len(centroids.columns) - 1)]
    if list(centroids.columns) != columns or len(centroids) != N_DIGITS or not all(
        pd.api.types.is_numeric_dtype(centroids[c]) for c in columns
    ):  # fmt: skip
        raise BadInputFile(f"{paths[1]}: not the evaluate stage's centroids ({N_DIGITS} rows "
                           f"of digit, z1..zD numbers): rerun it")  # fmt: skip
    codes = centroids.set_index("digit").to_numpy()
    if list(centroids["digit"]) != list(range(N_DIGITS)) or not np.isfinite(codes).all():
        raise BadInputFile(f"{paths[1]}: not the evaluate stage's centroids (digits 0..9 in "
                           "order, finite codes): rerun it")  # fmt: skip
    return {"metrics": metrics, "centroids": torch.tensor(codes)}


def check_same_metrics(results: dict[int, dict], folder: Path) -> None:
    """Every seed of a variant evaluated alike (``results``: seed -> :func:`load_result`): a
    metrics.json that lacks a key the other seeds have, or has one they lack, was not
    written by the same evaluate run, and would be summarised into the wrong numbers."""
    seeds = list(results)
    first = set(results[seeds[0]]["metrics"])
    for seed in seeds[1:]:
        keys = set(results[seed]["metrics"])
        if keys != first:
            odd = sorted(first - keys) or sorted(keys - first)
            what = "lacks" if first - keys else "has"
            raise BadInputFile(f"{folder / f'seed{seed}' / 'metrics.json'} {what} {odd[0]!r}, "
                               f"unlike seed{seeds[0]}'s: not the evaluate stage's (rerun "
                               "it)")  # fmt: skip


def _is_number(value) -> bool:
    return isinstance(value, (int, float))  # a bool is an int: a flag such as placed


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


# What each number of a model's metrics.json means (evaluation/evaluate.py writes them):
# a file of the right types but wrong numbers ("placed": 5, a share of 7.0) is refused,
# not summarised into a count over its total or a share over 1.
FLAG, SHARE, NON_NEGATIVE = "true or false", "a share in [0, 1]", "a finite number >= 0"
MEANING = {
    "placed": FLAG, "aligned": FLAG, "same_points": FLAG,
    "test_recon": NON_NEGATIVE, "test_kl": NON_NEGATIVE, "anchor_distance": NON_NEGATIVE,
    "digits_covered": NON_NEGATIVE,
    **dict.fromkeys(MAY_BE_NAN + ("grid_zero_purity", "grid_one_purity", "recon_accuracy",
                                  "anchor_point_read", "anchor_decode", "own_label_accuracy",
                                  "template_purity_zero", "template_purity_one", "point_read",
                                  "point_read_min", "cluster_accuracy"), SHARE),
}  # fmt: skip


def _fits(value, meaning: str) -> bool:
    if meaning == FLAG:
        return isinstance(value, bool)
    if isinstance(value, bool) or math.isnan(value):
        return False  # a NaN share where allowed was let through by _check_finite's caller
    return 0 <= value <= 1 if meaning == SHARE else 0 <= value < math.inf


def _check_meaning(path: Path, metrics: dict) -> None:
    for key, value in metrics.items():
        meaning = MEANING.get(key)
        if meaning is None:
            raise BadInputFile(f"{path}: {key!r} is not a number the evaluate stage writes: "
                               "rerun it")  # fmt: skip
        if key in MAY_BE_NAN and isinstance(value, float) and math.isnan(value):
            continue  # no test image of that digit
        if not _fits(value, meaning):
            raise BadInputFile(f"{path}: {key} = {value!r} is invalid: expected {meaning} "
                               "(rerun the evaluate stage)")  # fmt: skip


def load_sample(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(codes (N, D), digit labels (N,), decoded grid or None) of one evaluated model."""
    path = folder / "latent.csv"
    if not path.is_file():
        raise UsageError(f"{path} is missing: run the evaluate stage first")
    sample = read_csv(path)
    codes = [c for c in sample.columns if c != "digit"]
    if "digit" not in sample or not codes or sample.empty or sample.isna().any().any() or not all(
        pd.api.types.is_numeric_dtype(sample[c]) for c in sample.columns
    ):  # fmt: skip
        raise BadInputFile(f"{path}: not the evaluate stage's sample (rows of z1..zD, digit "
                           "numbers, none empty): rerun it")  # fmt: skip
    grid_file = folder / "grid.npy"
    grid = _grid(grid_file) if grid_file.exists() else None
    return sample[codes].to_numpy(), sample["digit"].to_numpy(), grid


def _grid(path: Path) -> np.ndarray:
    try:
        grid = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{path} is not a .npy array ({reason}): rerun evaluate") from None
    if grid.dtype != np.uint8 or grid.ndim != 4 or grid.shape[0] != grid.shape[1] or (
        grid.shape[2:] != (SIDE, SIDE)
    ):  # fmt: skip
        raise BadInputFile(f"{path} holds {grid.dtype} of shape {grid.shape}, expected uint8 "
                           "(n, n, 28, 28): rerun the evaluate stage")  # fmt: skip
    return grid


ANCHOR_IMAGES = "data/eval/{variant}/seed{seed}/anchors.npy"  # as dvc.yaml places them


def anchor_images(data: bytes, where: str) -> np.ndarray:
    """The uint8 (2, 28, 28) images an evaluation drew at the 0s' and 1s' anchor points, from
    the bytes of its anchors.npy; BadInputFile naming ``where`` if they are not."""
    try:
        images = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{where} is not a .npy array ({reason}): rerun evaluate") from None
    expected = (len(ANCHORED_DIGITS), SIDE, SIDE)
    if images.dtype != np.uint8 or images.shape != expected:
        raise BadInputFile(f"{where} holds {images.dtype} of shape {images.shape}, expected "
                           f"uint8 {expected}: rerun evaluate")  # fmt: skip
    return images


POINT_IMAGES = "data/eval/{variant}/seed{seed}/points.npy"  # as dvc.yaml places them
POINT_READS = "data/eval/{variant}/seed{seed}/points.csv"


def point_pictures(data: bytes, reads: str, where: str) -> tuple[np.ndarray, pd.DataFrame]:
    """(uint8 (k, n, 28, 28) images, a table of point, digit, read) an evaluation drew at a
    layout's k points, from the bytes of its points.npy and the text of its points.csv;
    BadInputFile naming ``where`` if they are not the evaluate stage's."""
    try:
        images = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        reason = " ".join(str(err).split())[:80]
        raise BadInputFile(f"{where} is not a .npy array ({reason}): rerun evaluate") from None
    table = read_csv(io.StringIO(reads), where)
    fits = images.dtype == np.uint8 and images.ndim == 4 and images.shape[2:] == (SIDE, SIDE)
    columns = list(table.columns) == ["point", "digit", "read"] and len(table) == len(images)
    if not fits or not columns or not table["read"].between(0, 1).all():
        raise BadInputFile(f"{where}: points.npy and points.csv are not the evaluate stage's "
                           "(uint8 (k, n, 28, 28), and k rows of point, digit, read in [0, 1]): "
                           "rerun it")  # fmt: skip
    return images, table
