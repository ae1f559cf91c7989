"""`make grid NAME=<name>`: a grid of grids.yaml as queued DVC experiments.

python stages/grid.py NAME           # all three below, in one process (`make grid`)
python stages/grid.py NAME queue     # validate every cell, queue them, start the workers
python stages/grid.py NAME wait      # block until the queue is empty (Ctrl-C stops it)
python stages/grid.py NAME report    # reports/NAME.csv and reports/NAME.png
python stages/grid.py NAME report --tables DIR   # a one-cell grid from copied tables
"""

import _bootstrap  # noqa: F401  (first: ends with its parent, runs under .venv)

import contextlib
from pathlib import Path

import pandas as pd

from anchorvae.artifacts.atomic import atomic_path
from anchorvae.artifacts.clusters import CLUSTER_MEANS, cluster_means
from anchorvae.artifacts.evaluations import (
    ANCHOR_IMAGES,
    POINT_IMAGES,
    POINT_READS,
    anchor_images,
    point_pictures,
)
from anchorvae.artifacts.summaries import check_tables
from anchorvae.artifacts.tables import read_csv
from anchorvae.errors import UsageError
from anchorvae.experiments.grid import (
    CENTROIDS,
    DETAILS,
    MODELS,
    cells,
    from_tables,
    grid_of,
    planned_experiments,
    require_success,
    rows,
)
from anchorvae.experiments.queue import (
    one_grid_at_a_time,
    queue_experiments,
    wait_for_queue,
)
from anchorvae.experiments.readback import (
    cached_bytes,
    committed_csv,
    committed_json,
    experiment_revs,
)
from anchorvae.experiments.watch import watched
from anchorvae.pipeline.cli import parse, parser, run_stage
from anchorvae.pipeline.params_file import load_grids
from anchorvae.pipeline.runtime import check_settings
from anchorvae.reports.figures import plt
from anchorvae.reports.grid_figures import grid_figure
from anchorvae.reports.points_figure import PointPictures, best_cell


def from_experiments(name, grid, planned, design: str) -> tuple[pd.DataFrame, dict, dict]:
    """The grid's table from its experiments' committed summaries, each cell's centroids
    (read only for a centroid figure) and what each variant drew at its anchor points
    (seed 0, from DVC's cache; a semantics figure's only)."""
    found = experiment_revs(f"{name}-")
    records, centroids, pictures = [], {}, {}
    for cell in planned:
        state, rev = found.get(cell.name, ("not run", None))
        where = f"experiment {cell.name}"
        summary = committed_json(rev, DETAILS, where) if state == "Success" else None
        records += rows(cell, state, summary, grid.variants)
        if summary and grid.figure == "centroids":
            centroids[cell.label] = committed_csv(rev, CENTROIDS, where)
        if summary and grid.figure == "semantics":
            pictures.update(anchor_pictures(rev, cell.label, summary, where))
    table = pd.DataFrame.from_records(records)
    if grid.figure == "points":
        pictures = best_points(table, planned, found, design)
    return table, centroids, pictures


def best_points(table: pd.DataFrame, planned, found: dict, design: str) -> PointPictures | None:
    """What ``design`` drew at its points in the cell where they read best (seed 0), and
    the clusters' mean images, from DVC's cache."""
    label = best_cell(table, design)
    if label is None:
        return None
    cell = next(c for c in planned if c.label == label)
    rev, where = found[cell.name][1], f"experiment {cell.name}"
    images_path = POINT_IMAGES.format(variant=design, seed=0)
    reads_path = POINT_READS.format(variant=design, seed=0)
    reads = cached_bytes(rev, reads_path).decode()
    images, reads = point_pictures(
        cached_bytes(rev, images_path), reads, f"{where}: {images_path}"
    )
    means = cluster_means(cached_bytes(rev, CLUSTER_MEANS), f"{where}: {CLUSTER_MEANS}")
    return PointPictures(label, images, reads, means)


