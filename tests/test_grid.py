"""The grid engine: cells and overrides from params, the table read back from experiments,
the report's markdown and figures, the queue's wait and stop. Grids run through `make grid`
in a tiny repo are in tests/test_dvc_experiments.py."""

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_stages import ROOT, stage

from anchorvae.errors import BadInputFile, StageFailure, UsageError
from anchorvae.evaluation.metrics import BY_KEY
from anchorvae.experiments.grid import cells, grid_of, planned_experiments
from anchorvae.pipeline.overrides import apply_overrides
from anchorvae.pipeline.params import ParamsError
from anchorvae.pipeline.params_file import parse_grids, parse_params
from anchorvae.reports.grid_figures import centroid_figure, metrics_figure
from anchorvae.reports.markdown import details_markdown, metric_markdown


def project_raw(**grids) -> dict:
    """params.yaml's keys and grids.yaml's `grids`, with ``grids`` added (each the
    generality grid updated with what is given)."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["grids"] = yaml.safe_load((ROOT / "grids.yaml").read_text())["grids"]
    for name, grid in grids.items():
        raw["grids"][name] = {**raw["grids"]["generality"], **grid}
    return raw


def split(raw: dict) -> tuple[dict, dict]:
    """(params.yaml's mapping, grids.yaml's) of a :func:`project_raw`."""
    return {k: v for k, v in raw.items() if k != "grids"}, {"grids": raw["grids"]}


def parse_project(raw: dict):
    """(params, grids by name), each as its file's reader validates it."""
    params_raw, grids_raw = split(raw)
    return parse_params(params_raw), parse_grids(grids_raw)


def planned(raw: dict, name: str) -> list[tuple[str, list[str]]]:
    params, grids = parse_project(raw)
    return planned_experiments(grids, params, name, split(raw)[0])


def test_one_axis_at_a_time_varies_each_axis_alone_from_the_workspace_values():
    raw = project_raw(
        g={
            "axes": {
                "train.architecture": ["mlp", "conv"],
                "train.latent_dims": [8, 2],
                "train.epochs": [10, 50],
            }
        }
    )
    grid = parse_project(raw)[1]["g"]
    names = [c.name for c in cells("g", grid, raw)]
    assert names == ["g-base", "g-architecture-conv", "g-latent_dims-8", "g-epochs-50"]
    product = grid.model_copy(update={"combine": "product"})
    assert len(cells("g", product, raw)) == 8
    names = [c.name for c in cells("g", product, raw)]
    assert names[:2] == ["g-latent_dims-8", "g-latent_dims-8-epochs-50"]  # mlp first
    assert names[2] == "g-base"  # mlp, 2, 10: the workspace's values
    zipped = grid.model_copy(update={"combine": "zip"})
    names = [c.name for c in cells("g", zipped, raw)]  # the i-th values together
    assert names == ["g-latent_dims-8", "g-architecture-conv-epochs-50"]


def test_a_zipped_grid_takes_cells_of_different_kinds_and_refuses_a_ragged_or_twice_given_one():
    axes = {"templates.kind": ["post", "clusters", "clusters"], "templates.clusters": [0, 10, 20]}
    raw = project_raw(g={"axes": axes, "combine": "zip"})
    cells_ = cells("g", parse_project(raw)[1]["g"], raw)
    assert [c.values for c in cells_] == [
        {"templates.kind": "post", "templates.clusters": 0},
        {"templates.kind": "clusters", "templates.clusters": 10},
        {"templates.kind": "clusters", "templates.clusters": 20},
    ]
    ragged = project_raw(g={"axes": {**axes, "templates.top": [1, 2]}, "combine": "zip"})
    with pytest.raises(ParamsError, match="expected lists of one length"):
        parse_project(ragged)
    twice = project_raw(g={"axes": {"templates.kind": ["post", "post"]}, "combine": "zip"})
    with pytest.raises(ParamsError, match="two cells have the same values"):
        parse_project(twice)
    repeated = project_raw(g={"axes": {"templates.kind": ["post", "post"]}, "combine": "each"})
    with pytest.raises(ParamsError, match="expected distinct values"):
        parse_project(repeated)


def test_the_workspace_cell_sits_where_its_value_comes_and_a_cell_needs_nothing_but_params():
    """The sweep's base (rate 2) between 1 and 4; each cell sets its axis values, the
    seeds, and removes the variants it does not keep: a scalar anchor direction fits any
    latent size, so no override is derived by hand."""
    raw = project_raw()
    params, grids = parse_project(raw)
    planned_cells = planned(raw, "sweep")
    assert [n for n, _ in planned_cells] == [
        "sweep-anchor_rate-0.25",
        "sweep-anchor_rate-0.5",
        "sweep-anchor_rate-1",
        "sweep-base",
        "sweep-anchor_rate-4",
        "sweep-anchor_rate-8",
        "sweep-kind-class_mean",
    ]
    assert planned_cells[0][1] == [
        "variants.anchored.anchor_rate=0.25",
        "templates.kind=post",
        "seeds=[0,1,2,3]",
        "~variants.label_reference",
        "~variants.two_axis",
    ]
    [study] = planned(raw, "study")
    assert study == ("study-base", [f"seeds=[{','.join(str(s) for s in range(30))}]"])


