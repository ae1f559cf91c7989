"""The generality study: its cells and overrides, its table, figure and README table.
One cell run through `make generality` in a tiny repo is in tests/test_dvc_experiments.py."""

import sys
from pathlib import Path

import pytest
import yaml

from anchorvae.config import ParamsError, parse_params
from anchorvae.generality import (
    Cell,
    cells,
    generality_figure,
    generality_markdown,
    generality_table,
    planned_experiments,
)

ROOT_PARAMS = "params.yaml"


def project_params(**generality):
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / ROOT_PARAMS).read_text())
    raw["generality"].update(generality)
    return parse_params(raw)


def test_one_axis_at_a_time_varies_each_axis_alone_from_the_first_values():
    g = project_params(architecture=["mlp", "conv"], latent_dims=[2, 8], epochs=[10, 50],
                       factorial=False).generality  # fmt: skip
    assert cells(g) == [Cell("mlp", 2, 10), Cell("conv", 2, 10), Cell("mlp", 8, 10),
                        Cell("mlp", 2, 50)]  # fmt: skip
    assert len(cells(g.model_copy(update={"factorial": True}))) == 8


def test_each_cell_sets_its_settings_seeds_and_diagonal_directions_and_drops_the_rest():
    params = project_params(architecture=["conv"], latent_dims=[4], epochs=[3],
                            seeds_per_cell=3, variants=["baseline", "anchored"])  # fmt: skip
    [(name, flags)] = planned_experiments(params)
    assert name == "gen-conv-4d-3ep"
    assert flags == [
        "train.architecture=conv",
        "train.latent_dims=4",
        "train.epochs=3",
        "seeds=[0,1,2]",
        "variants.anchored.anchors.donutness=[1,1,1,1]",
        "~variants.label_reference",
        "~variants.two_axis",
    ]


def test_a_direction_off_the_diagonal_cannot_be_carried_to_other_sizes():
    params = project_params(variants=["baseline", "two_axis"])
    with pytest.raises(ParamsError, match=r"variants.two_axis.anchors.sevenness = \[1.0, -1.0\] "
                       r"is invalid for `make generality`"):  # fmt: skip
        planned_experiments(params)


def exp_row(name, arch, dims, placed):
    row = {"Experiment": name, "rev": "abc", "State": "Success", "train.architecture": arch,
           "train.latent_dims": dims, "train.epochs": 10}  # fmt: skip
    for variant in ("baseline", "anchored"):
        row.update({f"{variant}.n_seeds": 4, f"{variant}.placed_count": placed,
                    f"{variant}.placed_rate": placed / 4, f"{variant}.placed_ci_low": 0.1,
                    f"{variant}.placed_ci_high": 0.9, f"{variant}.aligned_count": 4,
                    f"{variant}.aligned_rate": 1.0, f"{variant}.aligned_ci_low": 0.4,
                    f"{variant}.aligned_ci_high": 1.0, f"{variant}.axis_stability": 0.5,
                    f"{variant}.test_recon.mean": 40.0})  # fmt: skip
    row["anchored.anchor_decode.mean"] = 0.8
    row["anchored.anchor_decode.ci_low"] = 0.7
    row["anchored.anchor_decode.ci_high"] = 0.9
    return row


def test_table_has_a_row_per_cell_and_variant_in_the_planned_order():
    rows = [exp_row("gen-mlp-2d-10ep", "mlp", 2, 3), exp_row("gen-mlp-8d-10ep", "mlp", 8, 1),
            {"Experiment": "other", "rev": "x"}]  # fmt: skip
    planned = ["gen-mlp-8d-10ep", "gen-mlp-2d-10ep"]  # not the names' alphabetical order
    table = generality_table(rows, ["baseline", "anchored"], planned)
    assert list(zip(table["experiment"], table["variant"], strict=True)) == [
        ("gen-mlp-8d-10ep", "baseline"), ("gen-mlp-8d-10ep", "anchored"),
        ("gen-mlp-2d-10ep", "baseline"), ("gen-mlp-2d-10ep", "anchored"),
    ]  # fmt: skip
    assert table["placed_rate"].tolist() == [0.25, 0.25, 0.75, 0.75]
    markdown = generality_markdown(table)
    assert (
        "| mlp, 8-D, 10 ep | `anchored` | 1/4 (0.10–0.90) | 4/4 (0.40–1.00) | 0.80 (0.70–0.90)"
        in markdown
    )
    assert "| mlp, 2-D, 10 ep | `baseline` | 3/4 (0.10–0.90) | 4/4 (0.40–1.00) | – |" in markdown
    figure = generality_figure(table)
    assert len(figure.axes) == 3
    assert [t.get_text() for t in figure.axes[-1].get_xticklabels()] == [
        "mlp, 8-D, 10 ep", "mlp, 2-D, 10 ep"]  # fmt: skip


def test_a_grid_whose_cells_cannot_run_is_refused_before_anything_is_queued(tmp_path):
    """`generality.variants: [baseline]` passes the params check, but every cell would
    then drop `anchored`, which every run needs: one line, exit 2, nothing queued."""
    import subprocess

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / ROOT_PARAMS).read_text())
    raw["generality"]["variants"] = ["baseline"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    stage = Path(__file__).resolve().parents[1] / "stages" / "generality.py"
    done = subprocess.run([sys.executable, str(stage), "queue"], capture_output=True,
                          text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("anchorvae: error: experiment gen-mlp-2d-10ep cannot run: variants")
    assert "expected a mapping with at least 'baseline' and 'anchored'" in line


def test_a_cell_planned_twice_is_refused(tmp_path):
    from anchorvae.experiments import check_planned

    (tmp_path / "params.yaml").write_text((Path(__file__).parents[1] / ROOT_PARAMS).read_text())
    twice = [("gen-a", ["train.epochs=2"]), ("gen-b", ["train.epochs=2"])]
    with pytest.raises(ParamsError, match="experiment gen-b is planned twice"):
        check_planned(twice, tmp_path / "params.yaml")
    with pytest.raises(ParamsError, match="experiment gen-a cannot run: -S 'train.nope=1'"):
        check_planned([("gen-a", ["train.nope=1"])], tmp_path / "params.yaml")
    check_planned(planned_experiments(project_params()), tmp_path / "params.yaml")  # all fine


def test_a_grid_with_a_failed_cell_keeps_the_last_report(tmp_path, monkeypatch):
    import importlib.util

    from anchorvae.errors import StageFailure

    path = Path(__file__).resolve().parents[1] / "stages" / "generality.py"
    spec = importlib.util.spec_from_file_location("stage_generality", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = project_params(architecture=["mlp"], latent_dims=[2, 8], epochs=[10],
                            variants=["baseline", "anchored"])  # fmt: skip
    failed = {"Experiment": "gen-mlp-8d-10ep", "rev": "def", "State": "Failed"}
    rows = [exp_row("gen-mlp-2d-10ep", "mlp", 2, 3), failed]
    monkeypatch.setattr(module, "exp_show", lambda: rows)
    monkeypatch.setattr(module, "with_details", lambda rows, prefix: rows)
    (tmp_path / "g.csv").write_text("the last report\n")
    with pytest.raises(StageFailure, match=r"1 of 2 experiments did not succeed: "
                       r"gen-mlp-8d-10ep \(Failed\); the last report is kept"):  # fmt: skip
        module.report(params, tmp_path / "g.csv", tmp_path / "g.png")
    assert (tmp_path / "g.csv").read_text() == "the last report\n"
    assert not (tmp_path / "g.png").exists()
