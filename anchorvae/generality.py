"""The generality study: does anchoring survive another architecture, larger latent
spaces and longer training? Which DVC experiments to queue, and how to read them back.

A cell is (architecture, latent_dims, epochs). Each cell is one DVC experiment that
trains the chosen variants with those settings, every anchor direction set to the
seed post's (1, ..., 1) in the cell's latent size, and every other variant removed.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import pandas as pd

from anchorvae.config import GeneralityParams, Params, ParamsError
from anchorvae.metrics import METRICS, Metric, flat_columns
from anchorvae.plots import plt
from anchorvae.study import markdown_table
from anchorvae.sweep import named_rows, number

PREFIX = "gen-"  # every experiment this module queues is named PREFIX...


class Cell(NamedTuple):
    architecture: str
    latent_dims: int
    epochs: int

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.architecture}-{self.latent_dims}d-{self.epochs}ep"

    @property
    def label(self) -> str:
        return f"{self.architecture}, {self.latent_dims}-D, {self.epochs} ep"


def cells(g: GeneralityParams) -> list[Cell]:
    """Every combination (factorial), or each axis varied alone from the first values."""
    axes = (g.architecture, g.latent_dims, g.epochs)
    if g.factorial:
        return [Cell(*values) for values in itertools.product(*axes)]
    base = Cell(*(values[0] for values in axes))
    varied = [base._replace(**{field: v}) for field, values in zip(Cell._fields, axes, strict=True)
              for v in values[1:]]  # fmt: skip
    return [base, *varied]


def diagonal_direction(direction: list[float], dims: int, where: str) -> list[float]:
    """A direction along (1, ..., 1) in ``dims`` dimensions: c (1, ..., 1) keeps its c."""
    if len(set(direction)) != 1:
        raise ParamsError(
            f"{where} = {direction} is invalid for `make generality`: only a direction along "
            "(1, ..., 1) carries over to other latent sizes"
        )
    return [direction[0]] * dims


def _number(value: float) -> str:
    return f"{value:g}"


def overrides(cell: Cell, params: Params) -> list[str]:
    """The `dvc exp run -S` values of one cell."""
    g = params.generality
    seeds = ",".join(str(s) for s in range(g.seeds_per_cell))
    flags = [
        f"train.architecture={cell.architecture}",
        f"train.latent_dims={cell.latent_dims}",
        f"train.epochs={cell.epochs}",
        f"seeds=[{seeds}]",
    ]
    for name, variant in params.variants.items():
        if name not in g.variants:
            flags.append(f"~variants.{name}")
            continue
        for score, direction in variant.anchors.items():
            key = f"variants.{name}.anchors.{score}"
            values = diagonal_direction(direction, cell.latent_dims, key)
            flags.append(f"{key}=[{','.join(_number(v) for v in values)}]")
    return flags


def planned_experiments(params: Params) -> list[tuple[str, list[str]]]:
    """(name, `-S` overrides) of every cell, in the grid's order."""
    return [(cell.name, overrides(cell, params)) for cell in cells(params.generality)]


def reported() -> list[Metric]:
    """What each (cell, variant) row keeps: every per-model metric of the registry."""
    return [m for m in METRICS if m.kind in ("count", "share", "spread")]


def generality_table(
    exp_rows: list[dict], variants: list[str], planned: list[str]
) -> pd.DataFrame:
    """One row per (cell, variant) of the experiments named PREFIX..., with each
    reported metric's summary columns and the 0->1 axis stability; cells in the order of
    ``planned`` (experiment names), any others after them."""
    records = []
    for row, named in named_rows(exp_rows, PREFIX):
        cell = {
            **named,
            "architecture": row.get("train.architecture"),
            "latent_dims": int(row.get("train.latent_dims") or 0),
            "epochs": int(row.get("train.epochs") or 0),
        }
        for variant in variants:
            record = {**cell, "variant": variant}
            for metric in reported():
                for column in flat_columns(metric):
                    record[column] = number(row.get(f"{variant}.{column}"))
            for column in ("axis_stability", "arrangement_stability", "stability_by_chance"):
                record[column] = number(row.get(f"{variant}.{column}"))
            if math.isnan(record["placed_rate"]) and record["state"] == "Success":
                record["state"] = "Failed"  # ran, but left no summary
            records.append(record)
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return table
    names = list(dict.fromkeys([*planned, *sorted(set(table["experiment"]))]))
    rank = {name: i for i, name in enumerate(names)}
    order = table.assign(_cell=table["experiment"].map(rank),
                         _variant=table["variant"].map(variants.index))  # fmt: skip
    return table.loc[order.sort_values(["_cell", "_variant"]).index].reset_index(drop=True)