def test_a_reference_a_grid_names_is_added_to_its_cells_as_a_variant():
    """The CVAE is trained only where a grid names it: its cells add it, as DVC would."""
    raw = project_raw()
    params, grids = parse_project(raw)
    assert "cvae" not in params.variants and "cvae" in grids["semantics"].variants
    for _, flags in planned(raw, "semantics"):
        assert flags[-1] == ("+variants.cvae={anchor_rate: 0.0, scale: raw, anchors: {}, "
                             "conditional: true}")  # fmt: skip
        cell = parse_params(apply_overrides(split(raw)[0], flags))
        assert cell.variants["cvae"] == params.references["cvae"]
        assert "two_axis" not in cell.variants


def test_an_axis_over_a_reference_reaches_the_model_its_cells_train():
    """`references.cvae.scale` as an axis: each cell adds the CVAE as a variant with
    the cell's value, not the workspace's; over a reference the grid does not train, the
    axis is refused naming the grid key to change."""
    grid = {"axes": {"references.cvae.scale": ["raw", "standard"]}, "combine": "product",
            "variants": ["baseline", "anchored", "cvae"]}  # fmt: skip
    raw = project_raw(g=grid)
    for name, flags in planned(raw, "g"):
        cell = parse_params(apply_overrides(split(raw)[0], flags))
        scale = "standard" if name.endswith("standard") else "raw"
        assert cell.variants["cvae"].scale == scale == cell.references["cvae"].scale
    raw = project_raw(g={**grid, "variants": ["baseline", "anchored"]})
    with pytest.raises(ParamsError, match=r"grids.g.axes: references.cvae.scale is "
                       r"invalid: the grid does not train references.cvae \(add it to "
                       "grids.g.variants"):  # fmt: skip
        planned(raw, "g")


def test_close_values_get_distinct_names_and_the_exact_value():
    raw = project_raw(g={"axes": {"variants.anchored.anchor_rate": [0.1234561, 0.1234562, 1e-05]}})
    by_name = dict(planned(raw, "g"))
    assert by_name["g-anchor_rate-0.1234561"][0] == "variants.anchored.anchor_rate=0.1234561"
    assert by_name["g-anchor_rate-0.1234562"][0] == "variants.anchored.anchor_rate=0.1234562"
    assert by_name["g-anchor_rate-1e-05"][0] == "variants.anchored.anchor_rate=1e-05"


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            {"axes": {"train.epochs": [10, 10.0]}},
            r"grids.g.axes.train.epochs = \[10, 10.0\] is invalid: expected distinct values",
        ),
        ({"axes": {"seeds": [1]}}, "grids.g.axes"),
        ({"seeds": 1}, "grids.g.seeds = 1 is invalid: expected an integer >= 2"),
        ({"figure": "bars"}, "grids.g.figure = 'bars' is invalid: expected one of metrics"),
        ({"metrics": ["placed", "placed"]}, "grids.g.metrics"),
    ],
)
def test_a_bad_grid_is_one_line_naming_the_key(grid, message):
    with pytest.raises(ParamsError, match=message):
        parse_project(project_raw(g=grid))


def test_an_unknown_grid_or_metric_or_axis_key_is_named():
    raw = project_raw(g={"metrics": ["placed", "nope"]})
    params, grids = parse_project(raw)
    with pytest.raises(ParamsError, match="grid 'x' is unknown: allowed are study, sweep"):
        grid_of(grids, params, "x")
    for variants in (["anchored"], ["baseline", "nope"]):
        raw = project_raw(g={"variants": variants})
        with pytest.raises(
            ParamsError,
            match=r"grids.g.variants = \[.*\] is invalid: expected "
            "keys of variants",
        ):
            grid_of(parse_project(raw)[1], params, "g")
    with pytest.raises(ParamsError, match="'nope' is not a metric: allowed are placed"):
        grid_of(grids, params, "g")
    raw = project_raw(g={"axes": {"train.nope": [1]}})
    with pytest.raises(ParamsError, match="grid axis train.nope is not a key of params.yaml"):
        planned(raw, "g")


def write_project(folder: Path, raw: dict) -> None:
    """params.yaml and, beside it, grids.yaml (where the grid stage looks by default)."""
    params, grids = split(raw)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    (folder / "grids.yaml").write_text(yaml.safe_dump(grids))


def run_grid_stage(tmp_path, raw, *args):
    write_project(tmp_path, raw)
    return stage("grid")([*args, "--params", str(tmp_path / "params.yaml")])


