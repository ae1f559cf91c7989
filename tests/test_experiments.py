"""The compact experiments table (`make exps`) and the headline metrics per variant."""

from pathlib import Path

import pytest

from anchorvae.evaluation.metrics import headline_paths
from anchorvae.evaluation.summary import headline
from anchorvae.experiments.readback import changed_params, headline_table

ROOT = Path(__file__).resolve().parents[1]


def exp_row(name, rate, placed):
    row = {"Experiment": name, "rev": name or "workspace", "State": "Success",
           "variants.anchored.anchor_rate": rate, "train.epochs": 10,
           "test_accuracy": 0.98 if name else 0.97, "anchorvae/method/loss.py": "abc"}  # fmt: skip
    for variant in ("anchored", "baseline"):
        for key in headline_paths():
            row[f"metrics/variants/{variant}.json:{key}"] = placed if key == "placed" else 0.5
    return row


def test_headline_table_has_a_row_per_experiment_and_variant_in_headline_order():
    table = headline_table([exp_row(None, 2.0, 4.0), exp_row("sweep-rate-4", 4.0, 3.0)])
    assert list(table.columns) == ["experiment", "variant", *headline_paths()]
    assert table[["experiment", "variant"]].values.tolist() == [
        ["workspace", "anchored"], ["workspace", "baseline"],
        ["sweep-rate-4", "anchored"], ["sweep-rate-4", "baseline"],
    ]  # fmt: skip
    assert table["placed"].tolist() == [4, 4, 3, 3]


def test_changed_params_names_only_params_that_differ():
    rows = [exp_row(None, 2.0, 4.0), exp_row("sweep-rate-4", 4.0, 3.0)]
    params = {"variants.anchored.anchor_rate", "train.epochs"}
    assert changed_params(rows, params) == {
        "workspace": ["variants.anchored.anchor_rate=2.0"],
        "sweep-rate-4": ["variants.anchored.anchor_rate=4.0"],
    }


def test_headline_picks_and_rounds_the_summary():
    summary = {"placed_count": 5, "placed_ci_low": 0.47818, "placed_ci_high": 1.0,
               "zeros_in_corner": {"median": 0.91234}, "ones_in_corner": {"median": 0.99},
               "arrangement_stability": 0.55555, "test_recon": {"mean": 30.12345},
               "test_kl": {"mean": 5.0}}  # fmt: skip
    expected = {"placed": 5, "ci_low": 0.478, "ci_high": 1.0, "zeros": 0.912, "ones": 0.99,
                "arrangement": 0.556, "sse": 30.123, "kl": 5.0}  # fmt: skip
    assert headline(summary) == expected


@pytest.mark.parametrize(
    "target, command",
    [("metrics", "python stages/exps.py --workspace"), ("exps", "python stages/exps.py")],
)
def test_the_make_targets_run_the_commands_the_tests_measure(target, command):
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split(f"\n{target}:")[1].split("\n\n")[0]
    assert command in recipe
