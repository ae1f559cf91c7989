"""The README's result tables are generated from the metrics files: they must agree."""

from pathlib import Path

import pytest

from anchorvae.readme import blocks, read_block, replace_block

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["default-run", "study", "sweep"])
def test_readme_tables_match_the_metrics_files(name):
    files = ROOT / "metrics" / "details.json", ROOT / "reports" / "study.csv"
    expected = blocks(*files, ROOT / "reports" / "sweep.csv")[name]
    assert read_block((ROOT / "README.md").read_text(), name) == expected, (
        f"README block {name} is stale: run `make readme`"
    )


def test_replace_block_keeps_the_text_around_it():
    text = "a\n<!-- generated: x -->\nold\n<!-- end: x -->\nb\n"
    new = replace_block(text, "x", "| new |")
    assert new == "a\n<!-- generated: x -->\n| new |\n<!-- end: x -->\nb\n"
    assert read_block(new, "x") == "| new |"