def test_cells_that_cannot_run_are_refused_before_anything_is_queued(tmp_path, monkeypatch):
    """A list direction cannot go to another latent size; a cell's name or overrides given
    twice would run twice: one line each, and `dvc` is never called."""
    import anchorvae.experiments.queue as experiments

    monkeypatch.setattr(experiments, "run_dvc", lambda *a: pytest.fail(f"dvc {a} called"))
    raw = project_raw(g={"variants": ["baseline", "anchored", "two_axis"]})
    with pytest.raises(
        ParamsError,
        match=r"experiment g-latent_dims-4 cannot run: "
        r"variants.two_axis.anchors.donutness = \[1.0, 1.0\] is invalid",
    ):
        run_grid_stage(tmp_path, raw, "g", "queue")
    with pytest.raises(ParamsError, match="experiment g-x is planned twice"):
        experiments.check_planned([("g-x", ["a=1"]), ("g-x", ["a=2"])], ROOT / "params.yaml")
    same_end = {"variants.anchored.anchor_rate": [1.0], "variants.two_axis.anchor_rate": [1.0]}
    raw = project_raw(g={"axes": same_end, "variants": ["baseline", "anchored", "two_axis"]})
    names = [n for n, _ in planned(raw, "g")]
    assert names == ["g-base", "g-variants_anchored_anchor_rate-1",
                     "g-variants_two_axis_anchor_rate-1"]  # fmt: skip


def summary(placed: int, decode: float | None = 0.8, n: int = 4) -> dict:
    """A variant's statistics as metrics/details.json holds them."""
    stats = {
        "n_seeds": n,
        "placed_count": placed,
        "placed_rate": placed / n,
        "placed_ci_low": 0.1,
        "placed_ci_high": 0.9,
        "axis_stability": 0.5,
        "axis_rayleigh_p": 0.3,
        "test_recon": {"mean": 40.0, "std": 1.0, "ci_low": 39.0, "ci_high": 41.0},
    }
    if decode is not None:
        stats["anchor_decode"] = {"mean": decode, "std": 0.1, "ci_low": -0.1, "ci_high": 0.9}
    return stats


def fake_experiments(monkeypatch, module, found: dict[str, tuple[str, dict | None]]):
    monkeypatch.setattr(
        module,
        "experiment_revs",
        lambda prefix: {n: (state, n) for n, (state, _) in found.items()},
    )
    monkeypatch.setattr(module, "committed_json", lambda rev, path, where: found[rev][1])


def grid_stage_module():
    from conftest import stage_module

    return stage_module("grid")


def test_a_report_has_a_row_per_cell_and_variant_in_the_grid_order(tmp_path, monkeypatch):
    module = grid_stage_module()
    details = {"baseline": summary(1, None), "anchored": summary(3)}
    fake_experiments(
        monkeypatch,
        module,
        {
            "g-latent_dims-8": ("Success", details),
            "g-base": ("Success", {**details, "anchored": summary(2)}),
            "g-x": ("Success", {}),
        },
    )
    raw = project_raw(
        g={"axes": {"train.latent_dims": [8, 2]}, "variants": ["baseline", "anchored"]}
    )
    write_project(tmp_path, raw)
    module.main(
        [
            "g",
            "report",
            "--params",
            str(tmp_path / "params.yaml"),
            "--csv",
            str(tmp_path / "g.csv"),
            "--figure",
            str(tmp_path / "g.png"),
        ]
    )
    table = pd.read_csv(tmp_path / "g.csv")
    assert list(zip(table["experiment"], table["variant"], strict=True)) == [
        ("g-latent_dims-8", "baseline"),
        ("g-latent_dims-8", "anchored"),
        ("g-base", "baseline"),
        ("g-base", "anchored"),
    ]
    assert table["train.latent_dims"].tolist() == [8, 8, 2, 2]
    assert table["placed_rate"].tolist() == [0.25, 0.75, 0.25, 0.5]
    metrics = [BY_KEY[m] for m in ("placed", "anchor_decode", "axis")]
    text = metric_markdown(table, ["train.latent_dims"], metrics)
    assert text.splitlines()[0] == (
        "| train.latent_dims | variant | placed (95 % CI) | anchor "
        "samples read as their digit: mean (95 % CI) | 0→1 axis: "
        "stability, Rayleigh p |"
    )
    # the baseline's numbers are the same in both cells: one row; the t-interval cut to 0..1
    assert "| every | `baseline` | 1/4 (0.10–0.90) | – | 0.50, p = 0.30 |" in text
    assert "| 8 | `anchored` | 3/4 (0.10–0.90) | 0.80 (0.00–0.90) | 0.50, p = 0.30 |" in text
    assert (tmp_path / "g.png").stat().st_size > 10_000


def test_a_grid_with_a_failed_cell_keeps_the_last_report(tmp_path, monkeypatch):
    module = grid_stage_module()
    fake_experiments(
        monkeypatch,
        module,
        {
            "g-base": ("Success", {"anchored": summary(2)}),  # ran, no baseline summary
            "g-latent_dims-8": ("Failed", None),
        },
    )
    raw = project_raw(
        g={"axes": {"train.latent_dims": [2, 8, 16]}, "variants": ["baseline", "anchored"]}
    )
    (tmp_path / "g.csv").write_text("the last report\n")
    with pytest.raises(
        StageFailure,
        match=r"3 of 3 experiments did not succeed: g-base \(Failed\), g-latent_dims-8 "
        r"\(Failed\), g-latent_dims-16 \(not run\); the last report is kept",
    ):
        write_project(tmp_path, raw)
        module.main(["g", "report", "--params", str(tmp_path / "params.yaml"), "--csv",
                     str(tmp_path / "g.csv"), "--figure", str(tmp_path / "g.png")])  # fmt: skip
    assert (tmp_path / "g.csv").read_text() == "the last report\n"
    assert not (tmp_path / "g.png").exists()


