"""The documents' generated parts, written from the metrics files and dvc.yaml so that
they cannot drift.

A block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` in README.md
or a page of docs/; `make readme` rewrites every block, and a test fails when a document
and the files disagree.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd

from anchorvae.errors import StageFailure, UsageError
from anchorvae.generality import generality_markdown
from anchorvae.study import details_markdown, flat_summary, placement_markdown
from anchorvae.sweep import sweep_markdown
from anchorvae.tables import made_from, read_csv, read_json


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- generated: {name} -->", f"<!-- end: {name} -->"


MARKER = re.compile(r"<!-- (generated|end): ([^>]*?) -->")


def check_markers(text: str, document: str | Path) -> None:
    """UsageError unless every marker pairs up: ``generated: X`` then ``end: X``, one
    block at a time, each name once (a reversed or repeated pair would be written twice,
    an unclosed one would swallow the text after it)."""
    open_name, seen = None, set()
    for match in MARKER.finditer(text):
        kind, name = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        where = f"{document}, line {line}: <!-- {kind}: {name} -->"
        if kind == "generated" and open_name is None and name not in seen:
            open_name = name
            seen.add(name)
        elif kind == "end" and name == open_name:
            open_name = None
        else:
            expected = f"<!-- end: {open_name} -->" if open_name else "a <!-- generated: -->"
            again = " (a block given twice)" if name in seen and open_name is None else ""
            raise UsageError(f"{where} is out of place{again}: expected {expected}")
    if open_name is not None:
        raise UsageError(f"{document}: <!-- generated: {open_name} --> has no <!-- end: "
                         f"{open_name} -->")  # fmt: skip


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
    with made_from(details_json, "the summarize stage"):
        return flat_summary(read_json(details_json))


def pipeline_markdown(repo: str | Path = ".") -> str:
    """The pipeline as DVC draws it: `dvc dag --md`, one node per matrix stage."""
    done = subprocess.run(["dvc", "dag", "--md", "--collapse-foreach-matrix"], cwd=repo,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise StageFailure(f"dvc dag failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.strip()


def report_blocks(
    details_json: str | Path, study_csv: str | Path, sweep_csv: str | Path,
    generality_csv: str | Path,
) -> dict[str, str]:  # fmt: skip
    """Block name -> its markdown, from the default run's summary, the study's table, the
    sweep's and the generality study's; a file that is not what its command writes is a
    BadInputFile naming it."""
    with made_from(study_csv, "`make study`"):
        study = read_csv(study_csv)
        study_blocks = {
            "study": placement_markdown(study),
            "study-details": details_markdown(study),
        }
    with made_from(sweep_csv, "`make sweep`"):
        sweep = sweep_markdown(read_csv(sweep_csv))
    with made_from(generality_csv, "`make generality`"):
        generality = generality_markdown(read_csv(generality_csv))
    with made_from(details_json, "the summarize stage"):
        default_run = placement_markdown(summary_table(details_json))
    return {"default-run": default_run, **study_blocks, "sweep": sweep, "generality": generality}


def blocks(
    details_json: str | Path, study_csv: str | Path, sweep_csv: str | Path,
    generality_csv: str | Path, repo: str | Path = ".",
) -> dict[str, str]:  # fmt: skip
    """Every block: :func:`report_blocks` and the pipeline as dvc.yaml draws it."""
    reports = report_blocks(details_json, study_csv, sweep_csv, generality_csv)
    return {**reports, "pipeline": pipeline_markdown(repo)}


def names_in(text: str) -> list[str]:
    """The names of the generated blocks a document holds."""
    return re.findall(r"<!-- generated: ([\w-]+) -->", text)


def rewrite(document: str | Path, generated: dict[str, str]) -> str:
    """A document's text with each of its generated blocks written anew."""
    text = Path(document).read_text()
    check_markers(text, document)
    for name in names_in(text):
        if name not in generated:
            raise UsageError(f"{document}: block {name} is unknown: allowed are "
                             f"{', '.join(generated)}")  # fmt: skip
        text = replace_block(text, name, generated[name])
    return text
