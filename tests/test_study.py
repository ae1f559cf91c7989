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


@pytest.mark.parametrize("dims", [1, 3])
def test_report_and_markdown_with_a_latent_size_other_than_two(dims):
    models, centroids = tables()
    centroids = centroids.drop(columns=["z2"]) if dims == 1 else centroids.assign(z3=0.5)
    table = study_table(models, centroids)
    text = study_markdown(table)
    assert "| `anchored` | 1.00 (" in text and "| – |" in text  # no sides off the plane
    fig = centroid_figure(centroids)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 3


def truncated(text: str) -> str:
    return text[: len(text) * 2 // 3]  # cut mid-row


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
def test_report_refuses_tables_it_cannot_summarize(tmp_path, models_text, centroids_text,
                                                   message):  # fmt: skip
    """Nothing is written from an empty, header-only, truncated or mismatched copy."""
    from anchorvae.errors import BadInputFile

    models, centroids = tables()
    models_csv, centroids_csv = models.to_csv(index=False), centroids.to_csv(index=False)
    if models_text == "drop_one":
        models_csv = models.iloc[1:].to_csv(index=False)
    elif models_text is not None:
        models_csv = models_text
    if models_text == "text":  # every cell text, the header kept
        models_csv = models.map(lambda _: "x").to_csv(index=False)
    if centroids_text == "truncated":
        centroids_csv = truncated(centroids_csv)
    elif centroids_text == "text":
        centroids_csv = centroids.map(lambda _: "x").to_csv(index=False)
    (tmp_path / "models.csv").write_text(models_csv)
    (tmp_path / "centroids.csv").write_text(centroids_csv)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    out = tmp_path / "out"
    with pytest.raises(BadInputFile, match=message):
        stage("study")(["report", "--tables", str(tmp_path), "--csv", str(out / "s.csv"),
                        "--figure", str(out / "s.png"), "--params",
                        str(tmp_path / "params.yaml")])  # fmt: skip
    assert not out.exists()