def test_a_report_is_its_pair_a_full_disk_replaces_neither(tmp_path, monkeypatch):
    """The figure cannot be written (a full disk): the last CSV and PNG both stay."""
    import matplotlib.figure

    module = grid_stage_module()
    details = {"baseline": summary(1), "anchored": summary(2)}
    fake_experiments(monkeypatch, module, {"g-base": ("Success", details)})
    raw = project_raw(g={"axes": {}, "variants": ["baseline", "anchored"]})
    write_project(tmp_path, raw)
    (tmp_path / "g.csv").write_text("the last report\n")
    (tmp_path / "g.png").write_bytes(b"the last figure")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full_disk)
    with pytest.raises(OSError):
        module.main(["g", "report", "--params", str(tmp_path / "params.yaml"), "--csv",
                     str(tmp_path / "g.csv"), "--figure", str(tmp_path / "g.png")])  # fmt: skip
    assert (tmp_path / "g.csv").read_text() == "the last report\n"
    assert (tmp_path / "g.png").read_bytes() == b"the last figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "g.csv",
        "g.png",
        "grids.yaml",
        "params.yaml",
    ]


def test_a_figure_draws_each_metric_per_cell_with_its_kind_s_spread_and_names_failures():
    rows = []
    for name, state, share in (("g-base", "Success", 0.9), ("g-epochs-50", "Failed", None)):
        for variant in ("baseline", "anchored"):
            row = {"experiment": name, "state": state, "label": name[2:], "variant": variant}
            if share is not None:
                row.update(
                    {
                        "zeros_in_corner.median": share,
                        "zeros_in_corner.min": 0.5,
                        "zeros_in_corner.max": 1.0,
                        "n_seeds": 4,
                    }
                )
            rows.append(row)
    figure = metrics_figure(pd.DataFrame(rows), [BY_KEY["zeros_in_corner"]], "g")
    assert "failed: g-epochs-50" in figure._suptitle.get_text()
    bars = [c for c in figure.axes[0].containers if getattr(c, "has_yerr", False)]
    assert [p[1] for p in bars[0].lines[2][0].get_segments()[0]] == [0.5, 1.0]  # min..max
    assert figure.axes[0].get_ylim() == (0, 1.03)


def tables(variants=("baseline", "anchored", "label_reference"), n=5):
    """Per-model metrics and centroids: the anchored variants repeat one arrangement."""
    models, centroids = [], []
    for variant in variants:
        for seed in range(n):
            placed = variant != "baseline" or seed == 0
            models.append(
                {
                    "model": f"{variant}/seed{seed}",
                    "variant": variant,
                    "seed": seed,
                    "zeros_in_corner": 0.9,
                    "ones_in_corner": 0.8 + seed / 100,
                    "placed": placed,
                    "test_recon": 30.0 + seed,
                    "test_kl": 5.0,
                    "recon_accuracy": 0.8,
                    "grid_zero_purity": 0.3,
                    "grid_one_purity": 0.1,
                }
            )
            for digit in range(10):
                angle = digit + (seed * 1.7 if variant == "baseline" else 0.0)
                centroids.append(
                    {
                        "variant": variant,
                        "seed": seed,
                        "digit": digit,
                        "z1": math.cos(angle),
                        "z2": math.sin(angle),
                    }
                )
    return pd.DataFrame(models), pd.DataFrame(centroids)


def report_from_tables(tmp_path, models, centroids, name="study"):
    models.to_csv(tmp_path / "models.csv", index=False)
    centroids.to_csv(tmp_path / "centroids.csv", index=False)
    csv, png = tmp_path / "out" / "study.csv", tmp_path / "out" / "study.png"
    run_grid_stage(
        tmp_path,
        project_raw(),
        name,
        "report",
        "--tables",
        str(tmp_path),
        "--csv",
        str(csv),
        "--figure",
        str(png),
    )
    return pd.read_csv(csv), png


def test_a_one_cell_grid_reports_from_copied_tables_with_interval_and_arrangement(tmp_path):
    table, png = report_from_tables(tmp_path, *tables())
    table = table.set_index("variant")
    assert list(table.index) == ["baseline", "anchored", "label_reference"]
    assert table.loc["baseline", "placed_count"] == 1
    assert table.loc["anchored", "placed_ci_high"] == 1.0
    assert table.loc["anchored", "arrangement_stability"] == pytest.approx(1.0)
    assert table.loc["baseline", "arrangement_stability"] < 0.6
    assert table.loc["anchored", "ones_in_corner.median"] == pytest.approx(0.82)
    assert png.stat().st_size > 10_000
    text = details_markdown(table.reset_index(), [])
    assert "`anchored` − reference" in text and "| placed rate | 1.00 | +0.00 |" in text
    with pytest.raises(UsageError, match="only a grid of one cell reads copied tables"):
        report_from_tables(tmp_path, *tables(), name="sweep")


