"""The many-seed study: its table (one row per variant), the README's markdown, the figure.

Input is what the summarize stage writes, a per-model table and every model's digit
centroids, from one run over many seeds (a DVC experiment, or a copy of the files).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from anchorvae.errors import BadInputFile
from anchorvae.metrics import METRICS, Metric
from anchorvae.placement import N_DIGITS
from anchorvae.plots import DIGIT_COLORS, plt
from anchorvae.results import by_variant
from anchorvae.summary import summarize

REFERENCE = "label_reference"  # the variant every template variant is compared with


def flat_summary(summary: dict[str, dict]) -> pd.DataFrame:
    """variant -> statistics (anchorvae.summary's output, or metrics/details.json) as one
    row per variant, nested keys flattened with dots: the layout every table here reads."""
    rows = [{"variant": name, **stats} for name, stats in summary.items()]
    return pd.json_normalize(rows, sep=".")


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


def study_table(models: pd.DataFrame, centroids: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: every statistic of anchorvae.summary."""
    return flat_summary(summarize(by_variant(models, centroids)))


def _p(value: float) -> str:
    return "< 0.0001" if value < 0.0001 else f"= {value:.4f}" if value < 0.01 else f"= {value:.2f}"


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


# A study table's column heading, and its cell, by the metric's kind.
HEADINGS = {
    "count": "{} (95 % CI)",
    "share": "{}: median [p5, min]",
    "axis": "{}: stability, Rayleigh p",
    "arrangement": "{} (chance)",
    "spread": "{}",
}


def study_cell(row: pd.Series, m: Metric) -> str:
    """One variant's summary of metric ``m`` as the study table writes it ("–" where the
    variant lacks it: grid purities beyond 2-D, anchor reads without anchor points)."""
    f, key = m.fmt, m.key
    first = {"count": f"{key}_count", "share": f"{key}.median", "axis": "axis_stability",
             "arrangement": key, "spread": f"{key}.mean"}[m.kind]  # fmt: skip
    if pd.isna(row.get(first, math.nan)):
        return "–"
    if m.kind == "count":
        n, k = int(row["n_seeds"]), int(row[f"{key}_count"])
        return f"{k}/{n} ({row[f'{key}_ci_low']:{f}}–{row[f'{key}_ci_high']:{f}})"
    if m.kind == "share":
        return f"{row[f'{key}.median']:{f}} [{row[f'{key}.p5']:{f}}, {row[f'{key}.min']:{f}}]"
    if m.kind == "axis":
        return f"{row['axis_stability']:{f}}, p {_p(row['axis_rayleigh_p'])}"
    if m.kind == "arrangement":
        return f"{row[key]:{f}} ({row['stability_by_chance']:{f}})"
    return f"{row[f'{key}.mean']:{f}} ± {row[f'{key}.std']:{f}}"


def placement_markdown(table: pd.DataFrame) -> str:
    """Per variant: every headline or shown metric (placed and aligned with their CIs,
    corner shares, anchor decode, arrangement, cost in fit) and the 0s-to-1s axis, in the
    registry's order; a metric no variant has gets no column."""
    shown = [m for m in METRICS if m.headline or m.shown or m.kind == "axis"]
    cells = {m: [study_cell(r, m) for _, r in table.iterrows()] for m in shown}
    shown = [m for m in shown if set(cells[m]) != {"–"}]  # no column of a metric not measured
    columns = ["variant", *(HEADINGS[m.kind].format(m.name) for m in shown)]
    rows = [[f"`{variant}`", *(cells[m][i] for m in shown)]
            for i, variant in enumerate(table["variant"])]  # fmt: skip
    return markdown_table(columns, rows)


def arrangement_markdown(table: pd.DataFrame) -> str:
    """Per variant: how much of the whole arrangement repeats, beside chance, per digit."""
    digits = [str(d) for d in range(N_DIGITS)]
    columns = ["variant", "all digits (chance)", "same side (chance)", *digits]
    rows = []
    for _, r in table.iterrows():
        side = r.get("side_consistency", math.nan)  # 2-D only: a line has sides
        cells = [
            f"`{r['variant']}`",
            f"{r['arrangement_stability']:.2f} ({r['stability_by_chance']:.2f})",
            "–" if pd.isna(side) else f"{side:.2f} ({r['side_by_chance']:.2f})",
        ]
        for d in digits:
            side = r.get(f"digit_side_share.{d}", math.nan)
            stability = f"{r[f'digit_stability.{d}']:.2f}"
            cells.append(stability if pd.isna(side) else f"{stability} / {side:.2f}")
        rows.append(cells)
    return markdown_table(columns, rows)


# The rows a metric gives the gap table, by kind: (summary column, label suffix).
GAP_ROWS = {
    "count": [("_rate", " rate")],
    "share": [(".median", ", median"), (".p5", ", 5th percentile")],
    "spread": [(".mean", ", mean")],
    "arrangement": [("", " stability")],
}


def gap_keys() -> list[tuple[str, str]]:
    """(summary column, row label) of every metric the gap table compares."""
    return [
        (m.key + column, m.name + suffix)
        for m in METRICS if m.gap
        for column, suffix in GAP_ROWS[m.kind]
    ]  # fmt: skip


def gap_markdown(table: pd.DataFrame) -> str:
    """Each placement metric of every template variant minus the label reference's."""
    by_name = table.set_index("variant")
    if REFERENCE not in by_name.index:
        return f"(no `{REFERENCE}` variant in this study)"
    reference = by_name.loc[REFERENCE]
    others = [v for v in by_name.index if v not in (REFERENCE, "baseline")]
    columns = ["metric", f"`{REFERENCE}`", *(f"`{v}` − reference" for v in others)]
    rows = []
    for key, label in gap_keys():
        if key in by_name.columns:
            gaps = [f"{by_name.loc[v, key] - reference[key]:+.2f}" for v in others]
            rows.append([label, f"{reference[key]:.2f}", *gaps])
    return markdown_table(columns, rows)


def study_markdown(table: pd.DataFrame) -> str:
    """A study's tables (or those of any summary with the same statistics): placement,
    then :func:`details_markdown`."""
    return placement_markdown(table) + "\n\n" + details_markdown(table)


def details_markdown(table: pd.DataFrame) -> str:
    """The arrangement per digit and the gap to the label reference."""
    return "\n\n".join(
        [
            "Arrangement: the mean resultant length of each digit's centroid direction "
            "across seeds (1 = the same direction every time), and the share of seeds in "
            "which digits 2–9 lie on their usual side of the line from the 0s' to the 1s' "
            "centroid; per digit: stability / same-side share.",
            arrangement_markdown(table),
            "Gap to the label-supervised reference (template variant minus reference):",
            gap_markdown(table),
        ]
    )


LABEL_BOX = {"boxstyle": "circle,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0}


def centroid_figure(centroids: pd.DataFrame, lim: float = 3.0) -> plt.Figure:
    """One panel per variant: every seed's ten digit centroids overlaid, one colour per
    digit, the digit written at its median place; what repeats forms a tight cluster."""
    variants = list(dict.fromkeys(centroids["variant"]))
    axes_beyond = ["z2"] if "z2" in centroids else []  # beyond 2-D: the first two axes
    cols = min(len(variants), 2)
    rows = math.ceil(len(variants) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.6 * rows), squeeze=False)
    for ax in axes.flat[len(variants) :]:
        ax.axis("off")
    for ax, variant in zip(axes.flat, variants, strict=False):
        chosen = centroids[centroids["variant"] == variant]
        n_seeds = chosen["seed"].nunique()
        for digit in range(N_DIGITS):
            z = chosen.loc[chosen["digit"] == digit, ["z1", *axes_beyond]].to_numpy()
            z = np.pad(z, ((0, 0), (0, 2 - z.shape[1])))  # a 1-D code: drawn on z2 = 0
            z = np.clip(z, -lim, lim)  # points beyond the frame sit on its edge
            ax.scatter(z[:, 0], z[:, 1], s=8, color=DIGIT_COLORS(digit), alpha=0.45, lw=0)
            mid = np.median(z, axis=0)
            ax.text(mid[0], mid[1], str(digit), fontsize=13, weight="bold", ha="center",
                    va="center", color=DIGIT_COLORS(digit), bbox=LABEL_BOX)  # fmt: skip
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(0, color="0.6", lw=0.6)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.set_title(f"{variant} ({n_seeds} seeds)")
    fig.suptitle(
        "Digit centroids of every seed, overlaid\n(each digit's number at its median "
        f"place; points beyond ±{lim:g} drawn on the edge)"
    )
    fig.tight_layout()
    return fig
