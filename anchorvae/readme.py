"""The README's result tables, written from the metrics files so that they cannot drift.

A block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``; `make readme`
rewrites every block, and a test fails when the README and the files disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from anchorvae.errors import UsageError
from anchorvae.study import flat_summary, placement_markdown, study_markdown
from anchorvae.sweep import sweep_markdown


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- generated: {name} -->", f"<!-- end: {name} -->"


def _span(text: str, name: str) -> tuple[int, int]:
    begin, end = _markers(name)
    if begin not in text or end not in text:
        raise UsageError(f"README has no block {begin} ... {end}")
    return text.index(begin) + len(begin), text.index(end)


def read_block(text: str, name: str) -> str:
    start, stop = _span(text, name)
    return text[start:stop].strip("\n")


def replace_block(text: str, name: str, block: str) -> str:
    start, stop = _span(text, name)
    return text[:start] + "\n" + block + "\n" + text[stop:]


def summary_table(details_json: str | Path) -> pd.DataFrame:
    """metrics/details.json as one flattened row per variant (the study table's layout)."""
    return flat_summary(json.loads(Path(details_json).read_text()))


def blocks(
    details_json: str | Path, study_csv: str | Path, sweep_csv: str | Path
) -> dict[str, str]:
    """Block name -> its markdown, from the default run's summary, the study's table and
    the sweep's."""
    return {
        "default-run": placement_markdown(summary_table(details_json)),
        "study": study_markdown(pd.read_csv(study_csv)),
        "sweep": sweep_markdown(pd.read_csv(sweep_csv)),
    }


def rewrite(readme: str | Path, details_json: str | Path, study_csv: str | Path,
            sweep_csv: str | Path) -> str:  # fmt: skip
    """The README's text with every block written anew."""
    text = Path(readme).read_text()
    for name, block in blocks(details_json, study_csv, sweep_csv).items():
        text = replace_block(text, name, block)
    return text