def test_a_missing_table_is_named(tmp_path):
    with pytest.raises(UsageError, match="models.csv is missing"):
        run_grid_stage(tmp_path, project_raw(), "study", "report", "--tables", str(tmp_path))


@pytest.mark.parametrize("dims", [1, 3])
def test_markdown_and_figure_with_a_latent_size_other_than_two(dims):
    from anchorvae.artifacts.summaries import by_variant
    from anchorvae.evaluation.summary import summarize
    from anchorvae.reports.markdown import flat_summary

    models, centroids = tables()
    centroids = centroids.drop(columns=["z2"]) if dims == 1 else centroids.assign(z3=0.5)
    table = flat_summary(summarize(by_variant(models, centroids)))
    text = details_markdown(table.assign(experiment="x"), [])
    assert "| `anchored` | 1.00 (" in text and "| – |" in text  # no sides off the plane
    panels = {v: centroids[centroids["variant"] == v] for v in ("baseline", "anchored")}
    fig = centroid_figure(panels, "t")
    assert [ax.get_title() for ax in fig.axes] == ["baseline (5 seeds)", "anchored (5 seeds)"]


@pytest.mark.parametrize(
    "models_text, centroids_text, message",
    [
        ("", None, "models.csv: not a CSV table"),
        ("model,variant,seed,placed\n", None, "models.csv has no rows"),
        (None, "truncated", "centroids.csv has empty cells"),
        ("drop_one", None, r"list different models \(14 and 15\)"),
        ("x,y\n1,2\n", None, "models.csv has no column model"),
        ("text", None, "models.csv column seed holds 'x', expected numbers"),
        (None, "text", "centroids.csv column seed holds 'x', expected numbers"),
    ],
)
def test_report_refuses_tables_it_cannot_summarize(tmp_path, models_text, centroids_text, message):
    """Nothing is written from an empty, header-only, truncated or mismatched copy."""
    models, centroids = tables()
    models_csv, centroids_csv = models.to_csv(index=False), centroids.to_csv(index=False)
    if models_text == "drop_one":
        models_csv = models.iloc[1:].to_csv(index=False)
    elif models_text == "text":  # every cell text, the header kept
        models_csv = models.map(lambda _: "x").to_csv(index=False)
    elif models_text is not None:
        models_csv = models_text
    if centroids_text == "truncated":
        centroids_csv = centroids_csv[: len(centroids_csv) * 2 // 3]  # cut mid-row
    elif centroids_text == "text":
        centroids_csv = centroids.map(lambda _: "x").to_csv(index=False)
    (tmp_path / "models.csv").write_text(models_csv)
    (tmp_path / "centroids.csv").write_text(centroids_csv)
    out = tmp_path / "out"
    with pytest.raises(BadInputFile, match=message):
        run_grid_stage(
            tmp_path,
            project_raw(),
            "study",
            "report",
            "--tables",
            str(tmp_path),
            "--csv",
            str(out / "s.csv"),
            "--figure",
            str(out / "s.png"),
        )
    assert not out.exists()


def queue_with(monkeypatch, statuses, experiments=()):
    """anchorvae.experiments.queue with `dvc` replaced by a script of queue statuses, and
    `dvc exp show` by ``experiments`` ((name, state) rows of the workspace's commit)."""
    import anchorvae.experiments.queue as module

    calls = []

    def fake_dvc(*args):
        calls.append(args)
        return statuses.pop(0) if args[:2] == ("queue", "status") else ""

    rows = [{"Experiment": name, "State": state, "typ": "branch_commit"}
            for name, state in experiments]  # fmt: skip
    monkeypatch.setattr(module, "run_dvc", fake_dvc)
    monkeypatch.setattr(module, "exp_show", lambda: rows)
    monkeypatch.setenv("ANCHORVAE_POLL_S", "0")
    return module, calls


DEAD = "a  g-base  Queued\nWorker status: 0 active, 0 idle"
BUSY = "a  g-base  Running\nWorker status: 1 active, 0 idle"
DONE = "a  g-base  Success\nWorker status: 0 active, 0 idle"


def test_wait_restarts_a_dead_worker_then_returns(monkeypatch):
    module, calls = queue_with(monkeypatch, [BUSY, DEAD, BUSY, DONE])
    module.wait_for_queue(jobs=2, prefix="g-")
    assert ("queue", "start", "--jobs", "2") in calls
    assert sum(c[:2] == ("queue", "start") for c in calls) == 1


def test_wait_gives_up_when_workers_keep_dying(monkeypatch):
    module, _ = queue_with(monkeypatch, [DEAD] * 10)
    with pytest.raises(StageFailure, match="queued but no queue worker runs them"):
        module.wait_for_queue(jobs=1, prefix="g-")


def test_stopping_removes_only_our_tasks_and_leaves_none_failed(monkeypatch):
    """Ctrl-C: ours queued are removed, ours running killed, the workers stopped, and the
    task the kill left Failed removed too, each by its task id (an earlier run's finished
    task bears the same name); another experiment's task stays."""
    header = "Task  Name  Created  Status\n"
    before = (
        header + "a1  g-a  10:00  Running\nb2  g-b  10:00  Queued\n"
        "c3  mine  09:00  Failed\nd4  g-b  09:00  Success\n"
        "Worker status: 1 active, 0 idle"
    )
    after = header + "a1  g-a  10:00  Failed\nc3  mine  09:00  Failed\n"
    module, calls = queue_with(monkeypatch, [before, after, after, after])
    module.stop_queue("g-")
    assert [c for c in calls if c[:2] != ("queue", "status")] == [
        ("queue", "remove", "b2"),
        ("queue", "kill", "a1"),
        ("queue", "stop", "--kill"),
        ("queue", "remove", "a1"),
    ]


def test_stopping_reads_the_queue_again_when_a_status_read_fails(monkeypatch):
    """A `dvc queue status` that fails (Ctrl-C reached it as well) is tried again: the
    stop must see which tasks are ours, or it would leave them queued or running."""
    header = "Task  Name  Created  Status\n"
    before = header + "a1  g-a  10:00  Running\nb2  g-b  10:00  Queued\n"
    after = header + "a1  g-a  10:00  Failed\n"
    module, calls = queue_with(monkeypatch, [before, after, after, after])
    run_dvc = module.run_dvc
    failures = [StageFailure("dvc queue status: ['interrupted']")]

    def failing_once(*args):
        if args[:2] == ("queue", "status") and failures:
            raise failures.pop()
        return run_dvc(*args)

    monkeypatch.setattr(module, "run_dvc", failing_once)
    monkeypatch.setattr(module.time, "sleep", lambda s: None)
    module.stop_queue("g-")
    assert ("queue", "remove", "b2") in calls and ("queue", "kill", "a1") in calls


ORPHAN = "a  g-base  10:00  Running\nWorker status: 0 active, 0 idle"


def test_wait_ends_a_cell_whose_worker_was_killed(monkeypatch, tmp_path):
    """kill -9 of DVC's queue worker leaves its task Running for ever: `make grid` does not
    wait on it; the cell is ended and removed, its workspace removed at once (no worker
    will finish it), and the failure says how to rerun."""
    failed = "a  g-base  10:00  Failed\nWorker status: 0 active, 0 idle"
    module, calls = queue_with(monkeypatch, [ORPHAN] * 3 + [ORPHAN, failed, failed, failed])
    workspace = tmp_path / ".dvc" / "tmp" / "exps" / "tmpab12"
    workspace.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StageFailure, match=r"worker running g-base is gone \(killed\?\).*"
                       "make grid NAME=g` reruns"):  # fmt: skip
        module.wait_for_queue(jobs=1, prefix="g-")
    assert ("queue", "kill", "a") in calls and ("queue", "remove", "a") in calls
    assert not workspace.exists()


