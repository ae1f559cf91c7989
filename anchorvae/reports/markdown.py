"""A grid's report as markdown, from its table (a row per cell and variant,
anchorvae/experiments/grid.py): the tables of the README and docs. Every cell and heading
is the metric's kind's (anchorvae/evaluation/kinds.py); the same code writes every grid's.
"""

from __future__ import annotations

import math

import pandas as pd

from anchorvae.digits import N_DIGITS
from anchorvae.evaluation.metrics import METRICS, Metric

REFERENCE = "label_reference"  # the variant a gap table compares the others with
NOT_MEASURED = "–"


def flat_summary(summary: dict[str, dict]) -> pd.DataFrame:
    """variant -> statistics (metrics/details.json) as one row per variant, nested keys
    flattened with dots: the layout every report reads."""
    rows = [{"variant": name, **stats} for name, stats in summary.items()]
    return pd.json_normalize(rows, sep=".")


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def succeeded(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["state"] == "Success"] if "state" in table else table


def _short(key: str) -> str:
    """An axis's column heading: its params key, a variant's without "variants."."""
    return key.removeprefix("variants.")


def _axis_cell(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def cell(row: pd.Series, m: Metric) -> str:
    if not m.kind.measured(row, m.key):
        return NOT_MEASURED
    return m.kind.cell(row, m.key, m.fmt, m.in_unit_range)


def metric_markdown(table: pd.DataFrame, axes: list[str], metrics: list[Metric]) -> str:
    """A row per cell and variant: its axis values, then each metric's cell; a metric no
    row has measured gets no column. A variant whose numbers are the same in every cell
    (the same models, which no axis changes: DVC's run cache trained them once) gets one
    row, its axis cells "every"."""
    ok = succeeded(table)
    cells = {m: [cell(r, m) for _, r in ok.iterrows()] for m in metrics}
    shown = [m for m in metrics if set(cells[m]) != {NOT_MEASURED}]
    columns = [*(_short(a) for a in axes), "variant",
               *(m.kind.heading.format(m.name) for m in shown)]  # fmt: skip
    numbers = [tuple(cells[m][i] for m in shown) for i in range(len(ok))]
    by_variant: dict[str, set] = {}
    for n, v in zip(numbers, ok["variant"], strict=True):
        by_variant.setdefault(v, set()).add(n)
    one_cell = "experiment" not in ok or ok["experiment"].nunique() == 1
    same = set() if one_cell else {v for v, seen in by_variant.items() if len(seen) == 1}
    rows, seen = [], set()
    for i, (_, r) in enumerate(ok.iterrows()):
        every = r["variant"] in same
        if every and r["variant"] in seen:
            continue
        seen.add(r["variant"])
        where = ["every" if every else _axis_cell(r[a]) for a in axes]
        rows.append([*where, f"`{r['variant']}`", *numbers[i]])
    return markdown_table(columns, rows)


def _row_label(row: pd.Series, axes: list[str]) -> str:
    values = ", ".join(_axis_cell(row[a]) for a in axes)
    return f"{values}: `{row['variant']}`" if values else f"`{row['variant']}`"


def arrangement_markdown(table: pd.DataFrame, axes: list[str]) -> str:
    """Per cell and variant: how much of the whole arrangement repeats, beside chance, and
    per digit (stability / same-side share, 2-D only)."""
    digits = [str(d) for d in range(N_DIGITS)]
    columns = ["variant", "all digits (chance)", "same side (chance)", *digits]
    rows = []
    for _, r in succeeded(table).iterrows():
        side = r.get("side_consistency", math.nan)  # 2-D only: a line has sides
        cells = [
            _row_label(r, axes),
            f"{r['arrangement_stability']:.2f} ({r['stability_by_chance']:.2f})",
            NOT_MEASURED if pd.isna(side) else f"{side:.2f} ({r['side_by_chance']:.2f})",
        ]
        for d in digits:
            side = r.get(f"digit_side_share.{d}", math.nan)
            stability = f"{r[f'digit_stability.{d}']:.2f}"
            cells.append(stability if pd.isna(side) else f"{stability} / {side:.2f}")
        rows.append(cells)
    return markdown_table(columns, rows)


def gap_keys() -> list[tuple[str, str]]:
    """(summary column, row label) of every metric a gap table compares."""
    return [(m.key + column, m.name + suffix)
            for m in METRICS if m.gap for column, suffix in m.kind.gap_rows]  # fmt: skip


def gap_markdown(table: pd.DataFrame) -> str:
    """Each compared metric of every variant but the baseline, minus the reference's."""
    by_name = succeeded(table).set_index("variant")
    if REFERENCE not in by_name.index:
        return f"(no `{REFERENCE}` variant here)"
    reference = by_name.loc[REFERENCE]
    others = [v for v in by_name.index if v not in (REFERENCE, "baseline")]
    columns = ["metric", f"`{REFERENCE}`", *(f"`{v}` − reference" for v in others)]
    rows = []
    for key, label in gap_keys():
        if key in by_name.columns and not pd.isna(reference[key]):
            gaps = [f"{by_name.loc[v, key] - reference[key]:+.2f}" for v in others]
            rows.append([label, f"{reference[key]:.2f}", *gaps])
    return markdown_table(columns, rows)


def details_markdown(table: pd.DataFrame, axes: list[str]) -> str:
    """The arrangement per digit, and the gap to the label reference in each cell."""
    gaps = []
    for _, rows in succeeded(table).groupby("experiment", sort=False):
        label = _row_label(rows.iloc[0], axes).rsplit(":", 1)[0] if axes else ""
        gaps.append((f"{label}:\n\n" if label else "") + gap_markdown(rows))
    return "\n\n".join(
        [
            "Arrangement: the mean resultant length of each digit's centroid direction "
            "across seeds (1 = the same direction every time), and the share of seeds in "
            "which digits 2–9 lie on their usual side of the line from the 0s' to the 1s' "
            "centroid; per digit: stability / same-side share.",
            arrangement_markdown(table, axes),
            "Gap to the label-supervised reference (variant minus reference):",
            *gaps,
        ]
    )