# Each panel: (title, summary columns (centre, low, high), a fixed y range or None).
PANELS = [
    ("seeds placed (0s' centroid in (−,…,−), 1s' in (+,…,+)), 95 % CI",
     ("placed_rate", "placed_ci_low", "placed_ci_high"), (0, 1.03)),
    ("seeds aligned (0s' centroid on the − side of (1,…,1), 1s' on the +), 95 % CI",
     ("aligned_rate", "aligned_ci_low", "aligned_ci_high"), (0, 1.03)),
    ("samples at the 0s' and 1s' anchor points read as that digit, mean, 95 % CI",
     ("anchor_decode.mean", "anchor_decode.ci_low", "anchor_decode.ci_high"), (0, 1.03)),
]  # fmt: skip


def generality_figure(table: pd.DataFrame) -> plt.Figure:
    """One panel per headline question, a point per (cell, variant) with its interval;
    cells along x, variants side by side in each cell."""
    ok = table[table["state"] == "Success"]
    cells_in_order = list(dict.fromkeys(ok["experiment"]))
    variants = list(dict.fromkeys(ok["variant"]))
    labels = [_cell_label(ok[ok["experiment"] == e].iloc[0]) for e in cells_in_order]
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(max(7, 1.5 * len(labels)), 9.5),
                             sharex=True, squeeze=False)  # fmt: skip
    width = 0.7 / max(1, len(variants))
    for ax, (title, (centre, low, high), ylim) in zip(axes[:, 0], PANELS, strict=True):
        for i, variant in enumerate(variants):
            rows = ok[ok["variant"] == variant].set_index("experiment").reindex(cells_in_order)
            rows = rows.assign(**{low: rows[low].clip(lower=0), high: rows[high].clip(upper=1)})
            x = [j + (i - (len(variants) - 1) / 2) * width for j in range(len(cells_in_order))]
            error = [rows[centre] - rows[low], rows[high] - rows[centre]]
            ax.errorbar(x, rows[centre], yerr=error, fmt="o", capsize=3, color=f"C{i}",
                        label=variant)  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.set_ylim(*ylim)
        ax.grid(axis="y", color="0.9")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(variants), fontsize=9)
    axes[-1, 0].set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    seeds = ok["n_seeds"].max() if not ok.empty else math.nan
    title = f"Beyond the post's setting: {seeds:.0f} seeds per cell and variant"
    for state in ("Failed", "Queued", "Running"):  # cells with no result, and why
        names = table.loc[table["state"] == state, "experiment"].unique().tolist()
        title += f"\n{state.lower()}: {', '.join(names)}" if names else ""
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def _cell_label(row: pd.Series) -> str:
    return Cell(row["architecture"], int(row["latent_dims"]), int(row["epochs"])).label


def _count(row: pd.Series, key: str) -> str:
    if pd.isna(row.get(f"{key}_rate", math.nan)):
        return "–"
    k, n = int(row[f"{key}_count"]), int(row["n_seeds"])
    return f"{k}/{n} ({row[f'{key}_ci_low']:.2f}–{row[f'{key}_ci_high']:.2f})"


def _share_ci(row: pd.Series, key: str) -> str:
    """A share's mean over seeds and its t-interval, cut to [0, 1] (with 4 seeds the
    t-interval of a spread-out share can pass 0)."""
    if pd.isna(row.get(f"{key}.mean", math.nan)):
        return "–"
    low, high = max(0.0, row[f"{key}.ci_low"]), min(1.0, row[f"{key}.ci_high"])
    return f"{row[f'{key}.mean']:.2f} ({low:.2f}–{high:.2f})"


def generality_markdown(table: pd.DataFrame) -> str:
    """The README's table: per cell and variant, placed and aligned with their exact
    intervals, the anchor decode with its t-interval, the axis stability and the fit."""
    columns = ["cell", "variant", "placed (95 % CI)", "aligned (95 % CI)",
               "anchor samples read as their digit (95 % CI, cut to 0–1)", "0→1 axis stability",
               "test SSE"]  # fmt: skip
    rows = []
    for _, r in table[table["state"] == "Success"].iterrows():
        sse = "–" if pd.isna(r.get("test_recon.mean")) else f"{r['test_recon.mean']:.1f}"
        rows.append([_cell_label(r), f"`{r['variant']}`", _count(r, "placed"),
                     _count(r, "aligned"), _share_ci(r, "anchor_decode"),
                     f"{r['axis_stability']:.2f}", sse])  # fmt: skip
    return markdown_table(columns, rows)
