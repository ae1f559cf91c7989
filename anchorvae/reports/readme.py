"""The documents' generated parts, written from the metrics files and dvc.yaml so that
they cannot drift.

A block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` in README.md
or a page of docs/; `make readme` rewrites every block, and a test fails when a document
and the files disagree.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from anchorvae.artifacts.tables import made_from, read_csv, read_json, read_text
from anchorvae.errors import StageFailure, UsageError
from anchorvae.evaluation.metrics import BY_KEY
from anchorvae.pipeline.grid_params import GridParams
from anchorvae.reports.markdown import details_markdown, flat_summary, metric_markdown


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


def pipeline_markdown(repo: str | Path = ".") -> str:
    """The pipeline as DVC draws it: `dvc dag --md`, one node per matrix stage."""
    done = subprocess.run(["dvc", "dag", "--md", "--collapse-foreach-matrix"], cwd=repo,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise StageFailure(f"dvc dag failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.strip()


def grid_blocks(name: str, grid: GridParams, csv: str | Path) -> dict[str, Callable[[], str]]:
    """A grid's blocks from its report, each made when a document names it: ``NAME`` (a
    row per cell and variant, the grid's metrics) and ``NAME-details`` (the arrangement per
    digit, the gap to the reference)."""

    def made(render: Callable[..., str]) -> Callable[[], str]:
        def block() -> str:
            with made_from(csv, f"`make grid NAME={name}`"):
                return render(read_csv(csv), list(grid.axes))

        return block

    metrics = [BY_KEY[m] for m in grid.metrics]
    return {name: made(lambda table, axes: metric_markdown(table, axes, metrics)),
            f"{name}-details": made(details_markdown)}  # fmt: skip


def default_run_block(details_json: str | Path, metrics: list[str]) -> str:
    """The default run's table (metrics/details.json), with the given metrics' columns."""
    with made_from(details_json, "the summarize stage"):
        table = flat_summary(read_json(details_json))
        return metric_markdown(table, [], [BY_KEY[m] for m in metrics])


def default_metrics(grids: dict[str, GridParams]) -> list[str]:
    """The default run's columns: the study grid's (the same question at fewer seeds), or
    every metric where there is no study."""
    return grids["study"].metrics if "study" in grids else list(BY_KEY)


def report_blocks(
    details_json: str | Path, grids: dict[str, tuple[GridParams, str | Path]],
    default_run: list[str],
) -> dict[str, Callable[[], str]]:  # fmt: skip
    """Block name -> what makes its markdown: the default run's (``default_run``: its metrics) and
    each grid's (its params and report); a file that is not what its command writes is a
    BadInputFile naming it."""
    generated = {"default-run": lambda: default_run_block(details_json, default_run)}
    for name, (grid, csv) in grids.items():
        generated.update(grid_blocks(name, grid, csv))
    return generated


def blocks(
    details_json: str | Path, grids: dict[str, tuple[GridParams, str | Path]],
    default_run: list[str], repo: str | Path = ".",
) -> dict[str, Callable[[], str]]:  # fmt: skip
    """Every block: :func:`report_blocks` and the pipeline as dvc.yaml draws it."""
    pipeline = {"pipeline": lambda: pipeline_markdown(repo)}
    return {**report_blocks(details_json, grids, default_run), **pipeline}


def names_in(text: str) -> list[str]:
    """The names of the generated blocks a document holds."""
    return re.findall(r"<!-- generated: ([\w-]+) -->", text)


def rewrite(document: str | Path, generated: dict[str, Callable[[], str]]) -> str:
    """A document's text with each of its generated blocks written anew (``generated``:
    block name -> what makes it)."""
    text = read_text(document)
    check_markers(text, document)
    for name in names_in(text):
        if name not in generated:
            raise UsageError(f"{document}: block {name} is unknown: allowed are "
                             f"{', '.join(generated)}")  # fmt: skip
        text = replace_block(text, name, generated[name]())
    return text
