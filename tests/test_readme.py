"""The documents' generated blocks come from the metrics files and dvc.yaml: they must agree."""

from pathlib import Path

import pytest

from anchorvae.errors import UsageError
from anchorvae.readme import blocks, names_in, read_block, replace_block, rewrite

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    files = ROOT / "metrics" / "details.json", ROOT / "reports" / "study.csv"
    reports = ROOT / "reports"
    return blocks(*files, reports / "sweep.csv", reports / "generality.csv", repo=ROOT)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_generated_blocks_match_the_metrics_files(document, generated):
    text = document.read_text()
    for name in names_in(text):
        assert read_block(text, name) == generated[name], (
            f"{document.name}: block {name} is stale: run `make readme`"
        )


def test_every_block_is_shown_somewhere_and_the_pipeline_is_dvc_s_own(generated):
    shown = {name for document in DOCUMENTS for name in names_in(document.read_text())}
    assert shown == set(generated)
    assert generated["pipeline"].startswith("```mermaid\nflowchart TD")
    assert '["train"]' in generated["pipeline"]  # matrix stages drawn as one node


def test_replace_block_keeps_the_text_around_it():
    text = "a\n<!-- generated: x -->\nold\n<!-- end: x -->\nb\n"
    new = replace_block(text, "x", "| new |")
    assert new == "a\n<!-- generated: x -->\n| new |\n<!-- end: x -->\nb\n"
    assert read_block(new, "x") == "| new |"


def test_an_unknown_block_is_named(tmp_path):
    document = tmp_path / "page.md"
    document.write_text("<!-- generated: nope -->\n<!-- end: nope -->\n")
    with pytest.raises(UsageError, match="block nope is unknown"):
        rewrite(document, {"x": ""})