def test_a_rerun_clears_what_a_killed_run_left_and_keeps_its_planned_experiments(
    monkeypatch, tmp_path
):
    """Queued again: the grid's leftover tasks (one Running with no worker, one Failed)
    are ended and removed, a dead worker's workspace too; an experiment no longer planned
    is removed, a planned one is kept (as last-<name>) until its rerun has ended."""
    module, calls = queue_with(monkeypatch, [
        "t1  g-a  10:00  Running\nt2  g-b  09:00  Failed\nu3  mine  09:00  Failed\n"
        "Worker status: 0 active, 0 idle",
        "t1  g-a  10:00  Failed\nt2  g-b  09:00  Failed\nWorker status: 0 active, 0 idle",
        "t1  g-a  10:00  Failed\nt2  g-b  09:00  Failed\nWorker status: 0 active, 0 idle",
        "Worker status: 0 active, 0 idle",
    ])  # fmt: skip
    monkeypatch.setattr(module, "check_planned", lambda planned, path: None)
    monkeypatch.setattr(module, "experiments_named", lambda prefix: ["g-a", "g-old", "g-a"])
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dvc" / "tmp" / "exps" / "tmpabc").mkdir(parents=True)
    module.queue_experiments("g-", [("g-a", ["train.epochs=2"])], 1, "params.yaml")
    assert [c for c in calls if c[:2] != ("queue", "status")] == [
        ("queue", "kill", "t1"),
        ("queue", "remove", "t1", "t2"),
        ("exp", "remove", "g-old"),
        ("exp", "rename", "g-a", "last-g-a"),
        ("exp", "run", "--queue", "--name", "g-a", "-S", "train.epochs=2"),
        ("queue", "start", "--jobs", "1"),
    ]
    assert not (tmp_path / ".dvc" / "tmp" / "exps" / "tmpabc").exists()


