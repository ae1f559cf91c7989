"""A grid: one question asked across trained models, declared in grids.yaml.

Each cell is the workspace's params with one value of each axis set (every combination,
each axis varied alone from the workspace's value, or the axes' i-th values together), the
grid's variants kept and its
seeds trained: nothing but `dvc exp run -S` values, run as one queued DVC experiment
named ``<grid>-<what differs>`` (``<grid>-base`` for the workspace's own values). Read
back, a grid is one table: a row per cell and variant, every statistic of the summarize
stage's ``metrics/details.json`` flattened beside the cell's axis values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from anchorvae.artifacts.summaries import by_variant
from anchorvae.errors import BadInputFile, StageFailure, UsageError
from anchorvae.evaluation.metrics import BY_KEY
from anchorvae.evaluation.summary import summarize
from anchorvae.method.scores import declared_scales
from anchorvae.pipeline.grid_params import GridParams
from anchorvae.pipeline.overrides import apply_overrides
from anchorvae.pipeline.params import Params, ParamsError
from anchorvae.pipeline.params_file import load_params, parse_params

DETAILS = "metrics/details.json"  # what summarize writes, committed in each experiment
CENTROIDS = "metrics/centroids.csv"
MODELS = "metrics/models.csv"


@dataclass(frozen=True)
class Cell:
    name: str  # the DVC experiment's
    values: dict[str, Any]  # axis key -> this cell's value, every axis

    @property
    def label(self) -> str:
        return ", ".join(short(v) for v in self.values.values()) or "params.yaml"


def text(value: Any) -> str:
    """A value as `-S` takes it (YAML: booleans lower case, floats with their point)."""
    return str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(
        value, float) else str(value)  # fmt: skip


def short(value: Any) -> str:
    """A value in a cell's name or label: a float as the shortest text that reads back the
    same (so that no two values share a name), without a trailing ".0"."""
    shown = text(value)
    return shown[:-2] if isinstance(value, float) and shown.endswith(".0") else shown


def lookup(raw: dict, key: str) -> Any:
    """The value at a dotted ``key`` of a params mapping; ParamsError if there is none."""
    value = raw
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ParamsError(f"grid axis {key} is not a key of params.yaml")
        value = value[part]
    return value


def cells(name: str, grid: GridParams, raw: dict) -> list[Cell]:
    """The grid's cells in its axes' order. ``raw``: the workspace's params mapping."""
    base = {key: lookup(raw, key) for key in grid.axes}
    if grid.combine in ("product", "zip"):
        rows = (itertools.product if grid.combine == "product" else zip)(*grid.axes.values())
        combos = [dict(zip(grid.axes, values, strict=True)) for values in rows]
    else:  # each axis alone; the workspace's cell where its value comes, else first
        combos = [{**base, key: v} for key, values in grid.axes.items() for v in values]
        combos = combos if base in combos else [base, *combos]
    unique = [c for i, c in enumerate(combos) if c not in combos[:i]]
    return [Cell(_cell_name(name, values, base), values) for values in unique]


def _cell_name(grid: str, values: dict, base: dict) -> str:
    differs = [f"{_axis_name(key, values)}-{short(v)}" for key, v in values.items()
               if v != base[key]]  # fmt: skip
    return "-".join([grid, *differs]) if differs else f"{grid}-base"


def _axis_name(key: str, axes) -> str:
    """An axis in a cell's name: its key's last part, or the whole key (dots as _) where
    another axis ends the same (train.epochs, classifier.epochs)."""
    last = key.rsplit(".", 1)[-1]
    shared = sum(k.rsplit(".", 1)[-1] == last for k in axes) > 1
    return key.replace(".", "_") if shared else last


