"""The schema of grids.yaml: each grid (``grids.<name>``) a question asked across trained
models, its axes, how they combine, and what its report shows. Apart from params.yaml,
which no grid is read from: `dvc exp run -S` rewrites that file, and no stage reads this."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from anchorvae.pipeline.fields import (
    NAME_PATTERN,
    ParamsError,
    Section,
    int_in,
    is_number,
    shown,
)

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


class GridParams(Section):
    """A question asked across trained models (`make grid NAME=<name>`): each cell is one
    queued DVC experiment, the workspace's params with the cell's axis values set."""

    # params key -> its values: each cell sets one value of each axis
    axes: dict[str, list[Any]] = Field(
        description="a mapping from a params key (e.g. train.latent_dims) to a non-empty list "
        "of values (numbers, names, true or false); {} = one cell, the workspace's params"
    )
    # how the axes' values make cells: product, every combination; each, every axis varied
    # alone from params.yaml's own values; zip, cell i takes the i-th value of every axis
    # (lists of one length: cells of different kinds side by side)
    combine: Literal["product", "each", "zip"] = Field(description="one of product, each, zip")
    variants: list[str] = Field(
        min_length=1,
        description="a non-empty list of distinct keys of `variants` or `references`, with "
        "baseline",
    )
    # seeds 0..seeds-1 of every cell, one `-S seeds=[...]` argument: Linux takes at most
    # 128 KiB in one argument, which 10,000 seeds fit (about 49 KiB) and 30,000 do not
    seeds: int_in(2, 10_000)
    jobs: int_in(1, 64)  # experiments run at once (each uses every core already)
    # the report's table columns and figure panels, keys of METRICS in
    # anchorvae/evaluation/metrics.py
    metrics: list[str] = Field(
        min_length=1,
        description="a non-empty list of metric keys (anchorvae/evaluation/metrics.py)",
    )
    # metrics: a panel per metric, the cells along x; centroids: every seed's digit
    # centroids, a panel per cell and variant; semantics: the anchor decode against the
    # points' distance, a marker per design, beside what each draws at its two points;
    # points: the best cell's every point, what it draws and its read, and its clusters
    figure: Literal["metrics", "centroids", "semantics", "points"] = Field(
        description="one of metrics, centroids, semantics, points"
    )

    @field_validator("axes")
    @classmethod
    def _keys_and_distinct_values(cls, axes: dict) -> dict:
        for key, values in axes.items():
            if not KEY_PATTERN.fullmatch(key) or key == "seeds" or key.startswith("grids."):
                raise ValueError("bad key")
            if not all(isinstance(v, (str, bool)) or is_number(v) for v in values):
                raise ValueError("not a scalar")
            if not values:
                raise ValueError("empty")
        return axes

    @model_validator(mode="after")
    def _each_cell_once(self) -> GridParams:
        """No cell twice: distinct values on each axis, or, zipped, distinct tuples of them
        from lists of one length."""
        lists = list(self.axes.values())
        if self.combine != "zip":
            repeated = [k for k, values in self.axes.items() if len(set(values)) != len(values)]
            if repeated:
                values = shown(self.axes[repeated[0]])
                raise ParamsError(
                    f"axes.{repeated[0]} = {values} is invalid: expected distinct values (one "
                    "given twice would run its cells twice)"
                )
        elif len({len(values) for values in lists}) > 1:
            lengths = {key: len(values) for key, values in self.axes.items()}
            raise ParamsError(f"axes = {lengths} (values per key) is invalid with combine = zip: "
                              "expected lists of one length, a value per cell")  # fmt: skip
        elif len(set(zip(*lists, strict=True))) != len(lists[0] if lists else []):
            raise ParamsError("axes is invalid with combine = zip: two cells have the same "
                              "values, which would run one cell twice")  # fmt: skip
        return self

    @field_validator("variants", "metrics")
    @classmethod
    def _distinct(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError("repeated")
        return values


class GridsFile(Section):
    """grids.yaml: the grids `make grid` runs, by name."""

    grids: dict[str, GridParams] = Field(description="a mapping of grid names in [a-z0-9_]")

    @field_validator("grids")
    @classmethod
    def _names(cls, named: dict) -> dict:
        if not all(NAME_PATTERN.fullmatch(name) for name in named):
            raise ValueError("bad name")
        return named