@pytest.mark.parametrize(
    ("state", "expected"),
    [("Success", [("exp", "remove", "last-g-a")]),
     ("Failed", [("exp", "rename", "last-g-a", "g-a")]),
     (None, [("exp", "rename", "last-g-a", "g-a")])],
)  # fmt: skip
def test_a_cells_last_good_experiment_goes_only_when_its_rerun_succeeded(
    monkeypatch, state, expected
):
    """After the wait (ended, failed, stopped or killed): the kept last-<cell> is dropped
    where the cell's new experiment succeeded, renamed back where it did not."""
    rows = [("last-g-a", "Success"), ("other", "Success")] + ([("g-a", state)] if state else [])
    module, calls = queue_with(monkeypatch, [DONE], experiments=rows)
    module.wait_for_queue(jobs=1, prefix="g-")
    assert [c for c in calls if c[0] == "exp"] == expected


def test_the_committed_reports_give_the_documents_blocks():
    """Every grid of params.yaml that a document shows has its report, in the engine's
    layout (a row per cell and variant, in the grid's order)."""
    raw = project_raw()
    params, grids = parse_project(raw)
    for name in grids:
        table = pd.read_csv(Path(ROOT) / "reports" / f"{name}.csv")
        planned = [c.name for c in cells(name, grids[name], raw)]
        assert list(dict.fromkeys(table["experiment"])) == planned, name
        assert set(table["variant"]) == set(grids[name].variants), name
        assert (table["state"] == "Success").all()


def test_a_grid_s_experiments_are_those_of_the_newest_commit_that_has_any():
    """A commit made while the grid ran moves HEAD off their baseline: they are still
    found, and an older run's cells of the same names never mix in."""
    from anchorvae.experiments.readback import experiment_revs

    rows = [
        {"rev": "workspace", "typ": "baseline"},
        {"rev": "main", "typ": "baseline"},  # committed while the grid ran: none here
        {"rev": "b2", "typ": "baseline"},
        {"Experiment": "g-base", "rev": "e1", "typ": "branch_commit"},
        {"Experiment": "other-base", "rev": "e2", "typ": "branch_commit"},
        {"rev": "b1", "typ": "baseline"},
        {"Experiment": "g-base", "rev": "old", "typ": "branch_commit"},
        {"Experiment": "g-epochs-50", "rev": "old2", "typ": "branch_commit", "State": "Failed"},
    ]
    assert experiment_revs("g-", rows) == {"g-base": ("Success", "e1")}
    assert experiment_revs("h-", rows) == {}


def test_a_semantics_grid_draws_the_decode_against_distance_and_each_design_s_pictures(
    tmp_path, monkeypatch
):
    """`figure: semantics` reads each variant's pictures at its anchor points (seed 0) from
    DVC's cache, the baseline's none (it decodes the control's points); a damaged file is
    one line naming the experiment and the file."""
    import io

    import numpy as np

    module = grid_stage_module()
    with_decode = {**summary(3), "anchor_distance": {"mean": 2.5, "std": 0.0, "ci_low": 2.5,
                                                     "ci_high": 2.5}}  # fmt: skip
    details = {"baseline": summary(1), "anchored": with_decode, "label_reference": with_decode}
    fake_experiments(monkeypatch, module, {"g-base": ("Success", details),
                                           "g-scale-standard": ("Success", details)})  # fmt: skip
    read = []
    buffer = io.BytesIO()
    np.save(buffer, np.full((2, 28, 28), 200, np.uint8))

    def cached_bytes(rev, path):
        read.append((rev, path))
        return buffer.getvalue()

    monkeypatch.setattr(module, "cached_bytes", cached_bytes)
    raw = project_raw(g={"axes": {"variants.anchored.scale": ["raw", "standard"]},
                         "variants": ["baseline", "anchored", "label_reference"],
                         "figure": "semantics", "combine": "product"})  # fmt: skip
    write_project(tmp_path, raw)
    args = ["g", "report", "--params", str(tmp_path / "params.yaml"), "--csv",
            str(tmp_path / "g.csv"), "--figure", str(tmp_path / "g.png")]  # fmt: skip
    module.main(args)
    assert (tmp_path / "g.png").stat().st_size > 10_000
    assert sorted(read) == sorted((rev, f"data/eval/{v}/seed0/anchors.npy") for rev in
                                  ("g-base", "g-scale-standard")
                                  for v in ("anchored", "label_reference"))  # fmt: skip
    buffer.seek(0)
    buffer.truncate()
    buffer.write(b"not an array")
    with pytest.raises(BadInputFile, match="experiment g-base: data/eval/anchored/seed0/"
                       "anchors.npy is not a .npy array"):  # fmt: skip
        module.main(args)


def test_two_axes_ending_the_same_get_distinct_cell_names():
    raw = project_raw(g={"axes": {"train.epochs": [10, 20], "classifier.epochs": [2, 3]}})
    names = [n for n, _ in planned(raw, "g")]
    assert names == ["g-base", "g-train_epochs-20", "g-classifier_epochs-3"]