def hydra_text(value: Any) -> str:
    """A value as `-S` takes it, a mapping or a list too (Hydra's override grammar)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {hydra_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(hydra_text(v) for v in value) + "]"
    return text(value)


def overrides(cell: Cell, grid: GridParams, params: Params) -> list[str]:
    """The `dvc exp run -S` values of one cell: its axis values, the seeds, every variant
    the grid does not keep removed, and the references it names added as variants."""
    flags = [f"{key}={text(value)}" for key, value in cell.values.items()]
    flags.append(f"seeds=[{','.join(str(s) for s in range(grid.seeds))}]")
    flags += [f"~variants.{v}" for v in params.variants if v not in grid.variants]
    flags += [f"+variants.{v}={hydra_text(_reference(cell, params, v))}"
              for v in grid.variants if v in params.references]  # fmt: skip
    return flags


def _reference(cell: Cell, params: Params, name: str) -> dict:
    """The reference ``name`` as the variant a cell adds, with the cell's values of its keys:
    an axis over `references.cvae.scale` reaches the model the cell trains."""
    reference = params.references[name].model_dump(exclude_unset=True)  # as written
    for key, value in cell.values.items():
        if key.startswith(f"references.{name}."):
            *parents, last = key.split(".")[2:]
            inner = reference
            for part in parents:
                inner = inner[part]
            inner[last] = value
    return reference


def grid_of(grids: dict[str, GridParams], params: Params, name: str) -> GridParams:
    """The named grid of ``grids`` (grids.yaml's), its variants and metrics checked against
    ``params``; ParamsError naming what is allowed."""
    if name not in grids:
        raise ParamsError(f"grid {name!r} is unknown: allowed are {', '.join(grids)} "
                          "(grids.yaml)")  # fmt: skip
    grid = grids[name]
    known = [*params.variants, *params.references]
    controls = grid.axes.get("evaluate.control", [params.evaluate.control])
    needed = {"baseline", *controls}
    if not needed <= set(grid.variants) or not set(grid.variants) <= set(known):
        raise ParamsError(
            f"grids.{name}.variants = {grid.variants} is invalid: expected keys of variants "
            f"or references ({', '.join(known)}), {' and '.join(sorted(needed))} among them "
            "(every cell's params need the plain VAE and the control it is read against, "
            "evaluate.control)"
        )  # here, not in the schema: a cell without a variant must still be valid params
    untrained = [key for key in grid.axes if key.startswith("references.")
                 and key.split(".")[1] not in grid.variants]  # fmt: skip
    if untrained:
        raise ParamsError(f"grids.{name}.axes: {untrained[0]} is invalid: the grid does not "
                          f"train references.{untrained[0].split('.')[1]} (add it to "
                          f"grids.{name}.variants, or drop the axis)")  # fmt: skip
    unknown = [m for m in grid.metrics if m not in BY_KEY]
    if unknown:
        raise ParamsError(f"grids.{name}.metrics = {grid.metrics} is invalid: {unknown[0]!r} is "
                          f"not a metric: allowed are {', '.join(BY_KEY)}")  # fmt: skip
    return grid


def planned_experiments(
    grids: dict[str, GridParams], params: Params, name: str, raw: dict
) -> list[tuple[str, list[str]]]:
    """(experiment name, `-S` overrides) of every cell, in the grid's order."""
    grid = grid_of(grids, params, name)
    return [(c.name, overrides(c, grid, params)) for c in cells(name, grid, raw)]


def check_report(table: pd.DataFrame, name: str, grid: GridParams, raw: dict, path) -> None:
    """A grid's report as `make grid` writes it: a row per planned cell and variant, in the
    grid's order, each with its state; a cut, header-only or stale one (of other axes) is a
    BadInputFile naming it, never spliced into a document with rows missing."""
    expected = [(c.name, v) for c in cells(name, grid, raw) for v in grid.variants]
    found = list(zip(table.get("experiment", []), table.get("variant", []), strict=True))
    states = table.get("state", pd.Series(dtype=object))
    if found != expected or states.isna().any():
        raise BadInputFile(f"{path}: not the report of grid {name} as params.yaml plans it "
                           f"({len(found)} rows, expected {len(expected)}: a cell and variant "
                           f"each): run `make grid NAME={name}`")  # fmt: skip
    _check_columns(table, grid, f"{path}: not the report `make grid NAME={name}` writes")


REPORT_STATES = ("Success", "Failed")  # how a cell ended (rows() writes them)
ALWAYS_MEASURED = ("placed", "test_recon", "test_kl")  # every model's evaluation has them


def _check_columns(table: pd.DataFrame, grid: GridParams, what: str) -> None:
    """The axes, the states and every metric's columns: a metric whose first column is
    cut would read as measured by no variant and leave the documents without a word."""
    for column in grid.axes:
        if column not in table:
            raise BadInputFile(f"{what} (no column {column}, an axis)")
    odd = sorted(set(table["state"].astype(str)) - set(REPORT_STATES))
    if odd:
        raise BadInputFile(f"{what} (state {odd[0]!r}; allowed are {', '.join(REPORT_STATES)})")
    for key in dict.fromkeys([*ALWAYS_MEASURED, *grid.metrics]):
        first, *others = BY_KEY[key].kind.columns(key)  # the first says it is there
        others_there = any(c in table for c in others if c != "n_seeds")
        if first not in table and (key in ALWAYS_MEASURED or others_there):
            raise BadInputFile(f"{what} (no column {first}, which {key} needs)")


def rows(cell: Cell, state: str, summary: dict | None, variants: list[str]) -> list[dict]:
    """The table rows of one cell: per variant, its axis values and flat statistics."""
    records = []
    for variant in variants:
        stats = (summary or {}).get(variant)
        flat = pd.json_normalize(stats, sep=".").iloc[0].to_dict() if stats else {}
        ran = state if flat or state != "Success" else "Failed"  # ran, but left no summary
        records.append({"experiment": cell.name, "state": ran, "label": cell.label,
                        **cell.values, "variant": variant, **flat})  # fmt: skip
    return records


def from_tables(cell: Cell, models: pd.DataFrame, centroids: pd.DataFrame) -> list[dict]:
    """A cell's rows from copied per-model tables (a run without DVC, e.g. on a GPU)."""
    summary = summarize(by_variant(models, centroids))
    return rows(cell, "Success", summary, list(summary))


def check_planned(planned: list[tuple[str, list[str]]], params_path: str | Path) -> None:
    """Before anything is queued: each planned experiment's name and overrides are its own,
    and the params it would run with are valid (ParamsError naming the experiment), so
    that no cell is queued twice and none fails in its params stage after the others ran."""
    names = [name for name, _ in planned]
    overrides = [tuple(flags) for _, flags in planned]
    for i, name in enumerate(names):
        if name in names[:i] or overrides[i] in overrides[:i]:
            raise ParamsError(f"experiment {name} is planned twice: give each value once")
    raw = load_params(params_path).model_dump()
    for name, flags in planned:
        try:
            parse_params(apply_overrides(raw, flags), declared_scales())
        except (ParamsError, UsageError) as err:
            raise ParamsError(f"experiment {name} cannot run: {err}") from None


def require_success(table: pd.DataFrame, planned: list[str], command: str) -> None:
    """StageFailure unless every planned experiment has a row of ``table`` (its columns
    experiment and state) that succeeded: a report is written from a whole grid or not at
    all (the last one stays)."""
    states: dict[str, str] = {}  # a cell's state: its worst row's (a variant may lack one)
    for name, state in zip(table.get("experiment", []), table.get("state", []), strict=True):
        states[name] = state if states.get(name, "Success") == "Success" else states[name]
    bad = [f"{name} ({states.get(name) or 'not run'})" for name in planned
           if states.get(name) != "Success"]  # fmt: skip
    if bad:
        raise StageFailure(
            f"{len(bad)} of {len(planned)} experiments did not succeed: {', '.join(bad)}; "
            f"the last report is kept (`dvc queue logs NAME` says why; `{command}` reruns)"
        )
