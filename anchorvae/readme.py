"""The documents' generated parts, written from the metrics files and dvc.yaml so that
they cannot drift.

A block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` in README.md
or a page of docs/; `make readme` rewrites every block, and a test fails when a document
and the files disagree.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd

from anchorvae.errors import StageFailure, UsageError
from anchorvae.generality import generality_markdown
from anchorvae.study import details_markdown, flat_summary, placement_markdown
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


def pipeline_markdown(repo: str | Path = ".") -> str:
    """The pipeline as DVC draws it: `dvc dag --md`, one node per matrix stage."""
    done = subprocess.run(["dvc", "dag", "--md", "--collapse-foreach-matrix"], cwd=repo,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise StageFailure(f"dvc dag failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.strip()


def blocks(
    details_json: str | Path, study_csv: str | Path, sweep_csv: str | Path,
    generality_csv: str | Path, repo: str | Path = ".",
) -> dict[str, str]:  # fmt: skip
    """Block name -> its markdown, from the default run's summary, the study's table, the
    sweep's, the generality study's and dvc.yaml."""
    return {
        "default-run": placement_markdown(summary_table(details_json)),
        "study": placement_markdown(study := pd.read_csv(study_csv)),
        "study-details": details_markdown(study),
        "sweep": sweep_markdown(pd.read_csv(sweep_csv)),
        "generality": generality_markdown(pd.read_csv(generality_csv)),
        "pipeline": pipeline_markdown(repo),
    }


def names_in(text: str) -> list[str]:
    """The names of the generated blocks a document holds."""
    return re.findall(r"<!-- generated: ([\w-]+) -->", text)


def rewrite(document: str | Path, generated: dict[str, str]) -> str:
    """A document's text with each of its generated blocks written anew."""
    text = Path(document).read_text()
    for name in names_in(text):
        if name not in generated:
            raise UsageError(f"{document}: block {name} is unknown: allowed are "
                             f"{', '.join(generated)}")  # fmt: skip
        text = replace_block(text, name, generated[name])
    return text