def test_a_grid_without_anchored_is_refused_naming_the_grid_key():
    raw = project_raw(g={"variants": ["baseline", "label_reference"]})
    with pytest.raises(ParamsError, match=r"^grids.g.variants = \['baseline', 'label_reference'\] "
                       "is invalid: .* anchored and baseline among them"):  # fmt: skip
        planned(raw, "g")


def test_waiting_says_each_cell_as_it_finishes_and_counts_only_ours(monkeypatch, caplog):
    """A line per finished cell (what a log that is not a terminal gets), counted among the
    grid's cells only; an earlier run's finished task of the same name does not count."""
    import logging

    statuses = [
        "old  g-base  05:00 AM  Success\na  g-base  06:30 AM  Queued\n"
        "b  g-x  06:30 AM  Queued\nc  other-base  06:30 AM  Running\nWorker status: 1 active",
        "old  g-base  05:00 AM  Success\na  g-base  06:30 AM  Running\n"
        "b  g-x  06:30 AM  Queued\nWorker status: 1 active, 0 idle",
        "old  g-base  05:00 AM  Success\na  g-base  06:30 AM  Success\n"
        "b  g-x  06:30 AM  Running\nWorker status: 1 active, 0 idle",
        "a  g-base  06:30 AM  Success\nb  g-x  06:30 AM  Failed\nWorker status: 0 active",
    ]
    module, _ = queue_with(monkeypatch, statuses)
    caplog.set_level(logging.INFO)
    module.wait_for_queue(jobs=1, prefix="g-")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("anchorvae.experiments")]
    assert lines[1:] == ["g-base: Success (1 of 2 cells done)", "g-x: Failed (2 of 2 cells done)"]


def test_progress_counts_this_grid_s_cells_not_an_earlier_run_s_others(monkeypatch, caplog):
    """A 1-cell rerun of a grid whose earlier version had more cells (finished tasks of
    g-old still listed): "1 of 1", not "2 of 2"."""
    import logging

    old = "old  g-old  05:00 AM  Success\n"
    statuses = [old + "a  g-base  06:30 AM  Running\nWorker status: 1 active",
                old + "a  g-base  06:30 AM  Success\nWorker status: 0 active"]  # fmt: skip
    module, _ = queue_with(monkeypatch, statuses)
    caplog.set_level(logging.INFO)
    module.wait_for_queue(jobs=1, prefix="g-", names=["g-base"])
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("anchorvae.experiments")]
    assert lines[1:] == ["g-base: Success (1 of 1 cells done)"]


def test_the_watchdog_stops_the_grid_s_work_only_if_the_grid_died_waiting(monkeypatch, tmp_path):
    """The grid process is gone (here: a finished child): with its watch file left, as a
    kill -9 leaves it, the grid's tasks and workers are stopped; without it, nothing."""
    import subprocess
    import sys

    import anchorvae.experiments.queue as queue
    from anchorvae.experiments import watch

    stopped = []
    monkeypatch.setattr(queue, "stop_queue", stopped.append)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    watch_file = tmp_path / "watch"
    assert watch.main([str(gone.pid), "g-", str(watch_file)]) == 0 and stopped == []
    watch_file.write_text("g-")
    assert watch.main([str(gone.pid), "g-", str(watch_file)]) == 0
    assert stopped == ["g-"] and not watch_file.exists()


FAKE_DVC = """#!/bin/sh
# A stand-in for dvc: logs its arguments; the queue lists one running task of g-.
echo "$@" >> "$DVC_CALLS"
if [ "$1 $2" = "queue status" ]; then
  if grep -q "queue kill" "$DVC_CALLS"; then echo "a  g-base  10:00  Failed"
  else echo "a  g-base  10:00  Running"; fi
  echo "Worker status: 0 active, 0 idle"
fi
"""


def test_kill_9_of_a_waiting_grid_s_process_group_runs_its_watchdog(tmp_path):
    """The whole group of a process inside `watched` killed with SIGKILL (as `kill -9` of
    make's group): the watchdog, in a session of its own, survives it and stops the grid's
    task and DVC's workers (a stand-in `dvc` records what it was asked)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "dvc").write_text(FAKE_DVC)
    (tmp_path / "bin" / "dvc").chmod(0o755)
    calls = tmp_path / "calls"
    calls.touch()
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
           "DVC_CALLS": str(calls)}  # fmt: skip
    waiting = (
        "import time\nfrom anchorvae.experiments.watch import watched\n"
        "with watched('g-'):\n    print('waiting', flush=True)\n    time.sleep(600)\n"
    )
    grid = subprocess.Popen([sys.executable, "-c", waiting], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    assert grid.stdout.readline() == "waiting\n"
    os.killpg(grid.pid, signal.SIGKILL)
    grid.wait(timeout=10)
    deadline = time.monotonic() + 60
    while "queue stop --kill" not in calls.read_text() or list(
        (tmp_path / ".dvc" / "tmp").glob("anchorvae-grid-watch-*")
    ):  # fmt: skip
        assert time.monotonic() < deadline, calls.read_text()
        time.sleep(0.2)
    asked = calls.read_text().splitlines()
    assert "queue kill a" in asked and "queue stop --kill" in asked and "queue remove a" in asked
