"""The study's table, markdown and figure, from hand-made per-model tables."""

import math

import pandas as pd
import pytest
import yaml
from test_stages import ROOT, stage

from anchorvae.study import centroid_figure, study_markdown, study_table


def tables(variants=("baseline", "anchored", "label_reference"), n=5):
    """Per-model metrics and centroids: the anchored variants repeat one arrangement."""
    models, centroids = [], []
    for variant in variants:
        for seed in range(n):
            placed = variant != "baseline" or seed == 0
            models.append({"model": f"{variant}/seed{seed}", "variant": variant, "seed": seed,
                           "zeros_in_corner": 0.9, "ones_in_corner": 0.8 + seed / 100,
                           "placed": placed, "test_recon": 30.0 + seed, "test_kl": 5.0,
                           "recon_accuracy": 0.8, "grid_zero_purity": 0.3,
                           "grid_one_purity": 0.1})  # fmt: skip
            for digit in range(10):
                angle = digit + (seed * 1.7 if variant == "baseline" else 0.0)
                centroids.append({"variant": variant, "seed": seed, "digit": digit,
                                  "z1": math.cos(angle), "z2": math.sin(angle)})  # fmt: skip
    return pd.DataFrame(models), pd.DataFrame(centroids)


def test_study_table_has_a_row_per_variant_with_interval_and_arrangement():
    table = study_table(*tables()).set_index("variant")
    assert list(table.index) == ["baseline", "anchored", "label_reference"]
    assert table.loc["baseline", "placed_count"] == 1
    assert table.loc["anchored", "placed_ci_high"] == 1.0
    assert table.loc["anchored", "arrangement_stability"] == pytest.approx(1.0)
    assert table.loc["baseline", "arrangement_stability"] < 0.6
    assert table.loc["anchored", "ones_in_corner.median"] == pytest.approx(0.82)


def test_study_markdown_names_every_variant_and_the_gap_to_the_reference():
    text = study_markdown(study_table(*tables()))
    assert "| `baseline` | 1/5 (0.01–0.72)" in text
    assert "`anchored` − reference" in text
    assert "| placed rate | 1.00 | +0.00 |" in text


def test_centroid_figure_draws_a_panel_per_variant():
    fig = centroid_figure(tables()[1])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["baseline (5 seeds)", "anchored (5 seeds)", "label_reference (5 seeds)"]


def test_report_from_copied_tables(tmp_path):
    models, centroids = tables()
    models.to_csv(tmp_path / "models.csv", index=False)
    centroids.to_csv(tmp_path / "centroids.csv", index=False)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    csv, png = tmp_path / "out" / "study.csv", tmp_path / "out" / "study.png"
    stage("study")(["report", "--tables", str(tmp_path), "--csv", str(csv), "--figure",
                    str(png), "--params", str(tmp_path / "params.yaml")])  # fmt: skip
    assert pd.read_csv(csv)["variant"].tolist() == ["baseline", "anchored", "label_reference"]
    assert png.stat().st_size > 10_000


def test_report_names_a_missing_table(tmp_path):
    from anchorvae.errors import UsageError

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(yaml.safe_load(
        (ROOT / "params.yaml").read_text())))  # fmt: skip
    with pytest.raises(UsageError, match="models.csv is missing"):
        stage("study")(["report", "--tables", str(tmp_path), "--params",
                        str(tmp_path / "params.yaml")])  # fmt: skip