def anchor_pictures(rev: str, label: str, summary: dict, where: str) -> dict:
    """(cell label, variant) -> the images seed 0 of each variant with a decode drew at
    its anchor points."""
    pictures = {}
    for variant, stats in summary.items():
        if "anchor_decode" in stats and variant != "baseline":  # the baseline: the control
            path = ANCHOR_IMAGES.format(variant=variant, seed=0)
            pictures[(label, variant)] = anchor_images(cached_bytes(rev, path), f"{where}: {path}")
    return pictures


def from_folder(folder: str, planned) -> tuple[pd.DataFrame, dict]:
    """A one-cell grid's table from a folder of summarize's per-model tables."""
    if len(planned) != 1:
        raise UsageError(f"--tables {folder}: only a grid of one cell reads copied tables")
    paths = [Path(folder) / Path(path).name for path in (MODELS, CENTROIDS)]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"--tables {folder}: {path.name} is missing (summarize writes it)")
    models, centroids = (read_csv(path) for path in paths)
    check_tables(models, centroids, folder)
    return pd.DataFrame.from_records(from_tables(planned[0], models, centroids)), {
        planned[0].label: centroids
    }


def report(grid, raw, name: str, args, control: str) -> None:
    planned = cells(name, grid, raw)
    if args.tables:
        table, centroids = from_folder(args.tables, planned)
        pictures = {}
    else:
        design = grid.axes.get("evaluate.control", [control])[0]  # the points figure's
        table, centroids, pictures = from_experiments(name, grid, planned, design)
        require_success(table, [c.name for c in planned], f"make grid NAME={name}")
    seeds = table["n_seeds"].max() if args.tables else grid.seeds
    title = f"{name}: {seeds} seeds"
    figure = grid_figure(table, centroids, grid.figure, grid.metrics, title, pictures)
    # A report is its pair: both are written under temporary names first, and neither
    # replaces the last report unless both were written (a full disk keeps the old pair).
    csv, png = args.csv or f"reports/{name}.csv", args.figure or f"reports/{name}.png"
    with atomic_path(csv) as csv_tmp, atomic_path(png) as png_tmp:
        table.to_csv(csv_tmp, index=False, float_format="%.5f")
        figure.savefig(png_tmp, format="png", dpi=130, bbox_inches="tight")
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("name", help="a key of grids.yaml's `grids`")
    p.add_argument("--grids", help="grids file (default: grids.yaml beside --params)")
    p.add_argument("step", nargs="?", choices=["queue", "wait", "report"], help="default: all")
    p.add_argument("--csv", help="default: reports/NAME.csv")
    p.add_argument("--figure", help="default: reports/NAME.png")
    p.add_argument("--tables", help="a folder with summarize's models.csv and centroids.csv")
    args, params = parse(p, argv)  # validated before anything is queued
    raw, grids = (
        params.model_dump(),
        load_grids(args.grids or Path(args.params).with_name("grids.yaml")),
    )
    grid = grid_of(grids, params, args.name)
    if args.step in ("queue", "wait", None):
        check_settings()  # what every cell's stages will read: before anything is removed
        prefix = f"{args.name}-"
        # `queue` alone leaves the workers running on purpose; a wait is watched, so that
        # a kill -9 of this process (or of make's group) stops the grid's work too
        watch = watched(prefix) if args.step != "queue" else contextlib.nullcontext()
        with one_grid_at_a_time(args.name), watch:
            if args.step in ("queue", None):
                planned = planned_experiments(grids, params, args.name, raw)
                queue_experiments(prefix, planned, grid.jobs, args.params)
            if args.step in ("wait", None):
                names = [cell.name for cell in cells(args.name, grid, raw)]
                wait_for_queue(grid.jobs, prefix, names)
    if args.step in ("report", None):
        report(grid, raw, args.name, args, params.evaluate.control)


if __name__ == "__main__":
    run_stage(main)
